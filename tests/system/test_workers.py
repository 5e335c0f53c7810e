"""The worker pool behaves like Lambda's execution environments: warm reuse, throttles, timeouts."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import psutil
import pytest

from harness.platform_log import JSON, PROVISIONED, init_reports, read_reports
from harness.readings import rusage_peak_kib
from localstage.workers import FunctionConfig, WorkerPool
from tests.support.localstage import until_busy

ROOT = Path(__file__).resolve().parents[2]


def pool(tmp_path: Path, handler: str = "tests.system.handlers.echo", **kwargs) -> WorkerPool:
    function = FunctionConfig(
        code_dir=ROOT, env={}, timeout_s=kwargs.pop("timeout_s", 5.0), handler=handler, log_format=JSON
    )
    return WorkerPool(function, tmp_path, **kwargs)


def test_first_invocation_is_a_cold_start_and_the_next_reuses_the_environment(tmp_path: Path) -> None:
    workers = pool(tmp_path, concurrency=2)
    try:
        first = workers.invoke({})
        second = workers.invoke({})
    finally:
        workers.close()

    assert first.outcome == second.outcome == "ok"
    assert first.init_ms is not None
    assert second.init_ms is None
    assert first.worker == second.worker
    assert workers.started == 1
    first_report, second_report = read_reports(tmp_path / "worker-001.log")
    assert first_report.init_ms is not None
    assert second_report.init_ms is None
    assert first_report.max_memory_mb > 0


MIB = 1024 * 1024


def test_max_memory_used_is_the_environment_s_own_peak_not_the_peak_of_the_harness_that_started_it(
    tmp_path: Path,
) -> None:
    # Given a harness whose own peak is far above an environment's: 256 MiB written, then freed
    ballast = b"\x01" * (256 * MIB)
    del ballast
    assert rusage_peak_kib() >= 256 * 1024

    # When an environment it starts holds 64 MiB during one invocation
    workers = pool(tmp_path, handler="tests.system.handlers.allocate", concurrency=1)
    try:
        answer = workers.invoke({"mib": 64})
    finally:
        workers.close()

    # Then the REPORT line gives the environment's own peak: the 64 MiB and an interpreter, far below 256
    assert answer.outcome == "ok"
    assert answer.payload is not None
    [report] = read_reports(tmp_path / "worker-001.log")
    used_mb = report.max_memory_mb
    assert 64 <= used_mb <= 64 + 48
    if sys.platform == "linux":
        # ... where getrusage in the environment carries the harness's peak (what the REPORT line used to say)
        inherited_kib = json.loads(answer.payload["body"])["ru_maxrss_kib"]
        assert inherited_kib >= 256 * 1024
        assert used_mb < inherited_kib / 1024 / 2


def test_an_environment_holds_the_function_and_nothing_of_the_harness_that_started_it(tmp_path: Path) -> None:
    workers = pool(tmp_path, handler="tests.system.handlers.modules", concurrency=1)
    try:
        answer = workers.invoke({})
    finally:
        workers.close()

    assert answer.outcome == "ok"
    assert answer.payload is not None
    loaded = set(json.loads(answer.payload["body"]))
    assert "tests.system.handlers" in loaded
    harness = {"pytest", "_pytest", "boto3", "moto", "locust", "matplotlib", "numpy", "dashboards", "runreport"}
    harness |= {"loadtests.run", "tests.support", "localstage.workers", "localstage.local"}
    harness |= {"localstage.gateway", "psutil"}
    assert loaded.isdisjoint(harness), sorted(loaded & harness)


def test_invocation_past_the_concurrency_limit_is_throttled(tmp_path: Path) -> None:
    # Given one environment, busy for a second
    workers = pool(tmp_path, concurrency=1)
    results = {}
    try:
        workers.invoke({})  # warm it
        busy = threading.Thread(target=lambda: results.setdefault("busy", workers.invoke({"sleep": 1})))
        busy.start()
        until_busy(workers, 1)  # the busy invocation has its environment

        # When another invocation arrives
        throttled = workers.invoke({})
        busy.join()
    finally:
        workers.close()

    # Then it is throttled at once, and the busy one completes
    assert throttled.outcome == "throttled"
    assert results["busy"].outcome == "ok"


def test_invocation_past_the_function_timeout_is_killed(tmp_path: Path) -> None:
    workers = pool(tmp_path, concurrency=1, timeout_s=1.0)
    try:
        result = workers.invoke({"sleep": 3})
        assert workers.size == 0  # the environment was destroyed
        after = workers.invoke({})
    finally:
        workers.close()

    assert result.outcome == "timeout"
    assert after.outcome == "ok"
    assert after.init_ms is not None  # a new cold start


def test_caller_that_stops_waiting_gets_gave_up_while_the_function_runs_on(tmp_path: Path) -> None:
    workers = pool(tmp_path, concurrency=1, timeout_s=3.0)
    try:
        result = workers.invoke({"sleep": 1}, wait_s=0.3)
    finally:
        workers.close()

    assert result.outcome == "gave-up"


def test_function_error_is_reported_not_raised(tmp_path: Path) -> None:
    workers = pool(tmp_path, handler="tests.system.handlers.broken", concurrency=1)
    try:
        result = workers.invoke({})
    finally:
        workers.close()

    assert result.outcome == "error"
    assert result.payload is not None
    assert (result.payload["errorType"], result.payload["errorMessage"]) == ("RuntimeError", "boom")
    # The runtime client logs the error record, and the REPORT says the function failed
    assert '"errorMessage": "boom", "errorType": "RuntimeError"' in (tmp_path / "worker-001.log").read_text()
    [report] = read_reports(tmp_path / "worker-001.log")
    assert report.status == "failure"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a reaped one is gone; a zombie would still be alive here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _command_line(pid: int) -> list[str]:
    return psutil.Process(pid).cmdline()


def test_close_stops_every_environment(tmp_path: Path) -> None:
    # Given a pool with two environments started: one provisioned, one more because the first was busy
    workers = pool(tmp_path, concurrency=2)
    pids: list[int] = []
    try:
        assert workers.provision(1) == 1
        busy = threading.Thread(target=workers.invoke, args=({"sleep": 1},))
        busy.start()
        until_busy(workers, 1)
        assert workers.invoke({}).init_ms is not None  # a cold start: the second environment
        busy.join()
        pids = workers.pids

        # ... each one a live environment process this pool started
        assert workers.started == workers.size == 2
        assert len(set(pids)) == 2
        for pid in pids:
            assert _alive(pid)
            assert _command_line(pid)[1:] == ["-m", "awslambdaric", "tests.system.handlers.echo"]

        # When the pool is closed
        workers.close()

        # Then every one of them is gone (and reaped: no zombie is left either)
        assert [pid for pid in pids if _alive(pid)] == []
        assert workers.pids == []
    finally:
        workers.close()
        for pid in pids:  # a broken close must not leave our processes behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_provisioned_environments_are_initialised_before_any_invocation(tmp_path: Path) -> None:
    # Given a pool asked for three provisioned environments
    workers = pool(tmp_path, concurrency=4, parallel_inits=2)
    try:
        alive = workers.provision(3)
        # When invocations arrive, one at a time
        results = [workers.invoke({}) for _ in range(3)]
    finally:
        workers.close()

    # Then three environments were started, and initialised, before any invocation...
    assert alive == 3
    assert workers.started == 3
    # ... so none of the invocations was a cold start, and none started another environment
    assert [result.outcome for result in results] == ["ok", "ok", "ok"]
    assert [result.init_ms for result in results] == [None, None, None]
    logs = sorted(tmp_path.glob("worker-*.log"))
    assert all(report.init_ms is None for log in logs for report in read_reports(log))
    # ... each init reported on its own, as a provisioned one
    inits = [entry for log in logs for entry in init_reports(log.read_text().splitlines())]
    assert [entry.initialization_type for entry in inits] == [PROVISIONED] * 3


def test_an_environment_whose_init_fails_is_not_provisioned(tmp_path: Path) -> None:
    workers = pool(tmp_path, handler="tests.system.handlers.no_such_handler", concurrency=2)
    try:
        alive = workers.provision(2, timeout_s=60)
    finally:
        workers.close()

    assert alive == 0
    log = (tmp_path / "worker-001.log").read_text()
    assert "Runtime.HandlerNotFound" in log
    [init] = init_reports(log.splitlines())
    assert (init.status, init.error_type) == ("error", "Runtime.HandlerNotFound")


def test_the_fault_plan_s_zero_is_set_before_the_first_environment_and_refused_after(tmp_path: Path) -> None:
    # Given a pool whose fault plan counts from a zero set before any environment started
    workers = pool(tmp_path, concurrency=1)
    try:
        workers.count_faults_from(1234.5)
        workers.invoke({})
        # When the zero is moved once an environment has taken it
        with pytest.raises(RuntimeError, match="1 environments already started"):
            workers.count_faults_from(99.0)
    finally:
        workers.close()

    # Then it stays the one every environment was given
    assert workers.function.chaos_started_at == 1234.5


def test_the_handler_gets_a_context_of_the_function_the_pool_was_given(tmp_path: Path) -> None:
    # Given a pool for a function of 512 MB and a 4 s timeout
    function = FunctionConfig(
        code_dir=ROOT, env={}, memory_mb=512, timeout_s=4.0, name="orders-fn", handler="tests.system.handlers.context"
    )
    workers = WorkerPool(function, tmp_path, concurrency=1)

    # When it is invoked under a request id
    try:
        answer = workers.invoke({}, request_id="req-1")
    finally:
        workers.close()

    # Then the context is that function's $LATEST, counting down from its timeout (the memory a
    # string, as Lambda's runtime client gives it)
    assert answer.outcome == "ok"
    assert answer.payload is not None
    seen = json.loads(answer.payload["body"])
    assert seen.pop("remaining_ms") in range(3000, 4001)
    assert seen == {
        "aws_request_id": "req-1",
        "function_name": "orders-fn",
        "function_version": "$LATEST",
        "memory_limit_in_mb": "512",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:orders-fn",
        "log_group_name": "/aws/lambda/orders-fn",
    }


def test_an_init_that_fails_is_reported_the_environment_discarded_and_the_next_request_tries_a_fresh_init(
    tmp_path: Path,
) -> None:
    # Given the real function without a variable it requires (its table's name, empty over whatever the host has)
    function = FunctionConfig(
        code_dir=ROOT / "function",
        env={"AWS_DEFAULT_REGION": "us-east-1", "ORDERS_TABLE": ""},
        timeout_s=10.0,
        handler="create_order.handler.lambda_handler",
        log_format=JSON,
    )
    workers = WorkerPool(function, tmp_path, concurrency=1)
    try:
        # When two requests come
        first = workers.invoke({})
        alive_after_first = workers.size
        second = workers.invoke({})
    finally:
        workers.close()

    # Then each is the init's error, from an init of its own: the failed environment is not kept
    for answer in (first, second):
        assert answer.outcome == "error"
        assert answer.payload is not None
        assert answer.payload["errorType"] == "ConfigurationError"
        assert "ORDERS_TABLE" in answer.payload["errorMessage"]
        assert answer.init_ms is not None
    assert alive_after_first == 0
    assert (first.worker, second.worker) == (1, 2)
    # ... each environment's log says so as Lambda's does: an INIT_REPORT with its status and error, no REPORT
    for log in ("worker-001.log", "worker-002.log"):
        lines = (tmp_path / log).read_text().splitlines()
        [init] = init_reports(lines)
        assert (init.status, init.error_type) == ("error", "ConfigurationError")
        assert read_reports(tmp_path / log) == []
