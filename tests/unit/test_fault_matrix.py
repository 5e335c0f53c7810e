"""The fault matrix: every dependency call x fault kind x transient / persistent.

Each row injects the fault with the chaos injector on the function's real clients and checks
the HTTP status and problem, the log line, the metric, the attempts made, the time bound,
and what the table and the queue hold afterwards. Run with ``tox -e fault``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from create_order.adapters.clients import MAX_ATTEMPTS
from create_order.deadline import API_GATEWAY_TIMEOUT_S, RESPONSE_RESERVE_S
from harness.lambda_context import FakeLambdaContext
from tests.support.events import api_event
from tests.support.faults import SdkFault
from tests.unit.conftest import Backend

pytestmark = pytest.mark.fault
BUDGET_S = API_GATEWAY_TIMEOUT_S - RESPONSE_RESERVE_S


@dataclass(frozen=True)
class Call:
    dependency: str
    client: str
    operation: str


PRODUCTS = Call("ProductsTable", "dynamodb", "BatchGetItem")
ORDERS = Call("OrdersTable", "dynamodb", "PutItem")
QUEUE = Call("ProcessingQueue", "sqs", "SendMessage")

# (kind, code, does botocore's standard mode retry it?)
DYNAMODB_FAULTS = [
    ("error", "ProvisionedThroughputExceededException", True),
    ("error", "RequestLimitExceeded", True),
    ("error", "InternalServerError", True),
    ("error", "TransactionConflictException", False),
    ("connection", "", True),
    ("read-timeout", "", True),
]
SQS_FAULTS = [
    ("error", "RequestThrottled", True),
    ("error", "KmsThrottled", False),
    ("error", "InternalError", True),
    ("error", "ServiceUnavailable", True),
    ("error", "AccessDenied", False),
    ("error", "QueueDoesNotExist", False),
    ("connection", "", True),
    ("read-timeout", "", True),
]
ROWS = [
    pytest.param(call, kind, code, retried, persistent, id=f"{call.operation}-{kind}-{code or kind}-{mode}")
    for call, faults in ((PRODUCTS, DYNAMODB_FAULTS), (ORDERS, DYNAMODB_FAULTS), (QUEUE, SQS_FAULTS))
    for kind, code, retried in faults
    for persistent, mode in ((False, "transient"), (True, "persistent"))
]


def _expected_code(kind: str, code: str) -> str:
    return code or {"connection": "EndpointConnectionError", "read-timeout": "ReadTimeoutError"}[kind]


@pytest.mark.parametrize(("call", "kind", "code", "retried", "persistent"), ROWS)
def test_fault(backend: Backend, invoke, output, call: Call, kind: str, code: str, retried: bool, persistent: bool):
    # Given the fault on every attempt (persistent) or on the first only (transient)
    client = getattr(backend, call.client)
    fault = SdkFault(client, call.operation, kind=kind, code=code, times=None if persistent else 1)

    # When an order is posted
    started = time.monotonic()
    response = invoke(api_event())
    elapsed = time.monotonic() - started

    written = output()
    failures = [log for log in written.logs if log["message"] == "dependency failed"]
    recovers = retried and not persistent
    # Then: the answer comes inside the deadline, after exactly the attempts the retry policy allows
    assert elapsed < BUDGET_S
    assert fault.attempts == (2 if recovers else MAX_ATTEMPTS if retried else 1)
    if recovers:
        assert response.status == 201
        assert failures == []
        assert "DependencyFailures" not in written.metric_names()
        assert [o["id"] for o in backend.orders()] == [response.body["id"]]
        assert [m["order_id"] for m in backend.message_bodies()] == [response.body["id"]]
        return
    # ... or it is a 500 naming the dependency, logged with the AWS code, and counted
    assert response.status == 500
    assert response.body["type"] == "urn:problem-type:create-order:dependency-failure"
    assert response.body["dependency"] == call.dependency
    assert "Traceback" not in response.raw
    [failure] = failures
    assert failure["dependency"] == call.dependency
    assert failure["error_code"] == _expected_code(kind, code)
    dimensions = [blob.get("Dependency") for blob in written.emf if "DependencyFailures" in blob]
    assert call.dependency in dimensions
    # ... and the table and the queue hold exactly what happened before the failure
    if call is QUEUE:
        [stored] = backend.orders()
        assert response.body["order_id"] == stored["id"]
        assert "OrdersNotQueued" in written.metric_names()
    else:
        assert backend.orders() == []
        assert "order_id" not in response.body
    assert backend.messages() == []


def test_both_dependencies_down(backend: Backend, invoke) -> None:
    # Given the orders table and the queue both failing
    put = SdkFault(backend.dynamodb, "PutItem", kind="connection")
    send = SdkFault(backend.sqs, "SendMessage", kind="connection")

    response = invoke(api_event())

    # Then the first failure answers; the queue is never tried
    assert response.status == 500
    assert response.body["dependency"] == "OrdersTable"
    assert put.attempts == MAX_ATTEMPTS
    assert send.attempts == 0
    assert backend.orders() == []


def test_dependency_slower_than_the_remaining_time_is_cut_off_by_the_deadline(backend: Backend, invoke) -> None:
    # Given 8 s left in the invocation (6 s budget) and every PutItem attempt hanging 2.5 s
    fault = SdkFault(backend.dynamodb, "PutItem", kind="read-timeout", delay_s=2.5)

    started = time.monotonic()
    response = invoke(api_event(), FakeLambdaContext(timeout_ms=8_000))
    elapsed = time.monotonic() - started

    # Then retries stop when another one could outlive the deadline, and the answer is in time
    assert response.status == 500
    assert response.body["dependency"] == "OrdersTable"
    assert fault.attempts < MAX_ATTEMPTS
    assert elapsed < 8.0 - 2.0


def test_retry_quota_drains_under_a_persistent_fault_and_calls_fail_fast(backend: Backend, invoke) -> None:
    # Given PutItem failing with a 500 on every attempt, for many requests in one environment
    fault = SdkFault(backend.dynamodb, "PutItem", code="InternalServerError")
    attempts_per_request = []
    for n in range(70):
        before = fault.attempts
        response = invoke(api_event(headers={"Idempotency-Key": f"quota-{n}"}))
        assert response.status == 500
        attempts_per_request.append(fault.attempts - before)

    # Then the first requests retry, and once botocore's retry quota is spent they no longer do
    assert attempts_per_request[0] == MAX_ATTEMPTS
    assert attempts_per_request[-1] == 1
    assert backend.orders() == []
