"""The worker pool: a function's execution environments, as Lambda's invoking side runs them.

An environment is one process running the function as Lambda's managed Python runtime does:
``python -m awslambdaric <Handler>`` (on a chaos run, behind ``localstage.runtime_bootstrap``),
in the function's folder, with the variables Lambda sets (``FunctionConfig.variables``),
talking to a Runtime API endpoint of its own (``localstage.runtime_api``). Its stdout and stderr
are its log; the pool is Lambda's platform and has Lambda's records written into the same log,
and each request's bill into the run's billing ledger (``localstage.platform_records``).

Each environment runs in control groups of its own (``localstage.cgroups``), as Lambda holds an
environment to its memory size: a hard memory limit, past which the kernel kills it and the
invocation ends ``Runtime.OutOfMemory``; under the Lambda CPU model the INIT's CPU until its
runtime first asks for an event, then the INVOKE's share by memory size.

An environment is started on first use (its init ends when its runtime first asks for an
event), reused while warm, killed when an invocation outlives the function timeout, and capped
in number like a concurrency limit: past it an invocation is throttled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from harness import platform_log
from harness.platform_log import ERROR, FAILURE, ON_DEMAND, PROVISIONED, SUCCESS, TIMEOUT, InitReport, Report
from harness.processes import wait_or_kill
from harness.readings import peak_rss_kib
from harness.runfolder import LogsFolder
from localstage.allotment import MIB
from localstage.cgroups import ControlGroupError, ControlGroups, EnvironmentGroup
from localstage.function_config import FunctionConfig
from localstage.platform_records import PlatformRecords
from localstage.runtime_api import RESPONSE_TOO_LARGE, Answer, InitError, RuntimeApi, RuntimeExitError
from localstage.runtime_bootstrap import RUNTIME_CLIENT

__all__ = ["FunctionConfig", "Invocation", "WorkerPool"]

ROOT = Path(__file__).resolve().parents[1]
"""The repository, on the environments' import path (for a chaos run's bootstrap and chaos/)."""
BOOTSTRAP = "localstage.runtime_bootstrap"
"""What a chaos run's environments run in place of the runtime client: it installs the faults first."""
EXIT_ERROR = "Runtime.ExitError"
"""Lambda's error type for a runtime that exited before it answered."""
OUT_OF_MEMORY = "Runtime.OutOfMemory"
"""Lambda's error type for an environment killed for growing past its memory size."""
REFUSAL_EXIT_S = 5.0
"""How long a runtime whose response was refused for its size has to exit or ask for its next event."""
DELIVERY_ATTEMPTS = 3
"""Environments tried for one invocation when the one taken turns out to have died while idle."""


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
    api: RuntimeApi
    log: IO[str]
    """The platform's own handle on the environment's log (its records go in beside the runtime's lines)."""
    initialization_type: str
    spawned: float
    """``time.monotonic()`` when the process was started: its init counts from there."""
    cold: bool = True
    """Counted among the pool's initialising environments until its first release or discard."""
    init_ms: float | None = None
    init_unreported: bool = False
    """Its init is yet to appear on a REPORT line (an on-demand environment's first invocation)."""
    max_memory_mb: int = 0
    group: EnvironmentGroup | None = None
    """Its control groups (memory limit, CPU quota); ``None`` where the pool has none."""


