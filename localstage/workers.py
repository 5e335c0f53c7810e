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

With SnapStart (:meth:`WorkerPool.publish`) one environment is initialised when the pool starts,
as Lambda initialises a version when it is published, and becomes the snapshot at its runtime's
``restore/next``; every new environment is then restored from it, not initialised: a fork of the
snapshot process (``localstage.snapshot`` in it, ``localstage.snapstart`` here), with its own
Runtime API, log and control groups, whose restore ends when its runtime first asks for an event
(its RESTORE_REPORT, and Restore Duration on its first REPORT).
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
from typing import IO, Any, Protocol

from harness import platform_log
from harness.platform_log import (
    ERROR,
    FAILURE,
    ON_DEMAND,
    PROVISIONED,
    SNAP_START,
    SUCCESS,
    TIMEOUT,
    InitReport,
    Report,
    RestoreReport,
)
from harness.processes import wait_or_kill
from harness.readings import peak_rss_kib
from harness.runfolder import LogsFolder
from localstage.allotment import MIB
from localstage.cgroups import ControlGroupError, ControlGroups, EnvironmentGroup
from localstage.function_config import FunctionConfig
from localstage.platform_records import PlatformRecords
from localstage.runtime_api import RESPONSE_TOO_LARGE, Answer, InitError, RuntimeApi, RuntimeExitError
from localstage.runtime_bootstrap import RUNTIME_CLIENT
from localstage.snapstart import CONTROL_VARIABLE, SnapshotChannel, SnapshotGoneError

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
SNAPSHOT_INDEX = 0
"""The SnapStart snapshot's environment: its log ``worker-000.log``, its groups ``env-0`` (served ones from 1)."""
PUBLISH_TIMEOUT_S = 130.0
"""A SnapStart init's time limit: 130 s or the function's timeout, whichever is higher (Lambda's, for a snapshot)."""
RESTORE_TIMEOUT_S = 10.0
"""A restore's time limit, the after-restore hooks included: past it Lambda's ``SnapStartTimeoutException``."""
SNAPSTART_ERROR = "SnapStartException"
"""What Lambda's invoker gets when a restore fails (an after-restore hook's error, a runtime gone)."""
SNAPSTART_TIMEOUT = "SnapStartTimeoutException"
"""What Lambda's invoker gets when a restore outlives its time limit."""
_SNAPSTART_MESSAGES = {
    SNAPSTART_ERROR: "The afterRestore() runtime hook encountered an error. For more information, check the Amazon "
    "CloudWatch logs.",
    SNAPSTART_TIMEOUT: "Lambda couldn't restore the snapshot within the timeout limit.",
}
"""Lambda's words for each (its Invoke API's errors)."""


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, as API Gateway sees it."""

    outcome: str  # "ok", "error" (function error or bad init), "timeout", "throttled", "gave-up"
    payload: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    worker: int = -1
    restore_ms: float | None = None
    """The restore of the environment it started in (SnapStart), when it was that environment's first."""


