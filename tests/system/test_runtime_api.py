"""The stage runs the function as Lambda's managed Python runtime does: awslambdaric against a Runtime API.

Against real environments: the variables Lambda sets, the headers it sends with each event, the
platform records it writes into the log (JSON, as the template's LogFormat asks) and the bill of
each request; and the Runtime API itself, spoken to by hand as a runtime would.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.billing import read_bills
from harness.platform_log import ERROR, JSON, PROVISIONED, TEXT, read_reports
from localstage.runtime_api import MAX_RESPONSE_BYTES, NEXT, NEXT_HEADERS, InitError, RuntimeApi, RuntimeExitError
from localstage.workers import FunctionConfig, WorkerPool

ROOT = Path(__file__).resolve().parents[2]

ENTITY_TOO_LARGE = {
    "errorType": "RequestEntityTooLarge",
    "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
}
"""What Lambda's Runtime API answers (413) a runtime whose response is over the limit."""
RESPONSE_TOO_LARGE = {
    "errorType": "Function.ResponseSizeTooLarge",
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
}
"""What Lambda's invoker gets in its place."""


def _function(handler: str = "tests.system.handlers.runtime", **kwargs: Any) -> FunctionConfig:
    return FunctionConfig(
        code_dir=ROOT, env={}, memory_mb=512, timeout_s=5.0, name="orders-fn", handler=handler, **kwargs
    )


def _seen(answer: Any) -> dict[str, Any]:
    assert answer.outcome == "ok", answer
    return dict(json.loads(answer.payload["body"]))


