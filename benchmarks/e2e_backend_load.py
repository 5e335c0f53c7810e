"""The backend-only load: orders made straight against the stage's moto servers, no handler.

    python -m benchmarks.e2e_backend_load --calls PATH --table NAME --queue URL [--threads 100] [--seconds 20]

A child of ``benchmarks.e2e`` (its ``backend`` row), speaking lines: it warms a connection on
each thread, prints ``ready``, waits for ``go`` on stdin, runs for ``--seconds`` and prints
one JSON line. Each order is the two calls a warm invocation of the handler makes (the
conditional ``PutItem``, ``SendMessage``), with their recorded parameters and a fresh id.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.percentiles import percentiles

if TYPE_CHECKING:
    from collections.abc import Callable


def _order_calls(args: argparse.Namespace, tally: Counter[str]) -> Callable[[], Callable[[], None]]:
    """A maker of one new order's two calls, with the handler's recorded parameters and a fresh id."""
    calls = json.loads(args.calls.read_text())
    put = {**calls["PutItem"], "TableName": args.table}
    send = {**calls["SendMessage"], "QueueUrl": args.queue}
    recorded_id = put["Item"]["id"]["S"]
    # The function's client settings (standard retries, 3 attempts, keep-alive, no client-side
    # re-validation), with a pool as wide as the threads.
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3,
                    tcp_keepalive=True, max_pool_connections=args.threads, parameter_validation=False)  # fmt: skip
    dynamodb, sqs = boto3.client("dynamodb", config=config), boto3.client("sqs", config=config)

    def order() -> Callable[[], None]:
        order_id = str(uuid.uuid4())
        item = {**put["Item"], "id": {"S": order_id}}
        body = send["MessageBody"].replace(recorded_id, order_id)

        def calls_for_one_order() -> None:
            dynamodb.put_item(**{**put, "Item": item})
            tally["stored"] += 1
            sqs.send_message(**{**send, "MessageBody": body})

        return calls_for_one_order

    return order


def main(argv: list[str] | None = None) -> None:
    """Orders made straight against moto from ``--threads`` threads: warm, ``ready``, ``go``, measure."""
    parser = argparse.ArgumentParser(prog="benchmarks.e2e_backend_load")
    parser.add_argument("--calls", type=Path, required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    tally: Counter[str] = Counter()
    order = _order_calls(args, tally)
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(args.threads + 1, timeout=60)
    go, stop = threading.Event(), threading.Event()

    def run() -> None:
        mine: list[float] = []
        errors = 0
        with contextlib.suppress(BotoCoreError, ClientError):
            order()()  # a warm connection on each side first
        ready.wait()
        go.wait()
        while not stop.is_set():
            one = order()
            started = time.perf_counter()
            try:
                one()
            except (BotoCoreError, ClientError):
                errors += 1
                continue
            if not stop.is_set():
                mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            tally["errors"] += errors

    threads = [threading.Thread(target=run, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    began = time.perf_counter()
    go.set()
    time.sleep(args.seconds)
    stop.set()
    elapsed = time.perf_counter() - began
    for thread in threads:
        thread.join(timeout=30)
    print(json.dumps({
        "threads": args.threads, "seconds": round(elapsed, 2), "orders": len(latencies),
        "orders_per_s": round(len(latencies) / elapsed, 1), "errors": tally["errors"], "stored": tally["stored"],
        **percentiles(latencies),
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
