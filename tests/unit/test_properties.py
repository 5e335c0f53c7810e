"""Property: whatever arrives, the answer is never a 5xx, and a 4xx stores and queues nothing."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import event as event_note
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.support.events import api_event
from tests.unit.conftest import CATALOG, Backend, Invoke, create_backend, make_invoke

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
identifiers = st.sampled_from([*CATALOG, "cust-alice", "P-NOPE"]) | st.text(max_size=70) | json_values
items = (
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "product_id": identifiers,
                "quantity": st.integers(min_value=-5, max_value=1005) | json_values,
                "extra": json_values,
            },
        ),
        max_size=4,
    )
    | json_values
)
addresses = (
    st.fixed_dictionaries(
        {},
        optional={
            key: st.text(max_size=30) | json_values
            for key in ("name", "line1", "line2", "city", "region", "postal_code", "country")
        },
    )
    | json_values
)
near_orders = st.fixed_dictionaries(
    {},
    optional={
        "customer_id": st.just("cust-alice") | identifiers,
        "items": items,
        "shipping_address": addresses,
        "total": json_values,
    },
)
valid_items = st.lists(
    st.fixed_dictionaries(
        {
            "product_id": st.sampled_from(["P-100", "P-200", "P-HALF"] * 3 + sorted(CATALOG)),
            "quantity": st.integers(min_value=1, max_value=1000),
        }
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda item: item["product_id"],
)
likely_orders = st.fixed_dictionaries(
    {"customer_id": st.sampled_from(["cust-alice", "cust-alice", "cust-bob"]), "items": valid_items},
    optional={"shipping_address": addresses},
)
bodies = (
    likely_orders.map(json.dumps)
    | likely_orders.map(json.dumps)
    | near_orders.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.text(alphabet=string.printable, max_size=200)
)


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Backend, Invoke]]:
    # One backend for all examples (creating tables per example would dominate the run);
    # each example checks what it changed.
    with mock_aws():
        backend = create_backend()
        yield backend, make_invoke(backend)


def _order_ids(backend: Backend) -> set[str]:
    """Every order id in the table: a scan of the key alone (the whole items, deserialised, cost a test a minute)."""
    pages = backend.dynamodb.get_paginator("scan").paginate(
        TableName=backend.settings.orders_table, ProjectionExpression="#id", ExpressionAttributeNames={"#id": "id"}
    )
    return {item["id"]["S"] for page in pages for item in page["Items"]}


def _check(shared: tuple[Backend, Invoke], event: dict) -> int:
    backend, invoke = shared
    orders_before = _order_ids(backend)
    messages_before = len(backend.messages())

    response = invoke(event)

    event_note(f"status {response.status}")
    assert response.status in (201, 400, 403, 409, 413, 415), response.raw
    orders_after = _order_ids(backend)
    if response.status >= 400:
        assert response.body["status"] == response.status
        assert orders_after == orders_before
        requeued = response.body["type"].endswith(":duplicate-request")
        assert len(backend.messages()) == messages_before + (1 if requeued else 0)
    else:
        assert orders_after - orders_before == {response.body["id"]}
        assert len(backend.messages()) == messages_before + 1
    return response.status


def _with_headers(event: dict, headers: dict[str, str | None]) -> dict:
    for name, value in headers.items():
        event["headers"].pop(name, None)
        event["multiValueHeaders"].pop(name, None)
        if value is not None:
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
    return event


@settings(max_examples=300, deadline=None)
@given(
    body=bodies | bodies.map(lambda text: text + " " * 16_400),
    content_type=st.text(max_size=40) | st.sampled_from(["application/json", "text/plain"]) | st.none(),
    key=st.text(max_size=300) | st.none(),
    base64=st.booleans(),
)
def test_arbitrary_requests_never_give_a_5xx_nor_store_on_a_4xx(
    shared: tuple[Backend, Invoke], body: str, content_type: str | None, key: str | None, base64: bool
) -> None:
    event = api_event(raw_body=body, base64_encoded=base64)
    _check(shared, _with_headers(event, {"Content-Type": content_type, "Idempotency-Key": key}))


@settings(max_examples=300, deadline=None)
@given(
    body=likely_orders | near_orders,
    key=st.sampled_from(["k1", "k2", "k3"]) | st.uuids().map(str) | st.none(),
)
def test_well_formed_json_orders_never_give_a_5xx_nor_store_on_a_4xx(
    shared: tuple[Backend, Invoke], body: dict, key: str | None
) -> None:
    _check(shared, _with_headers(api_event(body), {"Idempotency-Key": key}))
