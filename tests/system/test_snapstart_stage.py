"""SnapStart on the local stage: one environment initialised and snapshotted, every new one restored from it.

The worker pool publishes (one init, ``snap-start``, its runtime's ``restore/next`` the snapshot
point), then restores each new environment as a fork of the snapshot process: its own Runtime API,
log and control groups, the after-restore hooks run, Lambda's RESTORE_START/RESTORE_REPORT and a
first REPORT with Restore Duration in place of Init Duration. Killed, a restored environment is
seen as ended (the snapshot reports it) and another is restored; closed, the pool leaves no process.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.platform_log import (
    ERROR,
    JSON,
    SNAP_START,
    TEXT,
    InitReport,
    init_reports,
    read_reports,
    restore_reports,
)
from localstage import workers
from localstage.workers import FunctionConfig, Invocation, WorkerPool
from tests.system.snapstart_handlers import FAIL_RESTORE, SLOW_RESTORE

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "tests.system.snapstart_handlers.handler"


def _pool(tmp_path: Path, log_format: str = JSON, handler: str = HANDLER, **env: str) -> WorkerPool:
    function = FunctionConfig(code_dir=ROOT, env=env, timeout_s=5.0, handler=handler, log_format=log_format)
    return WorkerPool(function, tmp_path, concurrency=3)


def _together(pool: WorkerPool, count: int, sleep_s: float = 0.5) -> list[Invocation]:
    """``count`` invocations at once, each holding its environment ``sleep_s``: ``count`` environments busy."""
    answers: list[Invocation] = []
    threads = [threading.Thread(target=lambda: answers.append(pool.invoke({"sleep": sleep_s}))) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def _seen(answer: Invocation) -> dict[str, Any]:
    assert answer.outcome == "ok", answer
    assert answer.payload is not None
    seen: dict[str, Any] = json.loads(answer.payload["body"])
    return seen


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a process still there (a zombie, not yet reaped, counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _until(condition: Any, wait_s: float = 10.0) -> None:
    deadline = time.monotonic() + wait_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not so within {wait_s:g} s")
        time.sleep(0.02)


def test_environments_are_restored_from_the_one_snapshot_and_a_killed_one_is_replaced(  # noqa: PLR0915 - one story
    tmp_path: Path,
) -> None:
    pool = _pool(tmp_path)
    pids: list[int] = []
    snapshot: int | None = None
    try:
        # Given the version published: one init, snapshotted
        assert pool.publish() is True
        snapshot = pool.snapshot_pid
        assert snapshot is not None
        assert pool.snapstart is not None
        assert pool.snapstart["state"] == "Active"

        # When two invocations come at once, then one more
        first, second = _together(pool, 2)
        later = pool.invoke({})
        pids = pool.pids

        # Then two environments were restored, none initialised, each a child of the snapshot's process
        assert (pool.restored, pool.started, pool.size) == (2, 0, 2)
        seen = [_seen(first), _seen(second)]
        assert {s["pid"] for s in seen} == set(pids)
        for each in seen:
            assert psutil.Process(each["pid"]).ppid() == snapshot
            assert (each["ppid"], each["init_pid"]) == (snapshot, snapshot)
            # ... its module initialised once, in the snapshot (the before-snapshot hook too); the after-restore its own
            assert (each["before_snapshot"], each["after_restore"]) == (1, 1)
            assert each["initialization_type"] == SNAP_START
            assert each["log_stream"] is None  # not set under SnapStart, as on Lambda
        assert seen[0]["runtime_api"] != seen[1]["runtime_api"]  # each restored against its own Runtime API
        # ... each first answer a restore, not a cold start; the later one neither
        assert all(answer.restore_ms is not None and answer.init_ms is None for answer in (first, second))
        assert (later.outcome, later.restore_ms, later.init_ms) == ("ok", None, None)

        # ... and the logs say so as Lambda's do: one INIT (the snapshot's, snap-start), one RESTORE per environment
        logs = sorted(tmp_path.glob("worker-*.log"))
        assert [log.name for log in logs] == ["worker-000.log", "worker-001.log", "worker-002.log"]
        inits = [entry for log in logs for entry in init_reports(log.read_text().splitlines())]
        assert [(entry.initialization_type, entry.status) for entry in inits] == [(SNAP_START, "success")]
        starts = [line for log in logs for line in log.read_text().splitlines() if '"platform.initStart"' in line]
        assert len(starts) == 1
        assert json.loads(starts[0])["record"]["initializationType"] == SNAP_START
        assert read_reports(logs[0]) == []  # the snapshot's init is on no request's REPORT
        for log in logs[1:]:
            text = log.read_text()
            assert text.count('"platform.restoreStart"') == 1
            [restore] = restore_reports(text.splitlines())
            assert restore.status == "success"
            first_report, *others = read_reports(log)
            assert first_report.init_ms is None
            assert first_report.restore_ms == pytest.approx(restore.duration_ms, abs=0.001)
            assert first_report.billed_restore_ms is not None
            assert 1 <= first_report.billed_restore_ms <= first_report.restore_ms + 1
            assert first_report.billed_ms >= first_report.duration_ms + first_report.billed_restore_ms
            assert all(report.restore_ms is None and report.init_ms is None for report in others)

        # When one restored environment is killed (by its pid: a process this test's pool restored)
        victim = seen[1]["pid"]
        os.kill(victim, signal.SIGKILL)

        # Then it is seen to have ended, as the snapshot that reaped it reported, killed
        _until(lambda: victim not in pool.pids)
        [ended] = [w.process for w in pool._all if w.process.pid == victim]
        assert ended.returncode == -signal.SIGKILL
        # ... and two invocations at once get the other environment and a new one restored in its place
        again = _together(pool, 2)
        assert sorted(answer.restore_ms is not None for answer in again) == [False, True]
        fresh = next(_seen(answer) for answer in again if answer.restore_ms is not None)
        assert fresh["pid"] not in pids
        assert psutil.Process(fresh["pid"]).ppid() == snapshot
        assert (pool.restored, pool.started, pool.size) == (3, 0, 2)
        pids = [*pids, fresh["pid"]]

        # When the pool is closed
        pool.close()

        # Then no process is left: neither the restored environments nor the snapshot
        assert [pid for pid in [snapshot, *pids] if _alive(pid)] == []
        assert (pool.pids, pool.snapshot_pid) == ([], None)
    finally:
        pool.close()
        for pid in [*pids, *([snapshot] if snapshot else [])]:  # a broken close must not leave ours behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_restored_environment_s_records_are_lambda_s_text_lines(tmp_path: Path) -> None:
    pool = _pool(tmp_path, log_format=TEXT)
    try:
        assert pool.publish() is True
        answers = [pool.invoke({}), pool.invoke({})]
    finally:
        pool.close()

    assert [answer.outcome for answer in answers] == ["ok", "ok"]
    snapshot_lines = (tmp_path / "worker-000.log").read_text().splitlines()
    assert snapshot_lines[0] == "INIT_START Runtime Version: python:3.14"
    assert snapshot_lines[1].startswith("INIT_REPORT Init Duration: ")
    assert snapshot_lines[1].endswith("\tPhase: init\tStatus: success")
    lines = (tmp_path / "worker-001.log").read_text().splitlines()
    assert lines[0] == "RESTORE_START Runtime Version: python:3.14"
    assert lines[1].startswith("RESTORE_REPORT Restore Duration: ")
    reports = [line for line in lines if line.startswith("REPORT ")]
    assert "\tRestore Duration: " in reports[0]
    assert "\tBilled Restore Duration: " in reports[0]
    assert "Init Duration" not in reports[0]
    assert "Restore Duration" not in reports[1]


def test_an_after_restore_hook_that_fails_ends_the_restore_as_lambda_s_snapstart_error(tmp_path: Path) -> None:
    pool = _pool(tmp_path, **{FAIL_RESTORE: "1"})
    try:
        assert pool.publish() is True  # the before-snapshot hook is fine: the version is published
        answer = pool.invoke({})
        alive = pool.size
    finally:
        pool.close()

    # The invoker gets Lambda's SnapStartException; the environment's RESTORE_REPORT says the runtime's error
    assert answer.outcome == "error"
    assert answer.payload is not None
    assert answer.payload["errorType"] == "SnapStartException"
    assert answer.restore_ms is not None
    assert alive == 0
    [restore] = restore_reports((tmp_path / "worker-001.log").read_text().splitlines())
    assert (restore.status, restore.error_type) == (ERROR, "Runtime.AfterRestoreError")
    assert read_reports(tmp_path / "worker-001.log") == []


def test_a_restore_past_its_time_limit_ends_as_lambda_s_snapstart_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Lambda's 10 s for a restore made 0.3 s, and an after-restore hook that takes 2 s
    monkeypatch.setattr(workers, "RESTORE_TIMEOUT_S", 0.3)
    pool = _pool(tmp_path, **{SLOW_RESTORE: "2"})
    try:
        assert pool.publish() is True
        answer = pool.invoke({})
        alive = pool.size
    finally:
        pool.close()

    # Then the invoker gets Lambda's SnapStartTimeoutException, the RESTORE_REPORT a timeout
    assert answer.outcome == "error"
    assert answer.payload is not None
    assert answer.payload["errorType"] == "SnapStartTimeoutException"
    assert answer.restore_ms is not None
    assert answer.restore_ms >= 300
    assert alive == 0
    [restore] = restore_reports((tmp_path / "worker-001.log").read_text().splitlines())
    assert (restore.status, restore.error_type) == ("timeout", None)


def test_a_snapshot_whose_init_fails_fails_the_publish_and_every_request_gets_its_error(tmp_path: Path) -> None:
    pool = _pool(tmp_path, handler="tests.system.snapstart_handlers.no_such_handler")
    try:
        published = pool.publish()
        snapshot_gone = pool.snapshot_pid is None
        answers = [pool.invoke({}), pool.invoke({})]
        with pytest.raises(ValueError, match="SnapStart"):
            pool.provision(1)  # provisioned concurrency and SnapStart: one or the other
    finally:
        pool.close()

    # The version is Failed, as Lambda reports a publish that failed, and its INIT_REPORT says why
    assert published is False
    assert snapshot_gone
    assert pool.snapstart is not None
    assert (pool.snapstart["state"], pool.snapstart["state_reason_code"]) == ("Failed", "FunctionError")
    assert "Runtime.HandlerNotFound" in pool.snapstart["state_reason"]
    [init] = init_reports((tmp_path / "worker-000.log").read_text().splitlines())
    assert init == InitReport(init.duration_ms, SNAP_START, ERROR, "Runtime.HandlerNotFound")
    # ... and every request gets the init's error, no environment restored for it
    for answer in answers:
        assert answer.outcome == "error"
        assert answer.payload is not None
        assert answer.payload["errorType"] == "Runtime.HandlerNotFound"
    assert (pool.restored, pool.started) == (0, 0)