def test_an_environment_gets_the_variables_lambda_sets_and_a_context_from_the_event_s_headers(tmp_path: Path) -> None:
    # Given a pool for a JSON-logging function at WARN, invoked twice under request ids
    workers = WorkerPool(_function(log_format=JSON, log_level="WARN"), tmp_path, concurrency=1)
    try:
        first = _seen(workers.invoke({}, request_id="req-1"))
        second = _seen(workers.invoke({}, request_id="req-2"))
    finally:
        workers.close()

    # Then the environment holds Lambda's variables...
    variables = first["variables"]
    trace = variables.pop("_X_AMZN_TRACE_ID")
    stream = variables.pop("AWS_LAMBDA_LOG_STREAM_NAME")
    api = variables.pop("AWS_LAMBDA_RUNTIME_API")
    assert variables == {
        "_HANDLER": "tests.system.handlers.runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_NAME": "orders-fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders-fn",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "TZ": ":UTC",
    }
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", api)
    # ... the trace header of each invocation, set by the runtime client (a new one each time)
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", trace)
    assert second["variables"]["_X_AMZN_TRACE_ID"] not in (trace, None)
    # ... and a context built from the event's headers: its id, the function's ARN, its deadline
    assert (first["request_id"], second["request_id"]) == ("req-1", "req-2")
    assert first["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
    assert 4000 < first["remaining_ms"] <= 5000
    assert (first["client_context"], first["cognito_identity_id"]) == (None, None)


def test_a_provisioned_environment_is_told_so(tmp_path: Path) -> None:
    workers = WorkerPool(_function(), tmp_path, concurrency=1)
    try:
        assert workers.provision(1) == 1
        seen = _seen(workers.invoke({}))
    finally:
        workers.close()

    assert seen["variables"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == PROVISIONED


def test_each_environment_runs_lambda_s_runtime_client_on_the_template_s_handler(tmp_path: Path) -> None:
    workers = WorkerPool(_function(), tmp_path, concurrency=1)
    try:
        workers.invoke({})
        [pid] = workers.pids
        command = psutil.Process(pid).cmdline()
        cwd = psutil.Process(pid).cwd()
    finally:
        workers.close()

    assert command[1:] == ["-m", "awslambdaric", "tests.system.handlers.runtime"]
    assert cwd == str(ROOT)


def _records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"time"')]


def test_the_log_carries_lambda_s_json_records_in_order_and_each_request_s_bill(tmp_path: Path) -> None:
    # Given a JSON-logging function, invoked cold then warm
    billing = tmp_path / "billing.jsonl"
    workers = WorkerPool(_function(log_format=JSON), tmp_path, concurrency=1, billing=billing)
    try:
        cold = workers.invoke({}, request_id="req-1")
        warm = workers.invoke({}, request_id="req-2")
    finally:
        workers.close()
    log = tmp_path / "worker-001.log"

    # Then the environment's log holds Lambda's records, the handler's own output between START and REPORT
    assert [r["type"] for r in _records(log)] == [
        "platform.initStart", "platform.start", "platform.report", "platform.start", "platform.report",
    ]  # fmt: skip
    lines = log.read_text().splitlines()
    first_start = next(i for i, line in enumerate(lines) if '"platform.start"' in line)
    first_report = next(i for i, line in enumerate(lines) if '"platform.report"' in line)
    assert first_start < lines.index("handler ran") < first_report
    init_start = _records(log)[0]["record"]
    assert init_start == {
        "initializationType": "on-demand", "phase": "init", "runtimeVersion": "python:3.14",
        "functionName": "orders-fn", "functionVersion": "$LATEST", "instanceMaxMemory": 512 * 1024 * 1024,
    }  # fmt: skip
    start = _records(log)[1]["record"]
    assert start == {"requestId": "req-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders-fn",
                     "version": "$LATEST"}  # fmt: skip
    # ... the cold start's REPORT carries its init, billed with its duration; the warm one's its duration alone
    first, second = read_reports(log)
    assert cold.init_ms is not None
    assert first.init_ms == round(cold.init_ms, 3)
    assert first.billed_ms == math.ceil(round(first.duration_ms + first.init_ms, 6))
    assert (second.init_ms, second.billed_ms) == (None, max(1, math.ceil(second.duration_ms)))
    assert warm.init_ms is None
    assert (first.memory_mb, first.status) == (512, "success")
    # ... and the run's ledger bills each request what its REPORT says
    bills = read_bills(billing)
    assert [(b.request_id, b.billed_ms, b.init_billed) for b in bills] == [
        ("req-1", first.billed_ms, True), ("req-2", second.billed_ms, False),
    ]  # fmt: skip
    assert bills[0].gb_seconds == pytest.approx(first.billed_ms / 1000 * 0.5)


def test_a_function_logging_text_gets_lambda_s_text_lines(tmp_path: Path) -> None:
    workers = WorkerPool(_function(log_format=TEXT), tmp_path, concurrency=1)
    try:
        workers.invoke({}, request_id="req-1")
    finally:
        workers.close()

    lines = (tmp_path / "worker-001.log").read_text().splitlines()
    assert lines[0] == "INIT_START Runtime Version: python:3.14"
    assert "START RequestId: req-1 Version: $LATEST" in lines
    assert "END RequestId: req-1" in lines
    [report] = [line for line in lines if line.startswith("REPORT ")]
    assert re.fullmatch(
        r"REPORT RequestId: req-1\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 512 MB\t"
        r"Max Memory Used: \d+ MB\tInit Duration: [\d.]+ ms",
        report,
    )


def test_a_process_that_dies_mid_invocation_is_a_runtime_exit_error_and_the_next_request_gets_a_fresh_one(
    tmp_path: Path,
) -> None:
    workers = WorkerPool(_function("tests.system.handlers.exit_now", log_format=JSON), tmp_path, concurrency=1)
    try:
        died = workers.invoke({}, request_id="req-1")
        again = workers.invoke({}, request_id="req-2")
    finally:
        workers.close()

    assert (died.outcome, died.payload) == (
        "error",
        {
            "errorType": "Runtime.ExitError",
            "errorMessage": "RequestId: req-1 Error: Runtime exited with error: exit status 3",
        },
    )
    [report] = read_reports(tmp_path / "worker-001.log")
    assert (report.status, report.error_type) == ("error", "Runtime.ExitError")
    assert (again.worker, again.outcome) == (2, "error")  # a fresh environment (which dies too)
    assert again.init_ms is not None


def _responding(size: int) -> dict[str, Any]:
    """An event asking the ``proxy`` handler for a response of ``size`` bytes, as the runtime client posts it."""
    return {"body": json.dumps({"respond_bytes": size})}


def test_a_response_over_lambda_s_limit_is_lambda_s_function_error_and_the_runtime_client_exits_on_it(
    tmp_path: Path,
) -> None:
    # Given a function whose response is one byte over Lambda's limit, then one of exactly the limit
    workers = WorkerPool(_function("tests.system.handlers.proxy"), tmp_path, concurrency=1)
    try:
        refused = workers.invoke(_responding(MAX_RESPONSE_BYTES + 1), request_id="req-1")
        at_limit = workers.invoke(_responding(MAX_RESPONSE_BYTES), request_id="req-2")
    finally:
        workers.close()

    # Then the invoker gets Lambda's function error in place of the response
    assert (refused.outcome, refused.payload) == ("error", RESPONSE_TOO_LARGE)
    # ... the runtime client was answered as Lambda answers it, and its process ended on that answer
    log = (tmp_path / "worker-001.log").read_text()
    marker = "Failed to post handler success response. Http response code: 413. "
    [refusal] = [line.split(marker, 1)[1] for line in log.splitlines() if marker in line]
    assert json.loads(refusal) == ENTITY_TOO_LARGE
    assert "RuntimeError: Failed to post invocation response" in log
    # ... and its REPORT says what Lambda's says then: the runtime exited (not a function error)
    report = read_reports(tmp_path / "worker-001.log")[0]
    assert (report.request_id, report.status, report.error_type) == ("req-1", ERROR, "Runtime.ExitError")
    # ... so the next request starts a fresh environment, and a response of exactly the limit passes
    assert (at_limit.outcome, at_limit.worker) == ("ok", 2)
    assert at_limit.init_ms is not None


# The Runtime API spoken to by hand, as a runtime speaks it


class _Runtime:
    """A runtime of our own on an endpoint: one kept-alive connection, requests made from a thread."""

    def __init__(self, api: RuntimeApi) -> None:
        self.connection = http.client.HTTPConnection(api.address, timeout=10)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def _in_thread(call: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault("answer", call()), daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def test_the_runtime_api_sends_every_lambda_header_with_each_event_and_takes_the_response(tmp_path: Path) -> None:
    api = RuntimeApi()
    runtime = _Runtime(api)
    try:
        # Given a runtime that asks for its next event
        asked = _in_thread(lambda: runtime.call("GET", "/2018-06-01/runtime/invocation/next"))
        assert api.ready(time.monotonic() + 10) is None

        # When an event is handed over with some of Lambda's headers
        api.deliver("req-1", b'{"a": 1}', {"Lambda-Runtime-Deadline-Ms": "1700000000000"}, time.monotonic() + 10)
        asked["thread"].join(10)
        status, headers, body = asked["answer"]

        # Then the runtime gets the event with every header, the absent ones empty
        assert (status, body) == (200, b'{"a": 1}')
        assert {name: headers[name] for name in NEXT_HEADERS} == {
            "Lambda-Runtime-Aws-Request-Id": "req-1", "Lambda-Runtime-Deadline-Ms": "1700000000000",
            "Lambda-Runtime-Invoked-Function-Arn": "", "Lambda-Runtime-Trace-Id": "",
            "Lambda-Runtime-Client-Context": "", "Lambda-Runtime-Cognito-Identity": "",
        }  # fmt: skip
        # ... and its response to another invocation is refused, its own taken with a 202
        posted = _in_thread(lambda: runtime.call("POST", "/2018-06-01/runtime/invocation/other/response", b"{}"))
        with pytest.raises(TimeoutError):
            api.answer("req-1", time.monotonic() + 0.5)
        posted["thread"].join(10)
        assert posted["answer"][0] == 400
        posted = _in_thread(lambda: runtime.call("POST", "/2018-06-01/runtime/invocation/req-1/response", b'{"ok":1}'))
        answer = api.answer("req-1", time.monotonic() + 10)
        posted["thread"].join(10)
        assert (answer.body, answer.is_error, posted["answer"][0]) == (b'{"ok":1}', False, 202)
    finally:
        runtime.connection.close()
        api.close()


def test_the_runtime_api_refuses_a_response_over_lambda_s_limit_and_takes_the_runtime_s_next_request(
    tmp_path: Path,
) -> None:
    api = RuntimeApi()
    runtime = _Runtime(api)

    def invocation(request_id: str) -> None:
        asked = _in_thread(lambda: runtime.call("GET", NEXT))
        api.deliver(request_id, b"{}", {}, time.monotonic() + 10)
        asked["thread"].join(10)
        assert asked["answer"][0] == 200

    def respond(request_id: str, size: int) -> tuple[Any, Any]:
        path = f"/2018-06-01/runtime/invocation/{request_id}/response"
        posted = _in_thread(lambda: runtime.call("POST", path, b"x" * size))
        answer = api.answer(request_id, time.monotonic() + 10)
        posted["thread"].join(10)
        return posted["answer"], answer

    try:
        # Given an invocation whose runtime posts a response one byte over Lambda's limit
        invocation("req-1")
        (status, _, body), answer = respond("req-1", MAX_RESPONSE_BYTES + 1)

        # Then the runtime gets the 413 of Lambda's Runtime API, and the invoker Lambda's function error
        assert (status, json.loads(body)) == (413, ENTITY_TOO_LARGE)
        assert (answer.error_type, json.loads(answer.body)) == ("Function.ResponseSizeTooLarge", RESPONSE_TOO_LARGE)
        # ... and the response counts as sent: a runtime that goes on gets its next event (the
        # environment is reused), and a response of exactly the limit is taken
        invocation("req-2")
        (status, _, _), answer = respond("req-2", MAX_RESPONSE_BYTES)
        assert (status, answer.is_error, len(answer.body)) == (202, False, MAX_RESPONSE_BYTES)
    finally:
        runtime.connection.close()
        api.close()


def test_the_runtime_api_takes_an_init_error_and_answers_restore_and_unknown_paths(tmp_path: Path) -> None:
    api = RuntimeApi()
    runtime = _Runtime(api)
    try:
        # A SnapStart runtime's restore/next is answered at once; an unknown path is a 404
        restore = _in_thread(lambda: runtime.call("GET", "/2018-06-01/runtime/restore/next"))
        with pytest.raises(TimeoutError):
            api.ready(time.monotonic() + 0.5)
        restore["thread"].join(10)
        assert restore["answer"][0] == 200
        unknown = _in_thread(lambda: runtime.call("GET", "/2018-06-01/runtime/nothing"))
        with pytest.raises(TimeoutError):
            api.ready(time.monotonic() + 0.5)
        unknown["thread"].join(10)
        assert unknown["answer"][0] == 404

        # An init that fails is reported with its error type
        headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"}
        failed = _in_thread(
            lambda: runtime.call("POST", "/2018-06-01/runtime/init/error", b'{"errorType":"x"}', headers)
        )
        outcome = api.ready(time.monotonic() + 10)
        failed["thread"].join(10)
        assert outcome == InitError("Runtime.ImportModuleError", b'{"errorType":"x"}')
        assert failed["answer"][0] == 202
    finally:
        runtime.connection.close()
        api.close()


def test_a_snapstart_init_ends_at_its_restore_next_and_a_restore_error_ends_a_restore(tmp_path: Path) -> None:
    api = RuntimeApi()
    runtime = _Runtime(api)
    try:
        # A SnapStart runtime's restore/next, after its init and before-snapshot hooks, is the snapshot point
        asked = _in_thread(lambda: runtime.call("GET", "/2018-06-01/runtime/restore/next"))
        assert api.snapshot_point(time.monotonic() + 10) is None
        asked["thread"].join(10)
        assert asked["answer"][0] == 200
        assert api.restore_asked_at is not None  # when it resumed: a restored runtime's billed restore counts from it
        # A restored runtime whose after-restore hook fails posts restore/error: the restore failed, with its type
        headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.AfterRestoreError"}
        failed = _in_thread(
            lambda: runtime.call("POST", "/2018-06-01/runtime/restore/error", b'{"errorType":"x"}', headers)
        )
        outcome = api.ready(time.monotonic() + 10)
        failed["thread"].join(10)
        assert outcome == InitError("Runtime.AfterRestoreError", b'{"errorType":"x"}', "restore")
        assert failed["answer"][0] == 202
    finally:
        runtime.connection.close()
        api.close()


def test_the_runtime_api_tells_a_runtime_that_left_from_one_that_is_busy(tmp_path: Path) -> None:
    alive = {"yes": True}
    api = RuntimeApi(alive=lambda: alive["yes"])
    try:
        # A busy runtime: no request yet, the process alive
        with pytest.raises(TimeoutError):
            api.ready(time.monotonic() + 0.3)
        # A runtime whose process ended before it called
        alive["yes"] = False
        with pytest.raises(RuntimeExitError):
            api.ready(time.monotonic() + 10)
    finally:
        api.close()
