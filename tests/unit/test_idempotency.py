"""409: one order per (customer, Idempotency-Key), however often or concurrently it is sent."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from moto.dynamodb.models import DynamoDBBackend

from create_order import handler
from harness.lambda_context import FakeLambdaContext
from tests.support.events import UNSET, api_event, order_body
from tests.unit.conftest import Backend, Response

DUPLICATE = "urn:problem-type:create-order:duplicate-request"
REUSED = "urn:problem-type:create-order:idempotency-key-reused"


def test_repeat_with_same_key_and_payload_is_409_with_the_existing_order(backend: Backend, invoke, output) -> None:
    # Given an order created with a key
    first = invoke(api_event())
    assert first.status == 201

    # When the same request is sent again
    repeat = invoke(api_event())

    # Then it is a duplicate carrying the existing order, and no second order exists
    assert repeat.status == 409
    assert repeat.body["type"] == DUPLICATE
    assert repeat.body["detail"] == (
        "An order was already created for this Idempotency-Key with the same payload; it is returned in 'order'."
    )
    assert repeat.body["order"] == first.body
    assert repeat.headers["Location"] == f"/orders/{first.body['id']}"
    assert len(backend.orders()) == 1
    # ... and the order was sent to the queue again (at least once: consumers de-duplicate)
    assert [m["order_id"] for m in backend.message_bodies()] == [first.body["id"]] * 2
    assert "DuplicateRequests" in output().metric_names()


def test_a_duplicate_is_a_problem_for_this_request_counted_once_and_logged_with_its_order(
    backend: Backend, invoke, output
) -> None:
    first = invoke(api_event())
    event = api_event()

    repeat = invoke(event)

    assert repeat.headers["Content-Type"] == "application/problem+json"
    assert repeat.body["request_id"] == event["requestContext"]["requestId"]
    written = output()
    assert written.metric_values("DuplicateRequests") == [[1.0]]
    [line] = [log for log in written.logs if log["message"] == "duplicate request; order re-queued"]
    assert line["order_id"] == first.body["id"]


def test_a_reused_key_is_a_problem_for_this_request_counted_once(backend: Backend, invoke, output) -> None:
    invoke(api_event())
    event = api_event(order_body(items=[{"product_id": "P-200", "quantity": 1}]))

    reuse = invoke(event)

    assert reuse.headers["Content-Type"] == "application/problem+json"
    assert reuse.body["request_id"] == event["requestContext"]["requestId"]
    assert output().metric_values("IdempotencyKeyReused") == [[1.0]]


def test_a_repeat_shows_the_order_as_it_is_stored_now(backend: Backend, invoke) -> None:
    # Given an order created with a key, which the processing service has moved on since
    first = invoke(api_event())
    backend.dynamodb.update_item(
        TableName=backend.settings.orders_table,
        Key={"id": {"S": first.body["id"]}},
        UpdateExpression="SET #status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": {"S": "shipped"}},
    )

    # When the same request is sent again
    repeat = invoke(api_event())

    # Then the duplicate carries the order with its stored status
    assert repeat.status == 409
    assert repeat.body["order"] == {**first.body, "status": "shipped"}


def test_a_repeat_of_an_order_without_an_address_is_a_duplicate(backend: Backend, invoke) -> None:
    body = order_body(shipping_address=UNSET)
    first = invoke(api_event(body))

    repeat = invoke(api_event(body))

    assert (first.status, repeat.status) == (201, 409)
    assert repeat.body["order"] == first.body
    assert repeat.body["order"]["shipping_address"] is None


def test_same_payload_with_items_in_another_order_is_a_duplicate(backend: Backend, invoke) -> None:
    items = [{"product_id": "P-100", "quantity": 2}, {"product_id": "P-200", "quantity": 1}]
    invoke(api_event(order_body(items=items)))

    repeat = invoke(api_event(order_body(items=list(reversed(items)))))

    assert repeat.status == 409
    assert repeat.body["type"] == DUPLICATE


@pytest.mark.parametrize(
    "change",
    [
        {"items": [{"product_id": "P-100", "quantity": 3}]},
        {"shipping_address": None},
        {
            "shipping_address": {
                "name": "B",
                "line1": "2 St",
                "city": "C",
                "postal_code": "9",
                "country": "DE",
            }
        },
    ],
)
def test_same_key_with_another_payload_is_409_key_reused(backend: Backend, invoke, change) -> None:
    first = invoke(api_event())

    reuse = invoke(api_event(order_body(**change)))

    assert reuse.status == 409
    assert reuse.body["type"] == REUSED
    assert "order" not in reuse.body
    [stored] = backend.orders()
    assert stored["id"] == first.body["id"]
    assert stored["total"] == Decimal("44.98")
    assert len(backend.messages()) == 1


def test_key_reused_tells_the_client_to_use_a_new_key_and_logs_the_existing_order(
    backend: Backend, invoke, output
) -> None:
    # Given an order created with a key
    first = invoke(api_event())

    # When the key comes back with another payload
    reuse = invoke(api_event(order_body(items=[{"product_id": "P-200", "quantity": 1}])))

    # Then the problem says what to do, and the log line names the order the key belongs to
    assert reuse.body["detail"] == (
        "This Idempotency-Key was already used by this customer for a different payload; use a new key for a new order."
    )
    written = output()
    [line] = [log for log in written.logs if log["message"] == "idempotency key reused with another payload"]
    assert line["order_id"] == first.body["id"]
    assert "IdempotencyKeyReused" in written.metric_names()


def test_keys_are_scoped_per_customer(backend: Backend, invoke) -> None:
    alice = invoke(api_event())
    bob_claims = {"sub": "s-bob", "custom:customer_id": "cust-bob"}

    bob = invoke(api_event(order_body(customer_id="cust-bob"), claims=bob_claims))

    assert alice.status == bob.status == 201
    assert alice.body["id"] != bob.body["id"]
    assert len(backend.orders()) == 2


@pytest.fixture
def atomic_moto_put(monkeypatch: pytest.MonkeyPatch) -> None:
    # DynamoDB evaluates a condition and writes atomically; in-process moto does not lock, so
    # give it the guarantee the real service has before racing threads against it.
    lock = threading.Lock()
    original = DynamoDBBackend.put_item

    def put_item(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)


def test_concurrent_duplicates_create_one_order(backend: Backend, atomic_moto_put) -> None:
    # Given 16 identical requests released at the same moment, each in its own thread (the
    # Powertools stack is left out: it assumes one invocation per process, as in Lambda)
    endpoint = handler.build_endpoint(backend.settings, clients=(backend.dynamodb, backend.sqs))
    barrier = threading.Barrier(16)

    def send(_: int) -> Response:
        barrier.wait()
        result = endpoint.handle(api_event(), FakeLambdaContext())
        return Response(result["statusCode"], result["headers"], json.loads(result["body"]), result["body"])

    # When they run concurrently
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(send, range(16)))

    # Then exactly one created the order; the others got it back as duplicates
    statuses = sorted(response.status for response in responses)
    assert statuses == [201] + [409] * 15
    [created] = [r for r in responses if r.status == 201]
    assert all(r.body["order"]["id"] == created.body["id"] for r in responses if r.status == 409)
    assert [order["id"] for order in backend.orders()] == [created.body["id"]]
    assert {m["order_id"] for m in backend.message_bodies()} == {created.body["id"]}
