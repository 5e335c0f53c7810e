"""500: DynamoDB and SQS failures, retried within bounds, never lose or hide an order."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from create_order import deadline, handler
from create_order.adapters import dynamodb
from create_order.adapters.clients import MAX_ATTEMPTS, dependency_failure
from create_order.adapters.dynamodb import UNPROCESSED_KEYS_ATTEMPTS, DynamoDBProductCatalog
from create_order.errors import DependencyError
from create_order.logic import order_id_for
from harness.lambda_context import FakeLambdaContext
from tests.support.events import api_event, order_body
from tests.support.faults import CallRecorder, LostResponse, SdkFault
from tests.unit.conftest import Backend

FAILURE = "urn:problem-type:create-order:dependency-failure"


def dependency_failures(output) -> list[str]:
    return [blob["Dependency"] for blob in output().emf if "Dependency" in blob and "DependencyFailures" in blob]


@pytest.mark.parametrize(
    ("kind", "code"),
    [("error", "ProvisionedThroughputExceededException"), ("error", "InternalServerError"), ("connection", "")],
)
def test_orders_table_failing_is_500_with_nothing_stored_or_queued(
    backend: Backend, invoke, output, kind, code
) -> None:
    # Given PutItem fails on every attempt
    fault = SdkFault(backend.dynamodb, "PutItem", kind=kind, code=code)

    # When an order is posted
    response = invoke(api_event())

    # Then it is a 500 naming the orders table, after the bounded number of attempts
    assert response.status == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.body["type"] == FAILURE
    assert (response.body["title"], response.body["status"]) == ("Dependency failure", 500)
    assert response.body["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert response.body["dependency"] == "OrdersTable"
    assert "order_id" not in response.body
    assert "Traceback" not in response.raw
    assert fault.attempts == MAX_ATTEMPTS
    assert backend.orders() == []
    assert backend.messages() == []
    assert dependency_failures(output) == ["OrdersTable"]
    assert response.body["detail"] == "The order could not be stored. Retry later."


def test_queue_failing_after_the_put_is_500_with_the_order_id(backend: Backend, invoke, output) -> None:
    # Given SendMessage fails on every attempt
    fault = SdkFault(backend.sqs, "SendMessage", code="ServiceUnavailable")

    # When an order is posted
    response = invoke(api_event())

    # Then the client learns the order was stored but not queued, and which order it is
    assert response.status == 500
    assert response.body["dependency"] == "ProcessingQueue"
    [stored] = backend.orders()
    assert response.body["order_id"] == stored["id"]
    assert backend.messages() == []
    assert fault.attempts == MAX_ATTEMPTS
    written = output()
    assert "OrdersNotQueued" in written.metric_names()
    [failure] = [log for log in written.logs if log["message"] == "dependency failed"]
    assert failure["dependency"] == "ProcessingQueue"
    assert failure["order_id"] == stored["id"]
    assert failure["error_code"] == "ServiceUnavailable"
    assert failure["reason"] == "ProcessingQueue failed (ServiceUnavailable)"


@pytest.mark.fault  # also a row of the fault matrix (tox -e fault): the heal path
def test_retry_with_the_same_key_heals_an_order_that_was_not_queued(backend: Backend, invoke) -> None:
    # Given an order that was stored but whose message was lost to a queue outage
    fault = SdkFault(backend.sqs, "SendMessage", code="KmsThrottled")
    failed = invoke(api_event())
    assert failed.status == 500
    fault.remove()

    # When the client retries with the same key
    retry = invoke(api_event())

    # Then it gets the order as a duplicate, and the order is now queued
    assert retry.status == 409
    assert retry.body["order"]["id"] == failed.body["order_id"]
    assert [m["order_id"] for m in backend.message_bodies()] == [failed.body["order_id"]]
    assert len(backend.orders()) == 1


def test_duplicate_whose_requeue_fails_is_500_so_the_client_retries(backend: Backend, invoke) -> None:
    created = invoke(api_event())
    SdkFault(backend.sqs, "SendMessage", code="RequestThrottled")

    repeat = invoke(api_event())

    assert repeat.status == 500
    assert repeat.body["order_id"] == created.body["id"]


def test_transient_throttling_is_retried_and_succeeds(backend: Backend, invoke) -> None:
    # Given the first PutItem attempt is throttled and SendMessage fails once
    put = SdkFault(backend.dynamodb, "PutItem", code="ThrottlingException", times=1)
    send = SdkFault(backend.sqs, "SendMessage", code="InternalError", times=1)

    response = invoke(api_event())

    assert response.status == 201
    assert (put.attempts, send.attempts) == (2, 2)
    assert len(backend.orders()) == 1
    assert len(backend.messages()) == 1


def test_put_retried_after_a_lost_response_is_not_mistaken_for_a_duplicate(backend: Backend, invoke) -> None:
    # Given the first PutItem reaches the table but its response is lost (read timeout)
    fault = LostResponse(backend.dynamodb, "PutItem", times=1)

    # When an order is posted (botocore retries the put, which now fails its condition)
    response = invoke(api_event())

    # Then the client gets its 201: the conflicting item is this request's own write
    assert response.status == 201
    assert fault.attempts == 2
    assert len(backend.orders()) == 1
    assert len(backend.messages()) == 1


def test_a_failure_is_counted_once_in_total_and_per_dependency_and_an_unqueued_order_once(
    backend: Backend, invoke, output
) -> None:
    # Given the queue refusing every send
    SdkFault(backend.sqs, "SendMessage", code="ServiceUnavailable")

    # When an order is posted (stored, not queued)
    response = invoke(api_event())

    # Then one failure is counted for the queue, one in total, and one order not queued
    assert response.body["detail"] == (
        "The order was stored but could not be queued; retry with the same Idempotency-Key. Retry later."
    )
    blobs = output().emf
    [per_dependency] = [blob for blob in blobs if "Dependency" in blob and "DependencyFailures" in blob]
    assert (per_dependency["Dependency"], per_dependency["DependencyFailures"]) == ("ProcessingQueue", [1.0])
    [service] = [blob for blob in blobs if "OrdersNotQueued" in blob]
    assert (service["DependencyFailures"], service["OrdersNotQueued"]) == ([1.0], [1.0])


def test_an_sdk_error_without_a_code_is_named_unknown() -> None:
    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "PutItem")

    failure = dependency_failure("OrdersTable", error)

    assert (failure.dependency, failure.code, failure.detail) == (
        "OrdersTable",
        "Unknown",
        "OrdersTable failed (Unknown)",
    )


def test_an_unreadable_stored_order_is_500_naming_the_orders_table(backend: Backend, invoke, output) -> None:
    # Given an item under the id the request's key derives, that this function did not write
    order_id = order_id_for("cust-alice", api_event()["headers"]["Idempotency-Key"])
    backend.dynamodb.put_item(
        TableName=backend.settings.orders_table, Item={"id": {"S": order_id}, "customer_id": {"S": "cust-alice"}}
    )

    # When the request is posted
    response = invoke(api_event())

    # Then it is a 500 naming the orders table, logged with why
    assert response.status == 500
    assert response.body["dependency"] == "OrdersTable"
    assert response.body["detail"] == "The order could not be stored. Retry later."
    [failure] = [log for log in output().logs if log["message"] == "dependency failed"]
    assert (failure["dependency"], failure["error_code"]) == ("OrdersTable", "BadOrderItem")
    assert failure["reason"] == "OrdersTable holds an unreadable order"
    assert backend.messages() == []


def _put_product(backend: Backend, product_id: str, **attributes: dict[str, object]) -> None:
    backend.dynamodb.put_item(
        TableName=backend.settings.products_table, Item={"product_id": {"S": product_id}, **attributes}
    )


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"currency": {"S": "USD"}, "active": {"BOOL": True}}, id="no-price"),
        pytest.param({"price": {"N": "-0.01"}, "currency": {"S": "USD"}, "active": {"BOOL": True}}, id="negative"),
        pytest.param({"price": {"N": "1.00"}, "currency": {"S": "usd"}, "active": {"BOOL": True}}, id="bad-currency"),
        pytest.param({"price": {"N": "1.00"}, "active": {"BOOL": True}}, id="no-currency"),
    ],
)
def test_a_catalog_entry_without_a_usable_price_or_currency_is_500_naming_it(
    backend: Backend, invoke, output, attributes
) -> None:
    # Given a catalog entry that cannot be priced
    _put_product(backend, "P-BAD", **attributes)

    # When it is ordered
    response = invoke(api_event(order_body(items=[{"product_id": "P-BAD", "quantity": 1}])))

    # Then it is the catalog's failure, logged with which entry
    assert response.status == 500
    assert response.body["dependency"] == "ProductsTable"
    [failure] = [log for log in output().logs if log["message"] == "dependency failed"]
    assert (failure["dependency"], failure["error_code"]) == ("ProductsTable", "BadProduct")
    assert failure["reason"] == "product 'P-BAD' has no usable price or currency"
    assert backend.orders() == []


def test_a_free_product_can_be_ordered(backend: Backend, invoke) -> None:
    _put_product(backend, "P-FREE", price={"N": "0"}, currency={"S": "USD"}, active={"BOOL": True})

    response = invoke(api_event(order_body(items=[{"product_id": "P-FREE", "quantity": 3}])))

    assert response.status == 201
    assert response.body["total"] == 0


def test_a_catalog_entry_without_an_active_flag_is_not_available(backend: Backend, invoke) -> None:
    _put_product(backend, "P-NEW", price={"N": "1.00"}, currency={"S": "USD"})

    response = invoke(api_event(order_body(items=[{"product_id": "P-NEW", "quantity": 1}])))

    assert response.status == 400
    assert response.body["errors"] == [
        {"field": "items[0].product_id", "code": "inactive_product", "detail": "The product is not available"}
    ]


def test_a_price_is_reused_for_30_s_and_not_a_moment_longer(backend: Backend) -> None:
    # Given a catalog on a clock the test moves
    now = [100.0]
    catalog = DynamoDBProductCatalog(backend.dynamodb, backend.settings.products_table, clock=lambda: now[0])
    recorder = CallRecorder(backend.dynamodb)
    calls = []

    # When a product is read, then just before and exactly at the end of its 30 s
    for at in (100.0, 129.999, 130.0):
        now[0] = at
        catalog.get_products(["P-100"])
        calls.append(recorder.calls.count("dynamodb:BatchGetItem"))

    # Then the table is read again only once the 30 s are over
    assert calls == [1, 1, 2]


def test_the_price_cache_is_emptied_when_it_would_outgrow_its_bound(backend: Backend, monkeypatch) -> None:
    # Given a catalog cache bounded to two products
    monkeypatch.setattr(dynamodb, "PRODUCT_CACHE_MAX_ENTRIES", 2)
    catalog = DynamoDBProductCatalog(backend.dynamodb, backend.settings.products_table)
    recorder = CallRecorder(backend.dynamodb)
    calls = []

    # When products are read one by one, one more than the bound, then the first again
    for product_id in ("P-100", "P-200", "P-100", "P-HALF", "P-100"):
        catalog.get_products([product_id])
        calls.append(recorder.calls.count("dynamodb:BatchGetItem"))

    # Then two are kept, and the third empties the cache before it is kept
    assert calls == [1, 2, 2, 3, 4]


def test_products_table_failing_is_500_naming_it(backend: Backend, invoke, output) -> None:
    fault = SdkFault(backend.dynamodb, "BatchGetItem", code="RequestLimitExceeded")

    response = invoke(api_event())

    assert response.status == 500
    assert response.body["dependency"] == "ProductsTable"
    assert fault.attempts == MAX_ATTEMPTS
    assert backend.orders() == []
    assert dependency_failures(output) == ["ProductsTable"]


def test_unprocessed_product_keys_are_retried(backend: Backend, invoke) -> None:
    fault = SdkFault(backend.dynamodb, "BatchGetItem", kind="unprocessed-keys", times=2)

    response = invoke(api_event())

    assert response.status == 201
    assert fault.attempts == 3
    assert response.body["total"] == 44.98


def test_keys_left_unprocessed_through_every_attempt_are_500(backend: Backend, invoke, output) -> None:
    fault = SdkFault(backend.dynamodb, "BatchGetItem", kind="unprocessed-keys")

    response = invoke(api_event())

    assert response.status == 500
    assert response.body["dependency"] == "ProductsTable"
    assert fault.attempts == UNPROCESSED_KEYS_ATTEMPTS
    assert backend.orders() == []
    [failure] = [log for log in output().logs if log["message"] == "dependency failed"]
    assert failure["error_code"] == "UnprocessedKeys"
    assert failure["reason"] == f"ProductsTable left keys unprocessed after {UNPROCESSED_KEYS_ATTEMPTS} attempts"


def test_unprocessed_keys_are_retried_after_a_jitter_that_doubles(backend: Backend, monkeypatch) -> None:
    # Given a catalog whose keys stay unprocessed, and a jitter that draws the middle of its range
    monkeypatch.setattr(dynamodb.JITTER, "uniform", lambda low, high: (low + high) / 2)
    sleeps: list[float] = []
    catalog = DynamoDBProductCatalog(backend.dynamodb, backend.settings.products_table, sleep=sleeps.append)
    SdkFault(backend.dynamodb, "BatchGetItem", kind="unprocessed-keys")

    # When products are read
    with pytest.raises(DependencyError):
        catalog.get_products(["P-100"])

    # Then each retry waited a full jitter of up to 50 ms x 2^attempt (here its middle)
    assert sleeps == [0.05, 0.1, 0.2]


def test_unprocessed_keys_back_off_without_sleeping_past_the_deadline(backend: Backend, monkeypatch) -> None:
    # Given keys that stay unprocessed, a 50 ms jitter, and 30 ms left once the first answer is in
    monkeypatch.setattr(dynamodb.JITTER, "uniform", lambda low, high: (low + high) / 2)
    sleeps: list[float] = []
    catalog = DynamoDBProductCatalog(backend.dynamodb, backend.settings.products_table, sleep=sleeps.append)
    SdkFault(backend.dynamodb, "BatchGetItem", kind="unprocessed-keys")

    def spend_the_deadline(**_) -> None:
        deadline.start(deadline.Deadline(time.monotonic() + 0.03))

    backend.dynamodb.meta.events.register("after-call.dynamodb.BatchGetItem", spend_the_deadline)
    token = deadline.start(deadline.Deadline(time.monotonic() + 60))
    try:
        # When products are read
        with pytest.raises(DependencyError) as caught:
            catalog.get_products(["P-100"])
    finally:
        deadline.finish(token)
        backend.dynamodb.meta.events.unregister("after-call.dynamodb.BatchGetItem", spend_the_deadline)

    # Then the back-off did not wait, and the next call was refused for want of time
    assert sleeps == [0.0]
    assert caught.value.code == "DeadlineExceeded"


def test_catalog_prices_are_cached_between_invocations(backend: Backend, invoke) -> None:
    from tests.support.faults import CallRecorder

    recorder = CallRecorder(backend.dynamodb)
    invoke(api_event(headers={"Idempotency-Key": "k1"}))
    invoke(api_event(headers={"Idempotency-Key": "k2"}))

    assert recorder.calls.count("dynamodb:BatchGetItem") == 1


def test_no_call_is_started_without_time_for_one_attempt(backend: Backend, invoke) -> None:
    # Given an invocation with 5 s left: minus the 2 s response reserve, 3 s < one attempt (4 s)
    fault = SdkFault(backend.dynamodb, "BatchGetItem", times=0)

    response = invoke(api_event(), FakeLambdaContext(timeout_ms=5_000))

    # Then the function answers at once instead of running past API Gateway's limit
    assert response.status == 500
    assert response.body["dependency"] == "ProductsTable"
    assert fault.attempts == 0
    assert backend.orders() == []


@pytest.mark.parametrize(
    ("spent_after", "refused", "stored"),
    [("BatchGetItem", "OrdersTable", False), ("PutItem", "ProcessingQueue", True)],
)
def test_a_call_without_time_for_one_attempt_is_refused_naming_its_dependency(
    backend: Backend, invoke, output, spent_after: str, refused: str, stored: bool
) -> None:
    # Given an invocation whose time runs out once an earlier call has answered
    def spend_the_deadline(**_) -> None:
        deadline.start(deadline.Deadline(time.monotonic() + 1))

    client = backend.dynamodb
    client.meta.events.register(f"after-call.dynamodb.{spent_after}", spend_the_deadline)

    # When an order is posted
    response = invoke(api_event())

    # Then the next call is not started, and the 500 names its dependency
    assert response.status == 500
    assert response.body["dependency"] == refused
    assert (len(backend.orders()) == 1) is stored
    assert backend.messages() == []
    [failure] = [log for log in output().logs if log["message"] == "dependency failed"]
    assert (failure["dependency"], failure["error_code"]) == (refused, "DeadlineExceeded")
    assert failure["reason"] == f"Not enough time left in this request to call {refused}"


def test_an_endpoint_built_without_clients_makes_its_own(backend: Backend) -> None:
    # As the handler's import does in Lambda: the clients come from the environment
    endpoint = handler.build_endpoint(backend.settings)

    result = endpoint.handle(api_event(), FakeLambdaContext())

    assert result["statusCode"] == 201
    assert [order["id"] for order in backend.orders()] == [json.loads(result["body"])["id"]]


def test_a_dependency_without_a_sentence_of_its_own_answers_with_the_rows(
    backend: Backend, invoke, output, monkeypatch
) -> None:
    from create_order import logic

    # Given a failure of a dependency the outcome table has no sentence for
    def fails(*_args, **_kwargs):
        raise DependencyError("FraudCheck", "FraudCheck failed (Timeout)", code="Timeout")

    monkeypatch.setattr(logic, "request_hash", fails)

    response = invoke(api_event())

    # Then it answers as a dependency failure, naming it, with the dependency row's own detail
    assert response.status == 500
    assert response.body["type"] == FAILURE
    assert response.body["dependency"] == "FraudCheck"
    assert response.body["detail"] == "A dependency failed. Retry later."
    assert dependency_failures(output) == ["FraudCheck"]


def test_unhandled_bug_is_a_500_problem_without_a_stack_trace(backend: Backend, invoke, output, monkeypatch) -> None:
    from create_order import logic

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(logic, "request_hash", broken)
    event = api_event()

    response = invoke(event)

    assert response.status == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.body == {
        "type": "urn:problem-type:create-order:internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "The order could not be created because of an internal error",
        "request_id": event["requestContext"]["requestId"],
    }
    assert "ZeroDivisionError" not in response.raw
    written = output()
    assert written.metric_values("UnhandledErrors") == [[1.0]]
    [line] = [log for log in written.logs if log["message"] == "unhandled error"]
    assert line["level"] == "ERROR"