class _Process(Protocol):
    """An environment's process as the pool handles it: a ``subprocess.Popen``, or a restored one's handle."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass
class _Worker:
    index: int
    process: _Process
    api: RuntimeApi
    log: IO[str]
    """The platform's own handle on the environment's log (its records go in beside the runtime's lines)."""
    initialization_type: str
    spawned: float
    """``time.monotonic()`` when the process was started (its restore ordered): its init (restore) counts from there."""
    cold: bool = True
    """Counted among the pool's initialising environments until its first release or discard."""
    initialised: bool = False
    """Its init (or restore) is over: its runtime asked for its first event."""
    init_ms: float | None = None
    init_unreported: bool = False
    """Its init or restore is yet to appear on a REPORT line (an on-demand or restored environment's first)."""
    restored: bool = False
    """Restored from the SnapStart snapshot, not initialised."""
    restore_ms: float | None = None
    billed_restore_ms: int | None = None
    max_memory_mb: int = 0
    group: EnvironmentGroup | None = None
    """Its control groups (memory limit, CPU quota); ``None`` where the pool has none."""


class _InitFailedError(Exception):
    """An environment's init (or restore) failed: its INIT_REPORT (RESTORE_REPORT) is written and it is discarded."""

    def __init__(self, payload: dict[str, Any], init_ms: float | None, restore_ms: float | None = None) -> None:
        super().__init__(payload.get("errorType"))
        self.payload = payload
        self.init_ms = init_ms
        self.restore_ms = restore_ms


@dataclass
class _Snapshot:
    """The SnapStart snapshot: its process (the stage's child), endpoint, log, groups and control channel."""

    process: subprocess.Popen[bytes]
    api: RuntimeApi
    log: IO[str]
    group: EnvironmentGroup | None
    channel: SnapshotChannel
    spawned: float
    """``time.monotonic()`` when its process was started: its init counts from there."""
    init_ms: float | None = None

    def close(self) -> None:
        """End it: its channel closed (it kills and reaps what it still runs, and exits), then what the pool holds."""
        self.channel.close()
        with contextlib.suppress(OSError):
            wait_or_kill(self.process, 5)
        self.api.close()
        self.log.close()
        if self.group is not None:
            with contextlib.suppress(ControlGroupError):
                self.group.remove()


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
    _snapshot: _Snapshot | None = None
    _restores: int = 0
    snapstart: dict[str, Any] | None = None
    """SnapStart's state once published (:meth:`publish`): the version's ``State`` as Lambda has it, and more."""
    _publish_failure: dict[str, Any] | None = None

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
            try:
                worker = self._acquire(started + wait_s)
            except _InitFailedError as unavailable:  # the SnapStart version's publish failed, or its snapshot is gone
                return Invocation("error", unavailable.payload)
            if worker is None:
                return Invocation("throttled")
            payload = payload or json.dumps(event, separators=(",", ":")).encode()
            try:
                invoked = self._deliver(worker, request_id, payload, started + wait_s)
            except _InitFailedError as failed:
                return Invocation(
                    "error", failed.payload, init_ms=failed.init_ms, worker=worker.index, restore_ms=failed.restore_ms
                )
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

        Raises:
            ValueError: the pool restores its environments from a SnapStart snapshot (Lambda allows
                one or the other).
        """
        if self.snapstart is not None:
            raise ValueError("provisioned concurrency and SnapStart together: Lambda allows one or the other")
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

    def publish(self, timeout_s: float | None = None) -> bool:
        """Initialise the environment SnapStart snapshots, as Lambda does when a version is published; whether it took.

        The environment starts with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` behind
        ``localstage.runtime_bootstrap --snapshot``: its init and before-snapshot hooks run, its
        runtime asks ``restore/next``, and there it becomes the snapshot (``INIT_START`` and its
        own ``INIT_REPORT`` in ``worker-000.log``; the init on no request's REPORT). From then on
        every new environment is restored from it. Its time limit is Lambda's for a snapshot's
        init: 130 s or the function's timeout, the higher.

        An init that fails (or outlives the limit) fails the publish as Lambda fails it: the
        version's ``State`` is ``Failed`` (:attr:`snapstart`), its ``INIT_REPORT`` says why, and
        every request gets the init's error, as a failed init's request does.

        Raises:
            RuntimeError: published already, or environments started before it.
            ValueError: a fault plan (its window's zero is the served environments' own; not with SnapStart yet).
        """
        function = self.function
        if function.chaos_plan:
            raise ValueError("SnapStart with a fault plan: not emulated (the plan's zero would be the snapshot's)")
        with self._cond:
            if self.snapstart is not None or self._spawned:
                raise RuntimeError("publish comes first, and once: the pool has started environments or published")
            self.snapstart = {"state": "Pending"}
        limit_s = max(PUBLISH_TIMEOUT_S, function.timeout_s) if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit_s
        snapshot = self._snapshot = self._start_snapshot()
        status, failure = SUCCESS, None
        try:
            failure = snapshot.api.snapshot_point(deadline)
        except TimeoutError:
            status = TIMEOUT
        except RuntimeExitError:
            failure = InitError(_exit_error_of(snapshot.group), b"")
        init_ms = (time.monotonic() - snapshot.spawned) * 1000
        if status == SUCCESS and failure is None:
            try:
                snapshot.channel.connect(deadline, alive=lambda: snapshot.process.poll() is None)
            except SnapshotGoneError:
                failure = InitError(_exit_error_of(snapshot.group), b"")
        if status != SUCCESS or failure is not None:
            self._publish_failed(snapshot, init_ms, failure, limit_s)
            return False
        snapshot.init_ms = init_ms
        self._records.init_report(snapshot.log, InitReport(init_ms, SNAP_START))
        self.snapstart = {"state": "Active", "init_ms": round(init_ms, 2), "snapshot_pid": snapshot.process.pid}
        return True

    def _start_snapshot(self) -> _Snapshot:
        """Start the environment to be snapshotted: its INIT_START, then its process (bootstrap ``--snapshot``)."""
        function = self.function
        channel = SnapshotChannel()
        log = LogsFolder(self.log_dir).worker_log(SNAPSHOT_INDEX).open("a", buffering=1)
        process: subprocess.Popen[bytes] | None = None
        api = RuntimeApi(alive=lambda: process is not None and process.poll() is None)
        group: EnvironmentGroup | None = None
        try:
            self._records.init_start(log, SNAP_START, self.memory_mb)
            path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
            env = {**os.environ, **function.variables(api.address, SNAP_START), "PYTHONPATH": path}
            env[CONTROL_VARIABLE] = channel.path
            argv = [sys.executable, "-m", *self._runtime_command(snapshot=True)]
            if self.groups is not None:
                group = self.groups.create(SNAPSHOT_INDEX)
                argv = group.command(argv)  # in its groups before the interpreter starts, as every environment
            spawned = time.monotonic()
            process = subprocess.Popen(  # noqa: S603 - our interpreter and module
                argv, cwd=function.code_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        except BaseException:
            channel.close()
            api.close()
            log.close()
            if group is not None:
                group.remove()
            raise
        return _Snapshot(process, api, log, group, channel, spawned)

    def _publish_failed(self, snapshot: _Snapshot, init_ms: float, failure: InitError | None, limit_s: float) -> None:
        """A snapshot's init that failed (``failure``) or timed out (``None``): the version ``Failed``, as Lambda's."""
        error_type = failure.error_type if failure is not None else None
        status = ERROR if failure is not None else TIMEOUT
        self._records.init_report(snapshot.log, InitReport(init_ms, SNAP_START, status, error_type))
        reason_code = "FunctionError" if failure is not None else "FunctionError.InitTimeout"
        payload = (
            _error_payload(failure.body, failure.error_type)
            if failure is not None
            else {"errorType": reason_code, "errorMessage": f"the snapshot's init outlasted {limit_s:g} s"}
        )
        reason = f"{payload.get('errorType')}: {payload.get('errorMessage', 'the init failed')}"
        self.snapstart = {"state": "Failed", "state_reason_code": reason_code, "state_reason": reason,
                          "init_ms": round(init_ms, 2)}  # fmt: skip
        self._publish_failure = payload
        self._snapshot = None
        snapshot.close()

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
        """Execution environments started and initialised so far (cold starts; a SnapStart snapshot is not one)."""
        return self._spawned - self._restores

    @property
    def restored(self) -> int:
        """Execution environments restored so far from the SnapStart snapshot."""
        return self._restores

    @property
    def pids(self) -> list[int]:
        """Process ids of the live environments (the ones that serve: the SnapStart snapshot is not one)."""
        with self._cond:
            return [w.process.pid for w in self._all if w.process.poll() is None]

    @property
    def snapshot_pid(self) -> int | None:
        """The SnapStart snapshot's process id, while it runs."""
        snapshot = self._snapshot
        return snapshot.process.pid if snapshot is not None and snapshot.process.poll() is None else None

    def _deliver(self, worker: _Worker, request_id: str, payload: bytes, deadline: float) -> float:
        """Hand the event to the environment (its init or restore first, on a new one); when it was handed over."""
        if not worker.initialised:
            self._init(worker, deadline)
        elif worker.process.poll() is not None:
            # It ended while idle (its ``next`` may still look open): the event goes to another environment.
            raise RuntimeExitError("a warm environment's process has ended")
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
        if worker.restored:
            self._resumed(worker, deadline)
            return
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
        worker.initialised = True
        if worker.group is not None:
            worker.group.during_invoke()  # its init is over: from now on, its share by memory size
        if worker.initialization_type == PROVISIONED:
            # Its init belongs to no request: reported on its own, and billed as provisioned concurrency.
            self._records.init_report(worker.log, InitReport(init_ms, worker.initialization_type))
        else:
            worker.init_unreported = True

    def _resumed(self, worker: _Worker, deadline: float) -> None:
        """Wait for a restored environment's restore to end: its runtime's first ``next``, the after-restore hooks run.

        Its Restore Duration counts from the stage's restore order; its Billed Restore Duration
        from its runtime's own ``restore/next`` (the runtime resuming: what came before it is the
        snapshot's restoring, which Lambda does not bill). A restore that fails, or outlives
        Lambda's limit, ends the environment and the invocation with Lambda's SnapStart error.

        Raises:
            _InitFailedError: the restore failed or timed out (the environment is discarded).
            TimeoutError: the caller's ``deadline`` came first.
        """
        limit = worker.spawned + RESTORE_TIMEOUT_S
        status = SUCCESS
        failure: InitError | None = None
        try:
            failure = worker.api.ready(min(deadline, limit))
        except TimeoutError:
            if deadline <= limit:
                raise
            status = TIMEOUT
        except RuntimeExitError:
            failure = InitError(_exit_error(worker), b"", "restore")
        now = time.monotonic()
        restore_ms = (now - worker.spawned) * 1000
        if status != SUCCESS or failure is not None:
            error_type = failure.error_type if failure is not None else None
            entry = RestoreReport(restore_ms, ERROR if failure is not None else status, error_type)
            self._records.restore_report(worker.log, entry)
            self._discard(worker)
            kind = SNAPSTART_ERROR if failure is not None else SNAPSTART_TIMEOUT
            raise _InitFailedError({"errorType": kind, "errorMessage": _SNAPSTART_MESSAGES[kind]}, None, restore_ms)
        resumed = worker.api.restore_asked_at
        worker.restore_ms = restore_ms
        worker.billed_restore_ms = platform_log.billed_restore_ms(
            (now - resumed) * 1000 if resumed is not None else restore_ms
        )
        worker.initialised = True
        worker.init_unreported = True
        if worker.group is not None:
            worker.group.during_invoke()
        self._records.restore_report(worker.log, RestoreReport(restore_ms))

    def _await(self, worker: _Worker, request_id: str, invoked: float, gives_up_at: float | None) -> Invocation:
        """The invocation's outcome: the runtime's answer, or a timeout, or (``gives_up_at``) the caller gone first."""
        timeout_s = self.function.timeout_s
        init_ms = worker.init_ms if worker.init_unreported else None
        restore_ms = worker.restore_ms if worker.init_unreported else None
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
            return Invocation("error", error, init_ms=init_ms, worker=worker.index, restore_ms=restore_ms)
        duration_ms = self._answered(worker, request_id, invoked, answer)
        if answer.is_error:
            error = _error_payload(answer.body, answer.error_type)
            return Invocation("error", error, duration_ms, init_ms, worker.index, restore_ms)
        try:
            result = json.loads(answer.body) if answer.body else None
        except ValueError:
            result = None
        return Invocation("ok", result, duration_ms, init_ms, worker.index, restore_ms)

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

        A cold start's REPORT carries its init, billed with the invocation (on-demand only); a
        restored environment's first carries its Restore Duration and Billed Restore Duration, the
        latter billed with the invocation. Max Memory Used is the environment's peak so far: its
        control group's (the memory Lambda counts, page cache included) where it has one, else its
        process's ``VmHWM``.
        """
        init_ms = worker.init_ms if worker.init_unreported else None
        restore_ms = worker.restore_ms if worker.init_unreported else None
        billed_restore = worker.billed_restore_ms if restore_ms is not None else None
        worker.init_unreported = False
        worker.max_memory_mb = max(worker.max_memory_mb, _peak_mb(worker))
        entry = Report(
            request_id=request_id,
            duration_ms=duration_ms,
            billed_ms=platform_log.billed_ms(duration_ms, init_ms, billed_restore),
            memory_mb=self.memory_mb,
            max_memory_mb=worker.max_memory_mb,
            init_ms=init_ms,
            status=status,
            error_type=error_type if status != SUCCESS else None,
            restore_ms=restore_ms,
            billed_restore_ms=billed_restore,
        )
        self._records.report(worker.log, entry)

    def _acquire(self, deadline: float) -> _Worker | None:
        """An idle environment, else a new one (started or restored); ``None``: throttled, or none came in time.

        Raises:
            _InitFailedError: the SnapStart version's publish failed (its init's error), or its
                snapshot is gone: no environment can be had.
        """
        if self._publish_failure is not None:
            raise _InitFailedError(dict(self._publish_failure), None)
        try:
            return self._acquire_or_start(deadline)
        except SnapshotGoneError as gone:
            raise _InitFailedError({"errorType": SNAPSTART_ERROR, "errorMessage": str(gone)}, None) from gone

    def _acquire_or_start(self, deadline: float) -> _Worker | None:
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
        """Start (under SnapStart: restore) the reserved environment ``index``; a failure gives the reservation back."""
        try:
            if self._snapshot is not None:
                return self._restore(index)
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

    def _restore(self, index: int) -> _Worker:
        """Restore environment ``index`` from the SnapStart snapshot: an order to the snapshot, which forks it.

        Its log, Runtime API and control groups are its own, made here and named in the order;
        the restored process joins its groups itself before it goes on. Its restore counts from
        the order (``RESTORE_START`` written just before).

        Raises:
            SnapshotGoneError: the snapshot is gone, or could not restore it.
        """
        snapshot = self._snapshot
        if snapshot is None:
            raise SnapshotGoneError("nothing was published: there is no snapshot to restore from")
        log_path = LogsFolder(self.log_dir).worker_log(index)
        log = log_path.open("a", buffering=1)
        handle: list[_Process] = []
        api = RuntimeApi(alive=lambda: bool(handle) and handle[0].poll() is None)
        group: EnvironmentGroup | None = None
        try:
            if self.groups is not None:
                group = self.groups.create(index)
            self._records.restore_start(log, self.memory_mb)
            ordered = time.monotonic()
            order = {"restore": index, "runtime_api": api.address, "log": str(log_path),
                     "procs": group.procs if group is not None else []}  # fmt: skip
            handle.append(snapshot.channel.restore(order))
        except BaseException:
            api.close()
            log.close()
            if group is not None:
                with contextlib.suppress(ControlGroupError):
                    group.remove()
            raise
        worker = _Worker(index, handle[0], api, log, SNAP_START, ordered, group=group, restored=True)
        with self._cond:
            self._all.append(worker)
            self._restores += 1
        return worker

    def _runtime_command(self, *, snapshot: bool = False) -> list[str]:
        """What ``python -m`` runs in an environment: the runtime client, or its bootstrap (a chaos run, a snapshot)."""
        function = self.function
        if not function.chaos_plan and not snapshot:
            return [RUNTIME_CLIENT, function.handler]
        chaos = ["--chaos-plan", function.chaos_plan] if function.chaos_plan else []
        if function.chaos_plan and function.chaos_started_at is not None:
            chaos += ["--faults-from", repr(function.chaos_started_at)]
        return [BOOTSTRAP, *chaos, *(["--snapshot"] if snapshot else []), function.handler]

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
        """Stop every environment this pool started (or restored), then the SnapStart snapshot."""
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
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            snapshot.close()
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
    return _exit_error_of(worker.group)


def _exit_error_of(group: EnvironmentGroup | None) -> str:
    """Why a runtime in ``group`` went away: its memory (the kernel's OOM kill), or an exit."""
    return OUT_OF_MEMORY if group is not None and group.out_of_memory() else EXIT_ERROR


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
