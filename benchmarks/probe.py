"""One measurement in a fresh process (run by ``benchmarks.run``; prints one JSON line).

    python -m benchmarks.probe cold VARIANT
    python -m benchmarks.probe warm VARIANT --invocations N
    python -m benchmarks.probe memory VARIANT --invocations N
    python -m benchmarks.probe record handler     # the SDK calls of a warm invocation, as JSON

Variants: ``bare`` (Python only), ``floor`` (boto3 and the two clients; for ``warm``, the
PutItem and SendMessage a warm invocation makes, called bare), ``handler`` (function/),
``naive`` (benchmarks/naive_handler.py). X-Ray follows ``POWERTOOLS_TRACE_DISABLED``, set by
the runner. Every SDK attempt is answered by ``benchmarks.canned``: no network.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from harness.lambda_context import FakeLambdaContext
from harness.readings import own_peak_rss_kib, own_rss_kib

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

EVENT = Path(__file__).resolve().parents[1] / "tests" / "events" / "create_order.json"


def _context() -> LambdaContext:
    """A fresh context for one invocation: it has every attribute and method Powertools' LambdaContext declares."""
    return cast("LambdaContext", FakeLambdaContext())


def _cold(variant: str) -> None:
    if variant == "floor":
        import boto3  # noqa: PLC0415 - importing is what is measured

        boto3.client("dynamodb")
        boto3.client("sqs")
    elif variant == "handler":
        import create_order.handler  # noqa: F401, PLC0415 - builds its clients at import
    elif variant == "naive":
        from benchmarks import naive_handler  # noqa: PLC0415

        naive_handler.clients()


_DAEMON: list[socket.socket] = []


def _listen_as_xray_daemon() -> None:
    """A UDP socket where Lambda's X-Ray daemon would be, so traces are sent as they are in Lambda.

    Nothing listening would make each datagram draw an ICMP "port unreachable" the sender's
    kernel time pays for. Unread, the socket's buffer fills and the kernel drops the rest,
    which costs the sender nothing more.
    """
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    _DAEMON.append(daemon)
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "{}:{}".format(*daemon.getsockname())


def _invoker(variant: str) -> Any:
    from benchmarks import canned  # noqa: PLC0415

    canned.install_for_new_clients()
    if os.environ.get("POWERTOOLS_TRACE_DISABLED") == "false":
        _listen_as_xray_daemon()  # before the handler's import: its tracer reads the address then
    if variant == "floor":
        return _bare_calls()
    event = json.loads(EVENT.read_text())
    if variant == "handler":
        from create_order.handler import lambda_handler  # noqa: PLC0415
    else:
        from benchmarks.naive_handler import lambda_handler  # noqa: PLC0415

    def invoke() -> None:
        answer = lambda_handler(event, _context())
        if answer["statusCode"] != 201:
            raise RuntimeError(f"the {variant} handler answered {answer['statusCode']}: {answer['body']}")

    return invoke


def _record_calls(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The parameters of the SDK calls a warm invocation of the handler makes (in its own process)."""
    from botocore import handlers  # noqa: PLC0415

    recorded: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        recorded.append((model.name, json.loads(json.dumps(params))))

    handlers.BUILTIN_HANDLERS.append(("provide-client-params", record))
    from create_order.handler import lambda_handler  # noqa: PLC0415

    lambda_handler(event, _context())  # the catalog read, then cached
    recorded.clear()
    lambda_handler(event, _context())
    calls = dict(recorded)
    if sorted(calls) != ["PutItem", "SendMessage"]:
        raise RuntimeError(f"a warm invocation made {[name for name, _ in recorded]}, not PutItem + SendMessage")
    return calls


def recorded_calls(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The parameters of a warm invocation's SDK calls, recorded by ``record handler`` in a child process."""
    recorded = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe", "record", "handler"],
        env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    calls: dict[str, dict[str, Any]] = json.loads(recorded.strip().splitlines()[-1])
    return calls


def _bare_calls() -> Any:
    """The handler's warm calls, with its very parameters, made on bare boto3 clients.

    The parameters are recorded in a child process, so nothing the handler's import does (the
    X-Ray patch of botocore) touches the clients measured here.
    """
    import boto3  # noqa: PLC0415

    calls = recorded_calls()
    put, send = calls["PutItem"], calls["SendMessage"]
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")

    def bare() -> None:
        dynamodb.put_item(**put)
        sqs.send_message(**send)

    return bare


def _warm(invoke: Any, invocations: int) -> dict[str, Any]:
    for _ in range(min(200, invocations)):
        invoke()
    batches = []
    per_batch = max(1, invocations // 5)
    for _ in range(5):
        started = time.process_time_ns()
        for _ in range(per_batch):
            invoke()
        batches.append((time.process_time_ns() - started) / per_batch / 1000)
    batches.sort()
    return {"cpu_us": round(batches[len(batches) // 2], 1), "batches_us": [round(b, 1) for b in batches]}


def _memory(invoke: Any, invocations: int) -> dict[str, Any]:
    for _ in range(50):
        invoke()
    gc.collect()
    tracemalloc.start()
    peaks, blocks, net = [], [], []
    own = [tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__)]
    for _ in range(20):
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(own)
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        invoke()
        _, peak = tracemalloc.get_traced_memory()
        gc.collect()  # what the invocation left as garbage cycles is not kept
        current, _ = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot().filter_traces(own)
        peaks.append(peak - before)
        net.append(current - before)
        blocks.append(sum(s.count_diff for s in after.compare_to(snapshot, "filename") if s.count_diff > 0))
    tracemalloc.stop()
    peaks.sort()
    net.sort()
    blocks.sort()
    gc.collect()
    rss_start = own_rss_kib()
    for _ in range(invocations):
        invoke()
    gc.collect()
    return {
        "peak_bytes": peaks[len(peaks) // 2],
        "net_bytes": net[len(net) // 2],
        "kept_blocks": blocks[len(blocks) // 2],
        "rss_start_kib": rss_start,
        "rss_end_kib": own_rss_kib(),
        # Its own peak (Linux: VmHWM; getrusage's would be its starter's whenever the starter was larger).
        "max_rss_kib": own_peak_rss_kib(),
    }


def main() -> None:
    """Run one measurement; print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["cold", "warm", "memory", "record"])
    parser.add_argument("variant", choices=["bare", "floor", "handler", "naive"])
    parser.add_argument("--invocations", type=int, default=2000)
    args = parser.parse_args()
    if args.kind == "cold":
        _cold(args.variant)
        return
    log = open(os.devnull, "w")  # noqa: SIM115 - the handlers' log lines cost their CPU, not the terminal's
    stdout, sys.stdout = sys.stdout, log
    if args.kind == "record":
        from benchmarks import canned  # noqa: PLC0415

        canned.install_for_new_clients()
        calls = _record_calls(json.loads(EVENT.read_text()))
        sys.stdout = stdout
        print(json.dumps(calls))
        return
    invoke = _invoker(args.variant)
    result = _warm(invoke, args.invocations) if args.kind == "warm" else _memory(invoke, args.invocations)
    sys.stdout = stdout
    print(json.dumps(result))


if __name__ == "__main__":
    main()