class _InitFailedError(Exception):
    """An environment's init failed: its INIT_REPORT is written and it is discarded."""

    def __init__(self, payload: dict[str, Any], init_ms: float) -> None:
        super().__init__(payload.get("errorType"))
        self.payload = payload
        self.init_ms = init_ms


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
    billing: Path | None = None
    """The run's billing ledger (``RunFolder.billing``); none is written when ``None``."""
    groups: ControlGroups | None = None
    """The stage's control groups: each environment gets its own in them. ``None``: no limits."""
    _idle: list[_Worker] = field(default_factory=list)
    _count: int = 0
    _initializing: int = 0
    _spawned: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _all: list[_Worker] = field(default_factory=list)
    _closed: bool = False
    _records: PlatformRecords = field(init=False)

    def __post_init__(self) -> None:
        self._records = PlatformRecords(self.function, self.billing)

    @property
    def memory_mb(self) -> int:
        """The memory size in force: the stage's groups' (``--memory-size``), else the function's."""
        return self.groups.memory_mb if self.groups is not None else self.function.memory_mb

    def invoke(self, event: dict[str, Any], request_id: str | None = None, wait_s: float | None = None) -> Invocation:
        """Run one invocation in a free environment (throttled when none may be added).

        ``wait_s`` is how long the caller waits (API Gateway: 29 s), for an environment
        included. Past it the caller gets ``gave-up`` while the invocation runs on to the
        function timeout, as in Lambda.
        """
        started = time.monotonic()
        timeout_s = self.function.timeout_s
        wait_s = timeout_s if wait_s is None else min(wait_s, timeout_s)
        request_id = request_id or str(uuid.uuid4())
        payload = b""
        for _ in range(DELIVERY_ATTEMPTS):
            worker = self._acquire(started + wait_s)
            if worker is None:
                return Invocation("throttled")
            payload = payload or json.dumps(event, separators=(",", ":")).encode()
            try:
                invoked = self._deliver(worker, request_id, payload, started + wait_s)
            except _InitFailedError as failed:
                return Invocation("error", failed.payload, init_ms=failed.init_ms, worker=worker.index)
            except TimeoutError:
                # Still starting (or not asking for work) when the caller's wait ran out.
                self._discard(worker)
                outcome = "gave-up" if wait_s < timeout_s else "timeout"
                return Invocation(outcome, duration_ms=wait_s * 1000, worker=worker.index)
            except RuntimeExitError:
                self._discard(worker)  # it died while idle: the event never reached it, another may take it
                continue
            return self._await(worker, request_id, invoked, started + wait_s if wait_s < timeout_s else None)
        return Invocation("error", {"errorType": EXIT_ERROR, "errorMessage": "no environment took the event"})

    def provision(self, count: int, timeout_s: float = 300.0) -> int:
        """Start environments (up to ``count`` in all) and run their init now, as provisioned concurrency does.

        ``parallel_inits`` at a time; each ends idle and warm, its init done outside any
        invocation (its INIT_REPORT written, its init on no REPORT line). Stops at the first init
        that fails (that environment is discarded, as Lambda discards one whose init failed).
        Returns how many environments are alive afterwards.
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
            workers = [self._start(index, PROVISIONED) for index in batch]
            for worker in workers:
                try:
                    self._init(worker, deadline)
                except (_InitFailedError, TimeoutError, RuntimeExitError):
                    self._discard(worker)
                    failed = True
                    continue
                self._release(worker)
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

    def _deliver(self, worker: _Worker, request_id: str, payload: bytes, deadline: float) -> float:
        """Hand the event to the environment (its init first, on a cold start); when it was handed over."""
        if worker.init_ms is None:
            self._init(worker, deadline)
        elif worker.api.ready(deadline) is not None:
            raise RuntimeExitError("a warm runtime reported an init error")
        function = self.function
        self._records.start(worker.log, request_id)
        invoked = time.monotonic()
        headers = {
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + function.timeout_s) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": function.arn,
            "Lambda-Runtime-Trace-Id": _trace_header(),
        }
        worker.api.deliver(request_id, payload, headers, deadline)
        return invoked

    def _init(self, worker: _Worker, deadline: float) -> None:
        """Wait for the environment's init to end: its runtime's first ``next``.

        Raises:
            _InitFailedError: the runtime reported an init error, or exited (the environment is discarded).
            TimeoutError: the init outlasted ``deadline``.
        """
        try:
            failure = worker.api.ready(deadline)
        except RuntimeExitError:
            failure = InitError(_exit_error(worker), b"")
        init_ms = (time.monotonic() - worker.spawned) * 1000
        if failure is not None:
            error = _error_payload(failure.body, failure.error_type)
            report = InitReport(init_ms, worker.initialization_type, ERROR, failure.error_type)
            self._records.init_report(worker.log, report)
            self._discard(worker)
            raise _InitFailedError(error, init_ms)
        worker.init_ms = init_ms
        if worker.group is not None:
            worker.group.during_invoke()  # its init is over: from now on, its share by memory size
        if worker.initialization_type == PROVISIONED:
            # Its init belongs to no request: reported on its own, and billed as provisioned concurrency.
            self._records.init_report(worker.log, InitReport(init_ms, worker.initialization_type))
        else:
            worker.init_unreported = True

    def _await(self, worker: _Worker, request_id: str, invoked: float, gives_up_at: float | None) -> Invocation:
        """The invocation's outcome: the runtime's answer, or a timeout, or (``gives_up_at``) the caller gone first."""
        timeout_s = self.function.timeout_s
        init_ms = worker.init_ms if worker.init_unreported else None
        try:
            answer = worker.api.answer(request_id, gives_up_at or invoked + timeout_s)
        except TimeoutError:
            if gives_up_at is not None:
                threading.Thread(target=self._finish_abandoned, args=(worker, request_id, invoked), daemon=True).start()
                return Invocation("gave-up", duration_ms=(gives_up_at - invoked) * 1000, worker=worker.index)
            self._end(worker, request_id, timeout_s * 1000, TIMEOUT)
            self._discard(worker)
            return Invocation("timeout", duration_ms=timeout_s * 1000, worker=worker.index)
        except RuntimeExitError:
            error = self._exited(worker, request_id, invoked)
            return Invocation("error", error, init_ms=init_ms, worker=worker.index)
        duration_ms = self._answered(worker, request_id, invoked, answer)
        if answer.is_error:
            return Invocation(
                "error", _error_payload(answer.body, answer.error_type), duration_ms, init_ms, worker.index
            )
        try:
            result = json.loads(answer.body) if answer.body else None
        except ValueError:
            result = None
        return Invocation("ok", result, duration_ms, init_ms, worker.index)

    def _finish_abandoned(self, worker: _Worker, request_id: str, invoked: float) -> None:
        """Let an invocation whose caller gave up run on to the function timeout, as Lambda does."""
        timeout_s = self.function.timeout_s
        try:
            answer = worker.api.answer(request_id, invoked + timeout_s)
        except TimeoutError:
            self._end(worker, request_id, timeout_s * 1000, TIMEOUT)
            self._discard(worker)
            return
        except RuntimeExitError:
            if not self._closed:  # else the pool closed under it
                self._exited(worker, request_id, invoked)
            return
        self._answered(worker, request_id, invoked, answer)

    def _answered(self, worker: _Worker, request_id: str, invoked: float, answer: Answer) -> float:
        """End an invocation its runtime answered: its REPORT, and the environment back among the idle; its duration.

        A response refused for its size ends as its runtime takes the refusal: awslambdaric exits
        on it, and Lambda's REPORT then says ``Status: error``, ``Runtime.ExitError`` (the
        environment is gone); a runtime that asks for its next event instead is kept.
        """
        duration_ms = (time.monotonic() - invoked) * 1000
        if answer.error_type == RESPONSE_TOO_LARGE:
            try:
                kept = worker.api.ready(time.monotonic() + REFUSAL_EXIT_S) is None
            except (RuntimeExitError, TimeoutError):
                kept = False
            if not kept:
                self._end(worker, request_id, duration_ms, ERROR, _exit_error(worker))
                self._discard(worker)
                return duration_ms
        self._end(worker, request_id, duration_ms, FAILURE if answer.is_error else SUCCESS, answer.error_type)
        self._release(worker)
        return duration_ms

    def _exited(self, worker: _Worker, request_id: str, invoked: float) -> dict[str, Any]:
        """End an invocation whose environment died under it (killed for its memory, or crashed); Lambda's error.

        Its REPORT says ``Status: error`` with the error type, the environment is discarded, and
        the next request gets a fresh one.
        """
        duration_ms = (time.monotonic() - invoked) * 1000
        error_type = _exit_error(worker)
        wait_or_kill(worker.process, 1)
        how = _how_it_ended(worker.process.returncode)
        self._end(worker, request_id, duration_ms, ERROR, error_type)
        self._discard(worker)
        return {
            "errorType": error_type,
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {how}",
        }

    def _end(
        self, worker: _Worker, request_id: str, duration_ms: float, status: str, error_type: str | None = None
    ) -> None:
        """Have the invocation's REPORT written into the environment's log, and its bill into the ledger.

        A cold start's REPORT carries its init, billed with the invocation (on-demand only).
        Max Memory Used is the environment's peak so far: its control group's (the memory Lambda
        counts, page cache included) where it has one, else its process's ``VmHWM``.
        """
        init_ms = worker.init_ms if worker.init_unreported else None
        worker.init_unreported = False
        worker.max_memory_mb = max(worker.max_memory_mb, _peak_mb(worker))
        entry = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            billed_ms=platform_log.billed_ms(duration_ms, init_ms),
            memory_mb=self.memory_mb,
            max_memory_mb=worker.max_memory_mb,
            init_ms=init_ms,
            status=status,
            error_type=error_type if status != SUCCESS else None,
        )
        self._records.report(worker.log, entry)

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
        return self._start(index, ON_DEMAND)

    def _reserve(self) -> int:
        """Count a new environment as alive and initialising (the caller holds ``_cond``); its index."""
        self._count += 1
        self._initializing += 1
        self._spawned += 1
        return self._spawned

    def _start(self, index: int, initialization_type: str) -> _Worker:
        """Start the reserved environment ``index``; a failure to start gives the reservation back."""
        try:
            return self._spawn(index, initialization_type)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._initializing -= 1
                self._cond.notify_all()
            raise

    def _spawn(self, index: int, initialization_type: str) -> _Worker:
        """Start one environment: a fresh interpreter running the runtime client, in the function's folder.

        Not a multiprocessing child: spawn imports the parent's ``__main__`` into it (for the main
        job, matplotlib and numpy), memory in every environment and in its REPORT line's Max
        Memory Used that the function itself does not need (BENCHMARKS.md, T14).
        """
        function = self.function
        log = LogsFolder(self.log_dir).worker_log(index).open("a", buffering=1)
        process: subprocess.Popen[bytes] | None = None
        api = RuntimeApi(alive=lambda: process is not None and process.poll() is None)
        group: EnvironmentGroup | None = None
        try:
            self._records.init_start(log, initialization_type, self.memory_mb)
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            env = {**os.environ, **function.variables(api.address, initialization_type), "PYTHONPATH": path}
            argv = [sys.executable, "-m", *self._runtime_command()]
            if self.groups is not None:
                group = self.groups.create(index)
                argv = group.command(argv)  # in its groups before the interpreter starts: all its memory counted
            spawned = time.monotonic()
            process = subprocess.Popen(  # noqa: S603 - our interpreter and module
                argv,
                cwd=function.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        except BaseException:
            api.close()
            log.close()
            if group is not None:
                group.remove()
            raise
        worker = _Worker(index, process, api, log, initialization_type, spawned, group=group)
        with self._cond:
            self._all.append(worker)
        return worker

    def _runtime_command(self) -> list[str]:
        """What ``python -m`` runs in an environment: the runtime client, or on a chaos run its bootstrap."""
        function = self.function
        if not function.chaos_plan:
            return [RUNTIME_CLIENT, function.handler]
        faults_from = [] if function.chaos_started_at is None else ["--faults-from", repr(function.chaos_started_at)]
        return [BOOTSTRAP, "--chaos-plan", function.chaos_plan, *faults_from, function.handler]

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if worker.cold:
                worker.cold = False
                self._initializing -= 1
            if not self._closed:
                self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        with self._cond:
            if worker not in self._all:
                return  # already discarded
            self._all.remove(worker)
            if worker.cold:
                worker.cold = False
                self._initializing -= 1
            self._count -= 1
            self._cond.notify_all()
        _stop(worker, kill=True)

    def close(self) -> None:
        """Stop every environment this pool started."""
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.process.terminate()
        for worker in workers:
            _stop(worker, kill=False)
        self._records.close()


def _stop(worker: _Worker, *, kill: bool) -> None:
    """End an environment's process (at once when ``kill``) and close what the pool holds of it."""
    with contextlib.suppress(OSError):
        if kill:
            worker.process.kill()
        wait_or_kill(worker.process, 5)
    worker.api.close()
    worker.log.close()
    if worker.group is not None:
        with contextlib.suppress(ControlGroupError):  # left for the stage's ``ControlGroups.close``, which says so
            worker.group.remove()


