"""The worker pool: a function's Lambda-like execution environments, as the invoking side sees them.

An environment (``localstage.environment``, one process each, one request at a time) is
started on first use, reused while warm, killed when an invocation outlives the function
timeout, and capped in number like a concurrency limit: past it an invocation is throttled.
The pool and an environment speak in ``localstage.messages``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness.processes import wait_or_kill
from harness.runfolder import LogsFolder
from localstage.messages import FunctionConfig, Invoke, Provision, Reply, Setup, Stop

__all__ = ["FunctionConfig", "Invocation", "WorkerPool"]

ROOT = Path(__file__).resolve().parents[1]
"""The repository, on the environments' import path (for ``localstage.environment`` and chaos/)."""
ENVIRONMENT = "localstage.environment"
"""The module an environment's interpreter runs: nothing of the harness that started it."""


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, as API Gateway sees it."""

    outcome: str  # "ok", "error" (function error or bad init), "timeout", "throttled", "gave-up"
    payload: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    worker: int = -1


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
            worker.conn.send(Invoke(event, request_id))
            if not worker.conn.poll(max(0.0, started + wait_s - invoked)):
                if wait_s < timeout_s:
                    threading.Thread(
                        target=self._finish_abandoned, args=(worker, invoked + timeout_s), daemon=True
                    ).start()
                    return Invocation("gave-up", duration_ms=wait_s * 1000, worker=worker.index)
                self._discard(worker)
                return Invocation("timeout", duration_ms=timeout_s * 1000, worker=worker.index)
            reply: Reply = worker.conn.recv()
        except (EOFError, OSError):
            self._discard(worker)
            return Invocation("error", {"errorType": "Runtime.ExitError"}, worker=worker.index)
        self._release(worker)
        return Invocation(reply.outcome, reply.payload, reply.duration_ms, reply.init_ms, worker.index)

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
                worker.conn.send(Provision())
            for worker in workers:
                try:
                    ready = (
                        worker.conn.poll(max(0.0, deadline - time.monotonic())) and worker.conn.recv().outcome == "ok"
                    )
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
    def busy(self) -> int:
        """Execution environments alive and not idle: running (or starting for) an invocation."""
        with self._cond:
            return self._count - len(self._idle)

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
        """Start one environment: a fresh interpreter running ``ENVIRONMENT``.

        Not a multiprocessing child: spawn imports the parent's ``__main__`` into it (for the main
        job, matplotlib and numpy), memory in every environment and in its REPORT line's Max
        Memory Used that the function itself does not need (BENCHMARKS.md, T14).
        """
        log_path = LogsFolder(self.log_dir).worker_log(index)
        ours, theirs = socket.socketpair()
        with theirs:
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            process = subprocess.Popen(  # noqa: S603 - our interpreter and module
                [sys.executable, "-m", ENVIRONMENT, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        conn = Connection(ours.detach())
        conn.send(Setup(self.function, log_path))
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
                worker.conn.send(Stop())
        for worker in workers:
            wait_or_kill(worker.process, 5)
            worker.conn.close()
