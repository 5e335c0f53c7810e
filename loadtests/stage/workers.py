"""Lambda-like execution environments: one process each, one request at a time.

A worker is started (and the handler imported: the cold start) on first use, reused while
warm, killed when an invocation outlives the function timeout, and capped in number like a
concurrency limit: past it an invocation is throttled. Each invocation ends with a Lambda
``REPORT`` line in the worker's log, next to the handler's own log and EMF lines.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from loadtests.processes import wait_or_kill
from loadtests.procfs import peak_rss_kib

ROOT = Path(__file__).resolve().parents[2]
"""The repository, on the environments' import path for this module (and chaos/)."""
ENTRY = "import sys; from loadtests.stage.workers import environment_main; environment_main(int(sys.argv[1]))"
"""An environment's interpreter runs only this: nothing of the harness that started it."""


@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about the function, as the workers need it."""

    code_dir: Path
    env: dict[str, str]
    memory_mb: int = 256
    timeout_s: float = 30.0
    name: str = "order-processing-create-order"
    handler: str = "create_order.handler.lambda_handler"
    chaos_plan: str | None = None
    """A fault plan (chaos/*.toml) installed in every environment, outside the handler."""
    chaos_started_at: float | None = None
    """Wall-clock time the plan's windows count from (default: each environment's start)."""


PROVISION = "provision"
"""The message that runs an environment's init ahead of its first invocation."""


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, as API Gateway sees it."""

    outcome: str  # "ok", "error" (function error or bad init), "timeout", "throttled", "gave-up"
    payload: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    worker: int = -1


class _LambdaContext:
    def __init__(self, request_id: str, config: dict[str, Any], started: float) -> None:
        self.aws_request_id = request_id
        self.function_name = config["name"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = config["memory_mb"]
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{config['name']}"
        self.log_group_name = f"/aws/lambda/{config['name']}"
        self.log_stream_name = "local"
        self._deadline = started + config["timeout_s"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def environment_main(fd: int) -> None:
    """An environment process's entry: its pipe to the pool is ``fd``; its config comes first."""
    conn = Connection(fd)
    config, log_path = conn.recv()
    _worker_main(conn, config, log_path)


def _worker_main(conn: Connection, config: dict[str, Any], log_path: str) -> None:
    """The execution environment's loop (runs in the worker process)."""
    os.environ.update(config["env"])
    sys.path.insert(0, config["code_dir"])
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = log
    invocation: dict[str, str | None] = {"request_id": None}
    if config.get("chaos_plan"):
        # Installed before the handler is imported, so the clients it builds carry the faults;
        # the Lambda package itself holds no chaos code.
        from chaos.inject import FaultInjector, journal_line  # noqa: PLC0415 - only chaos runs need it
        from chaos.plan import FaultPlan  # noqa: PLC0415

        plan = FaultPlan.load(Path(config["chaos_plan"]))
        # Each fault is journaled with the request it met, so the chaos report counts it on the faults' clock.
        injector = FaultInjector(
            plan,
            started_at=config.get("chaos_started_at"),
            journal=lambda fault: log.write(journal_line(fault, invocation["request_id"])),
        )
        injector.install_for_new_clients()
    handler = None
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        if message == PROVISION:
            # Provisioned concurrency: the init runs ahead of any invocation, and is not reported
            # on the first invocation's REPORT line (Lambda reports it on none).
            started = time.monotonic()
            try:
                handler = _load_handler(config)
            except Exception:  # noqa: BLE001 - reported to the pool, which discards the environment
                traceback.print_exc()
                conn.send(("error", None, 0.0, None))
                continue
            conn.send(("ok", None, 0.0, (time.monotonic() - started) * 1000))
            continue
        event, request_id = message
        invocation["request_id"] = request_id
        started = time.monotonic()
        init_ms = None
        try:
            if handler is None:
                handler = _load_handler(config)
                init_ms = (time.monotonic() - started) * 1000
                started = time.monotonic()
            payload = handler(event, _LambdaContext(request_id, config, started))
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda reports a function error
            traceback.print_exc()
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            outcome = "error"
        duration_ms = (time.monotonic() - started) * 1000
        # The environment's own peak: getrusage's would carry the peak of the harness that started it.
        max_mb = (peak_rss_kib() or 0) // 1024
        init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
        print(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {config['memory_mb']} MB\t"
            f"Max Memory Used: {max_mb} MB{init}"
        )
        conn.send((outcome, payload, duration_ms, init_ms))


def _load_handler(config: dict[str, Any]) -> Any:
    """The init: import the handler's module (``module.function``) and return the function."""
    module, _, function = config["handler"].rpartition(".")
    return getattr(importlib.import_module(module), function)


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    conn: Connection
    cold: bool = True


@dataclass
class WorkerPool:
    """Up to ``concurrency`` execution environments for one function.

    A request takes the most recently used idle environment, else starts a new one, as
    Lambda does, with two concessions to a machine with a few cores instead of a fleet:
    starting is limited to ``parallel_inits`` at a time (default: one per core), and a
    request waits up to ``patience_s`` for a busy environment to come free before it starts
    another (more environments than cores add contention, not capacity). A request that
    finds neither waits, up to its own deadline; one that finds all ``concurrency``
    environments busy is throttled at once, as Lambda throttles.
    """

    function: FunctionConfig
    log_dir: Path
    concurrency: int = 100
    parallel_inits: int = field(default_factory=lambda: os.cpu_count() or 2)
    patience_s: float = 0.05
    _idle: list[_Worker] = field(default_factory=list)
    _count: int = 0
    _initializing: int = 0
    _spawned: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _all: list[_Worker] = field(default_factory=list)
    _closed: bool = False

    def invoke(self, event: dict[str, Any], request_id: str | None = None, wait_s: float | None = None) -> Invocation:
        """Run one invocation in a free environment (throttled when none may be added).

        ``wait_s`` is how long the caller waits (API Gateway: 29 s), for an environment
        included. Past it the caller gets ``gave-up`` while the invocation runs on to the
        function timeout, as in Lambda.
        """
        started = time.monotonic()
        timeout_s = self.function.timeout_s
        wait_s = timeout_s if wait_s is None else min(wait_s, timeout_s)
        worker = self._acquire(started + wait_s)
        if worker is None:
            return Invocation("throttled")
        request_id = request_id or str(uuid.uuid4())
        invoked = time.monotonic()
        try:
            worker.conn.send((event, request_id))
            if not worker.conn.poll(max(0.0, started + wait_s - invoked)):
                if wait_s < timeout_s:
                    threading.Thread(
                        target=self._finish_abandoned, args=(worker, invoked + timeout_s), daemon=True
                    ).start()
                    return Invocation("gave-up", duration_ms=wait_s * 1000, worker=worker.index)
                self._discard(worker)
                return Invocation("timeout", duration_ms=timeout_s * 1000, worker=worker.index)
            outcome, payload, duration_ms, init_ms = worker.conn.recv()
        except (EOFError, OSError):
            self._discard(worker)
            return Invocation("error", {"errorType": "Runtime.ExitError"}, worker=worker.index)
        self._release(worker)
        return Invocation(outcome, payload, duration_ms, init_ms, worker.index)

    def provision(self, count: int, timeout_s: float = 300.0) -> int:
        """Start environments (up to ``count`` in all) and run their init now, as provisioned concurrency does.

        ``parallel_inits`` at a time; each ends idle and warm, its init done outside any
        invocation. Stops at the first init that fails (that environment is discarded, as Lambda
        discards one whose init failed). Returns how many environments are alive afterwards.
        """
        deadline = time.monotonic() + timeout_s
        failed = False
        while not failed and self.size < min(count, self.concurrency) and time.monotonic() < deadline:
            batch = []
            with self._cond:
                while (
                    self._count < min(count, self.concurrency)
                    and self._initializing < self.parallel_inits
                    and not self._closed
                ):
                    batch.append(self._reserve())
            workers = [self._start(index) for index in batch]
            for worker in workers:
                worker.conn.send(PROVISION)
            for worker in workers:
                try:
                    ready = worker.conn.poll(max(0.0, deadline - time.monotonic())) and worker.conn.recv()[0] == "ok"
                except (EOFError, OSError):
                    ready = False
                if ready:
                    self._release(worker)
                else:
                    self._discard(worker)
                    failed = True
            if not batch:
                with self._cond:
                    self._cond.wait(0.05)
        return self.size

    def count_faults_from(self, zero: float) -> None:
        """Make the fault plan's windows count from ``zero`` (epoch seconds) in every environment.

        An environment takes the zero when it starts, so it must be set before the first one:
        an environment started earlier would count the windows from its own start, ahead of the
        network schedule and the report, which count from ``zero`` too.
        """
        with self._cond:
            if self._spawned:
                raise RuntimeError(f"{self._spawned} environments already started: set the fault plan's zero first")
            self.function = replace(self.function, chaos_started_at=zero)

    def _finish_abandoned(self, worker: _Worker, kill_at: float) -> None:
        try:
            if worker.conn.poll(max(0.0, kill_at - time.monotonic())):
                worker.conn.recv()
                self._release(worker)
                return
        except (EOFError, OSError):
            pass
        self._discard(worker)

    @property
    def size(self) -> int:
        """Execution environments alive now."""
        return self._count

    @property
    def started(self) -> int:
        """Execution environments started so far (cold starts)."""
        return self._spawned

    @property
    def pids(self) -> list[int]:
        """Process ids of the live environments."""
        with self._cond:
            return [w.process.pid for w in self._all if w.process.poll() is None]

    def _acquire(self, deadline: float) -> _Worker | None:
        patient_until = time.monotonic() + self.patience_s
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._idle:
                    return self._idle.pop()  # the most recently used: warmest
                if self._count >= self.concurrency:
                    return None
                now = time.monotonic()
                if self._count and now < patient_until:
                    self._cond.wait(patient_until - now)
                    continue
                if self._initializing < self.parallel_inits:
                    index = self._reserve()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
        return self._start(index)

    def _reserve(self) -> int:
        """Count a new environment as alive and initialising (the caller holds ``_cond``); its index."""
        self._count += 1
        self._initializing += 1
        self._spawned += 1
        return self._spawned

    def _start(self, index: int) -> _Worker:
        """Start the reserved environment ``index``; a failure to start gives the reservation back."""
        try:
            return self._spawn(index)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._initializing -= 1
                self._cond.notify_all()
            raise

    def _spawn(self, index: int) -> _Worker:
        """Start one environment: a fresh interpreter running ``ENTRY``.

        Not a multiprocessing child: spawn imports the parent's ``__main__`` into it (for the main
        job, matplotlib and numpy: 55 MiB more in every environment and in its REPORT line's Max
        Memory Used than the function itself needs).
        """
        config = {
            "code_dir": str(self.function.code_dir),
            "env": self.function.env,
            "memory_mb": self.function.memory_mb,
            "timeout_s": self.function.timeout_s,
            "name": self.function.name,
            "handler": self.function.handler,
            "chaos_plan": self.function.chaos_plan,
            "chaos_started_at": self.function.chaos_started_at,
        }
        log_path = str(self.log_dir / f"worker-{index:03d}.log")
        ours, theirs = socket.socketpair()
        with theirs:
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            process = subprocess.Popen(  # noqa: S603 - our interpreter and module
                [sys.executable, "-c", ENTRY, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        conn = Connection(ours.detach())
        conn.send((config, log_path))
        worker = _Worker(index, process, conn)
        with self._cond:
            self._all.append(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.cold:
                worker.cold = False
                self._initializing -= 1
            if not self._closed:
                self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
            worker.process.wait(timeout=5)
            worker.conn.close()
        with self._cond:
            if worker.cold:
                worker.cold = False
                self._initializing -= 1
            self._count -= 1
            if worker in self._all:
                self._all.remove(worker)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop every environment this pool started."""
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.conn.send(None)
        for worker in workers:
            wait_or_kill(worker.process, 5)
            worker.conn.close()
