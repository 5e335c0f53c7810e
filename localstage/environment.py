"""One Lambda-like execution environment: the child process's loop, one request at a time.

    python -m localstage.environment FD

Run by ``localstage.workers.WorkerPool``, which holds the other end of the pipe ``FD``.
The environment imports the handler on its first invocation (the cold start) or when
provisioned, then serves invocations until told to stop, ending each with a Lambda ``REPORT``
line in its log, next to the handler's own log and EMF lines. Standard library only, plus the
function and, on a chaos run, ``chaos``: an environment holds nothing of the harness.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from harness.lambda_context import FakeLambdaContext
from harness.readings import own_peak_rss_kib
from localstage.messages import FunctionConfig, Invoke, Provision, Reply, Setup, Stop


def main(fd: int) -> None:
    """The environment's entry: its pipe to the pool is ``fd``; a ``Setup`` comes first."""
    conn = Connection(fd)
    setup: Setup = conn.recv()
    serve(conn, setup.function, setup.log_path)


def serve(conn: Connection, function: FunctionConfig, log_path: Path) -> None:
    """The execution environment's loop: answer every ``Provision`` and ``Invoke`` until ``Stop``."""
    os.environ.update(function.env)
    sys.path.insert(0, str(function.code_dir))
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = log
    invocation: dict[str, str | None] = {"request_id": None}
    if function.chaos_plan:
        _install_faults(function, log, invocation)
    handler = None
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if isinstance(message, Stop):
            return
        if isinstance(message, Provision):
            # Provisioned concurrency: the init runs ahead of any invocation, and is not reported
            # on the first invocation's REPORT line (Lambda reports it on none).
            started = time.monotonic()
            try:
                handler = _load_handler(function)
            except Exception:  # noqa: BLE001 - reported to the pool, which discards the environment
                traceback.print_exc()
                conn.send(Reply("error"))
                continue
            conn.send(Reply("ok", init_ms=(time.monotonic() - started) * 1000))
            continue
        if not isinstance(message, Invoke):
            raise TypeError(f"an environment takes Provision, Invoke or Stop, not {message!r}")
        invocation["request_id"] = message.request_id
        started = time.monotonic()
        init_ms = None
        try:
            if handler is None:
                handler = _load_handler(function)
                init_ms = (time.monotonic() - started) * 1000
                started = time.monotonic()
            context = FakeLambdaContext.for_function(
                function.name,
                memory_mb=function.memory_mb,
                timeout_s=function.timeout_s,
                request_id=message.request_id,
                started=started,
            )
            payload = handler(message.event, context)
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda reports a function error
            traceback.print_exc()
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            outcome = "error"
        duration_ms = (time.monotonic() - started) * 1000
        # The environment's own peak: on Linux getrusage's would carry the peak of the harness that started it.
        max_mb = (own_peak_rss_kib() or 0) // 1024
        init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
        print(
            f"REPORT RequestId: {message.request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {function.memory_mb} MB\t"
            f"Max Memory Used: {max_mb} MB{init}"
        )
        conn.send(Reply(outcome, payload, duration_ms, init_ms))


def _install_faults(function: FunctionConfig, log: IO[str], invocation: dict[str, str | None]) -> None:
    """Install the function's fault plan for every SDK client made from now on.

    Installed before the handler is imported, so the clients it builds carry the faults; the
    Lambda package itself holds no chaos code.
    """
    from chaos.inject import FaultInjector, journal_line  # noqa: PLC0415 - only chaos runs need it
    from chaos.plan import FaultPlan  # noqa: PLC0415

    plan = FaultPlan.load(Path(str(function.chaos_plan)))
    # Each fault is journaled with the request it met, so the chaos report counts it on the faults' clock.
    injector = FaultInjector(
        plan,
        started_at=function.chaos_started_at,
        journal=lambda fault: log.write(journal_line(fault, invocation["request_id"])),
    )
    injector.install_for_new_clients()


def _load_handler(function: FunctionConfig) -> Any:
    """The init: import the handler's module (``module.function``) and return the function."""
    module, _, name = function.handler.rpartition(".")
    return getattr(importlib.import_module(module), name)


if __name__ == "__main__":
    main(int(sys.argv[1]))
