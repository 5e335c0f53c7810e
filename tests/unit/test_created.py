"""201: a valid order is priced from the catalog, stored once, queued, and returned."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from decimal import Decimal

import pytest

from create_order import handler
from create_order.logic import ORDER_ID_NAMESPACE
from harness.lambda_context import FakeLambdaContext
from tests.support.events import UNSET, api_event, order_body
from tests.unit.conftest import Backend, create_backend, make_invoke

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_valid_order_is_stored_queued_and_returned(backend: Backend, invoke, output) -> None:
    # Given the recorded request: 2 x P-100 at 19.99 and 1 x P-200 at 5.00, with a key
    event = api_event()

    # When it is posted
    response = invoke(event)

    # Then it is created, priced from the catalog, and points at itself
    assert response.status == 201
    order = response.body
    assert response.headers["Location"] == f"/orders/{order['id']}"
    assert response.headers["Content-Type"] == "application/json"
    assert order["status"] == "pending"
    assert order["customer_id"] == "cust-alice"
    assert order["items"] == [
        {"product_id": "P-100", "quantity": 2, "unit_price": 19.99, "line_total": 39.98},
        {"product_id": "P-200", "quantity": 1, "unit_price": 5.0, "line_total": 5.0},
    ]
    assert order["total"] == 44.98
    assert order["currency"] == "USD"
    assert order["shipping_address"]["country"] == "US"
    assert RFC3339_UTC.fullmatch(order["created_at"])
    # ... the table holds exactly that order with the total the client was shown
    [stored] = backend.orders()
    assert stored["id"] == order["id"]
    assert stored["total"] == Decimal("44.98")
    assert stored["idempotency_key"] == event["headers"]["Idempotency-Key"]
    # ... and the queue holds its OrderCreated event
    [message] = backend.messages()
    assert message["MessageAttributes"]["event_type"]["StringValue"] == "OrderCreated"
    assert backend.message_bodies() == [
        {
            "order_id": order["id"],
            "customer_id": "cust-alice",
            "total": 44.98,
            "currency": "USD",
            "item_count": 2,
            "created_at": order["created_at"],
        }
    ]
    # ... and the owner sees it in the metrics, its value per currency
    assert {"OrdersCreated", "OrderValue", "OrderLines"} <= set(output().metric_names())
    [valued] = [blob for blob in output().emf if "OrderValue" in blob]
    assert (valued["OrderValue"], valued["Currency"], valued["service"]) == (44.98, "USD", "create-order")
    [directive] = valued["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service", "Currency"]]
    assert directive["Metrics"] == [{"Name": "OrderValue", "Unit": "None"}]
    assert valued["_aws"]["Timestamp"] > 0


def test_money_leaves_as_exact_json_numbers(invoke) -> None:
    response = invoke(api_event(order_body(items=[{"product_id": "P-100", "quantity": 3}])))

    assert response.status == 201
    # 3 x 19.99 = 59.97 written from Decimal digits, never through a float repr
    assert '"unit_price":19.99,"line_total":59.97' in response.raw
    assert '"total":59.97' in response.raw


def test_keyed_order_id_is_derived_from_customer_and_key(invoke) -> None:
    response = invoke(api_event(headers={"Idempotency-Key": "key-1"}))

    assert response.body["id"] == str(uuid.uuid5(ORDER_ID_NAMESPACE, "cust-alice:key-1"))


def test_order_without_key_gets_a_random_id_each_time(backend: Backend, invoke) -> None:
    first = invoke(api_event(headers={"Idempotency-Key": None}))
    second = invoke(api_event(headers={"Idempotency-Key": None}))

    assert first.status == second.status == 201
    assert uuid.UUID(first.body["id"]).version == 4
    assert first.body["id"] != second.body["id"]
    assert len(backend.orders()) == 2
    assert len(backend.messages()) == 2


def test_shipping_address_is_optional(backend: Backend, invoke) -> None:
    response = invoke(api_event(order_body(shipping_address=UNSET)))

    assert response.status == 201
    assert response.body["shipping_address"] is None
    assert "shipping_address" not in backend.orders()[0]


@pytest.mark.parametrize(
    ("product_id", "quantity", "line_total", "raw_total"),
    [
        ("P-HALF", 1, 0.12, '"total":0.12'),  # 0.125 rounds half-even down to 0.12
        ("P-HALF", 3, 0.38, '"total":0.38'),  # 0.375 rounds half-even up to 0.38
        ("P-JPY", 2, 2468, '"total":2468,'),  # yen have no minor unit
    ],
)
def test_totals_round_half_even_to_the_minor_unit(invoke, product_id, quantity, line_total, raw_total) -> None:
    response = invoke(api_event(order_body(items=[{"product_id": product_id, "quantity": quantity}])))

    assert response.status == 201
    assert response.body["items"][0]["line_total"] == line_total
    assert raw_total in response.raw


def test_a_yen_line_is_written_without_a_minor_unit(invoke) -> None:
    response = invoke(api_event(order_body(items=[{"product_id": "P-JPY", "quantity": 2}])))

    assert '"line_total":2468}' in response.raw


def test_fifo_queue_groups_by_customer_and_deduplicates_by_order(aws) -> None:
    # Given a FIFO processing queue
    backend = create_backend(fifo=True)
    invoke = make_invoke(backend)

    # When an order is created
    response = invoke(api_event())

    # Then its message is grouped by customer and de-duplicated by order id
    assert response.status == 201
    [message] = backend.messages()
    assert message["Attributes"]["MessageGroupId"] == "cust-alice"
    assert message["Attributes"]["MessageDeduplicationId"] == response.body["id"]


def test_customer_id_falls_back_to_the_subject_claim(backend: Backend, invoke) -> None:
    claims = {"sub": "sub-42"}

    response = invoke(api_event(order_body(customer_id="sub-42"), claims=claims))

    assert response.status == 201
    assert backend.orders()[0]["customer_id"] == "sub-42"


@pytest.mark.parametrize("groups", ["order-admins", "support,order-admins", "[support order-admins]"])
def test_admin_may_order_for_any_customer(backend: Backend, invoke, groups) -> None:
    claims = {"sub": "admin-sub", "custom:customer_id": "admin-1", "cognito:groups": groups}

    response = invoke(api_event(order_body(customer_id="cust-bob"), claims=claims))

    assert response.status == 201
    assert backend.orders()[0]["customer_id"] == "cust-bob"


def test_exactly_16_kib_body_is_accepted(invoke) -> None:
    body = api_event()["body"]
    padded = body + " " * (16 * 1024 - len(body.encode()))

    assert invoke(api_event(raw_body=padded)).status == 201


def test_exactly_16_kib_body_is_accepted_base64_encoded(invoke) -> None:
    body = api_event()["body"]
    padded = body + " " * (16 * 1024 - len(body.encode()))

    assert invoke(api_event(raw_body=padded, base64_encoded=True)).status == 201


def test_base64_body_and_json_charset_are_accepted(invoke) -> None:
    event = api_event(headers={"Content-Type": "application/json; charset=UTF-8"}, base64_encoded=True)

    assert invoke(event).status == 201


def test_logs_carry_the_request_id_and_cold_start_but_not_the_token_or_address(invoke, output) -> None:
    event = api_event()

    invoke(event)

    [created] = [log for log in output().logs if log["message"] == "order created"]
    assert created["correlation_id"] == event["requestContext"]["requestId"]
    assert "cold_start" in created
    assert created["order_id"]
    text = json.dumps(output().logs)
    assert event["headers"]["Authorization"] not in text
    assert "1 Main St" not in text


def test_a_created_order_is_counted_once_with_its_lines_and_logged_with_its_total(invoke, output) -> None:
    # Given the recorded request (two lines, 44.98 USD)
    before_ms = int(time.time() * 1000)

    # When it is created
    response = invoke(api_event())

    # Then the metrics count one order of two lines
    written = output()
    after_ms = int(time.time() * 1000)
    [counted] = [blob for blob in written.emf if "OrdersCreated" in blob]
    assert (counted["OrdersCreated"], counted["OrderLines"]) == ([1.0], [2.0])
    # ... and the "order created" line says whose order, what it came to, and when (epoch ms)
    [created] = [log for log in written.logs if log["message"] == "order created"]
    assert {key: created[key] for key in ("order_id", "customer_id", "total", "currency", "lines")} == {
        "order_id": response.body["id"],
        "customer_id": "cust-alice",
        "total": "44.98",
        "currency": "USD",
        "lines": 2,
    }
    assert before_ms <= created["_aws"]["Timestamp"] <= after_ms


def test_the_stored_item_is_the_order_attribute_by_attribute(backend: Backend, invoke) -> None:
    # Given the recorded request, with its key
    event = api_event()

    # When it is created
    order = invoke(event).body

    # Then the table holds the order as shown, with its line count, its key, this write's token
    # and the hash of the canonical request (items sorted, fixed spelling: the same in every
    # version of the function, so a retry that straddles a deploy is still recognised)
    [stored] = backend.orders()
    canonical = (
        '{"customer_id":"cust-alice","items":[["P-100",2],["P-200",1]],"shipping_address":'
        '{"name":"Alice Example","line1":"1 Main St","city":"Springfield","postal_code":"12345","country":"US"}}'
    )
    assert re.fullmatch("[0-9a-f]{32}", stored.pop("write_token"))
    assert stored == {
        "id": order["id"],
        "customer_id": "cust-alice",
        "status": "pending",
        "items": [
            {"product_id": "P-100", "quantity": 2, "unit_price": Decimal("19.99"), "line_total": Decimal("39.98")},
            {"product_id": "P-200", "quantity": 1, "unit_price": Decimal("5.00"), "line_total": Decimal("5.00")},
        ],
        "item_count": 2,
        "total": Decimal("44.98"),
        "currency": "USD",
        "created_at": order["created_at"],
        "request_hash": hashlib.sha256(canonical.encode()).hexdigest(),
        "shipping_address": order["shipping_address"],
        "idempotency_key": event["headers"]["Idempotency-Key"],
    }


def test_the_answer_is_text_not_base64(backend: Backend) -> None:
    lambda_handler = handler.instrument(
        handler.build_endpoint(backend.settings, clients=(backend.dynamodb, backend.sqs))
    )

    result = lambda_handler(api_event(), FakeLambdaContext())

    assert result["statusCode"] == 201
    assert result["isBase64Encoded"] is False