def _exit_error(worker: _Worker) -> str:
    """Why an environment's runtime went away, as Lambda names it: its memory (the kernel's OOM kill), or an exit."""
    return OUT_OF_MEMORY if worker.group is not None and worker.group.out_of_memory() else EXIT_ERROR


_SIGNALS = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
            signal.SIGTERM: "terminated", signal.SIGBUS: "bus error"}  # fmt: skip
"""How Lambda's message names the signals a runtime commonly dies of (the Go runtime's words)."""


def _how_it_ended(returncode: int | None) -> str:
    """A dead runtime's end as Lambda words it: ``signal: killed``, ``exit status 1``."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        number = -returncode
        try:
            return "signal: " + _SIGNALS.get(signal.Signals(number), signal.Signals(number).name)
        except ValueError:
            return f"signal: {number}"
    return f"exit status {returncode}"


def _peak_mb(worker: _Worker) -> int:
    """The environment's peak memory in MB: the larger of its group's peak and its process's ``VmHWM`` (0: gone).

    Each undercounts where the other does not: the group is charged only the pages the
    environment touched first, so the interpreter's and the libraries' file pages the host had
    read already count in its RSS but not in its group; its RSS leaves out the page cache it read
    and never mapped, which its group counts. On Lambda every page is the environment's own.
    """
    group_peak = worker.group.peak_memory_bytes() if worker.group is not None else None
    process_peak_kib = peak_rss_kib(worker.process.pid)
    return max(group_peak // MIB if group_peak is not None else 0, (process_peak_kib or 0) // 1024)


def _error_payload(body: bytes, error_type: str | None) -> dict[str, Any]:
    """The runtime's error document (``errorType``, ``errorMessage``, ...), or one naming only the type."""
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        return document
    return {"errorType": error_type or "Runtime.Unknown"}


def _trace_header() -> str:
    """An X-Ray trace header for one invocation, unsampled: the stage runs no X-Ray daemon."""
    ids = os.urandom(20).hex()
    return f"Root=1-{int(time.time()):08x}-{ids[:24]};Parent={ids[24:]};Sampled=0"
