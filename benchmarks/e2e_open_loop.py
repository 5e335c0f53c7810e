"""The open-loop load: POSTs to the stage on a fixed schedule, whatever the answers before them.

    python -m benchmarks.e2e_open_loop --stage-file PATH [--rate 200] [--seconds 20] [--connections 50]
                                       [--customers 20] [--timeout-s 35]

A child of ``benchmarks.e2e`` (its ``open`` and ``open_half`` rows), speaking lines: it builds
every request and opens its connections, prints ``ready``, waits for ``go`` on stdin, and
prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from benchmarks.percentiles import percentiles
from localstage.local import id_token


def _requests(stage: dict[str, Any], args: argparse.Namespace) -> list[tuple[bytes, dict[str, str]]]:
    """Every request of the run, built before it starts: body and headers (a customer's token each)."""
    cognito = boto3.client("cognito-idp")
    tokens = [
        (customer["customer_id"], id_token(stage, customer, cognito))
        for customer in stage["customers"][: args.customers]
    ]
    orderable = [p for p, spec in stage["catalog"].items() if spec["active"] and spec["currency"] == "USD"]
    dice = random.Random(6)  # noqa: S311 - test data
    total = int(args.rate * args.seconds)
    requests = []
    for i in range(total):
        customer_id, token = tokens[i % len(tokens)]
        products = dice.sample(orderable, k=dice.randint(1, min(3, len(orderable))))
        body = {
            "customer_id": customer_id,
            "items": [{"product_id": p, "quantity": dice.randint(1, 5)} for p in products],
        }
        headers = {"Content-Type": "application/json", "Authorization": token, "Idempotency-Key": str(uuid.uuid4())}
        requests.append((json.dumps(body).encode(), headers))
    return requests


def main(argv: list[str] | None = None) -> None:
    """POSTs on a fixed schedule (``--rate`` a second for ``--seconds``) over keep-alive connections.

    Open loop: request ``i`` is due at ``t0 + i / rate`` whatever happened to the ones before;
    each connection thread takes the next due request, sleeps until it is due and sends it, and
    its latency counts from the time it was due, not from when it was sent, so a stage that
    falls behind shows its queueing instead of slowing the load down (coordinated omission).
    Locust users wait for their own responses (a closed loop), hence this small stdlib
    generator: threads and ``http.client``. It does not import the locustfile's helpers either:
    importing Locust patches ``socket`` and ``threading`` with gevent. The requests are the
    locustfile customers' own: a valid order of 1-3 active USD products, a fresh
    ``Idempotency-Key``, the customer's Cognito ID token (``USER_PASSWORD_AUTH``).
    """
    parser = argparse.ArgumentParser(prog="benchmarks.e2e_open_loop")
    parser.add_argument("--stage-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--timeout-s", type=float, default=35.0)
    args = parser.parse_args(argv)
    stage = json.loads(args.stage_file.read_text())
    requests = _requests(stage, args)
    total = len(requests)
    url = urlsplit(stage["orders_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    outcomes: list[tuple[float, float, float, int] | None] = [None] * total
    next_index = iter(range(total))  # next() on a range iterator is atomic under the GIL
    clock: dict[str, float] = {}
    go = threading.Event()
    connections = [http.client.HTTPConnection(host, port, timeout=args.timeout_s) for _ in range(args.connections)]
    for connection in connections:
        connection.connect()

    def run(connection: http.client.HTTPConnection) -> None:
        go.wait()
        t0, cut_off = clock["t0"], clock["cut_off"]
        for i in next_index:
            due = t0 + i / args.rate
            if due > cut_off:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                connection.request("POST", url.path, body=requests[i][0], headers=requests[i][1])
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()  # http.client reconnects on the next request
                status = 0
            outcomes[i] = (due, sent, time.monotonic(), status)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in connections]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.readline()
    clock["t0"] = time.monotonic() + 0.01
    clock["cut_off"] = clock["t0"] + args.seconds + 30  # a stage far behind: stop sending, count the rest unsent
    go.set()
    for thread in threads:
        thread.join(timeout=args.seconds + 30 + args.timeout_s)
    done = [o for o in outcomes if o is not None]
    statuses = Counter(str(o[3]) for o in done)
    last = max((o[2] for o in done), default=clock["t0"])
    print(json.dumps({
        "rate": args.rate, "seconds": args.seconds, "scheduled": total, "sent": len(done),
        "achieved_rate": round(len(done) / max(last - clock["t0"], 1e-9), 1),
        "created": statuses.get("201", 0), "errors": total - statuses.get("201", 0), "statuses": statuses,
        **percentiles((end - due) * 1000 for due, _, end, _ in done),
        "service_p95_ms": percentiles((end - sent) * 1000 for _, sent, end, _ in done)["p95_ms"],
        "send_lag_p99_ms": percentiles((sent - due) * 1000 for due, sent, _, _ in done)["p99_ms"],
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
