"""The written-out request contract answers exactly as the pydantic model it replaced.

``create_order.request_contract`` reads the body by hand (pydantic cost the cold start 58 ms); the
model of the contract's first version, kept in ``tests/support/pydantic_contract.py``, is the
oracle: for every generated document both give the same problems, in the same order, with the
same field paths, codes and sentences, and a valid document gives the same request.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from create_order.models import CreateOrderRequest
from create_order.request_contract import ISO_3166_ALPHA_2, MAX_ITEMS
from tests.support import pydantic_contract

# Values at and around every rule's edges, and every JSON type where another is expected.
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    scalars | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
edge_text = (
    st.sampled_from(["", " ", "\t", "a", "a\n", "\n", "a\u2028", "\ud800", "\x7f", "\x9f", "\xa0", "é", "US", "us"])
    | st.integers(min_value=0, max_value=3).flatmap(
        lambda extra: st.sampled_from([19, 20, 21, 99, 100, 101, 199, 200, 201, 63, 64, 65]).map(
            lambda n: "x" * (n + extra - 1)
        )
    )
    | st.text(max_size=30)
    | st.text(alphabet="AZaz09_-.", min_size=0, max_size=66)
)
texts = edge_text | scalars | json_values
quantities = st.integers(min_value=-2, max_value=1002) | st.sampled_from([0, 1, 1000, 1001, 10**30, -(10**30)]) | texts
items = (
    st.fixed_dictionaries(
        {},
        optional={
            "product_id": st.sampled_from(["P-100", "P-200"]) | texts,
            "quantity": quantities,
            "total": json_values,
        },
    )
    | json_values
)
item_lists = (
    st.lists(items, max_size=4)
    | st.integers(min_value=MAX_ITEMS - 1, max_value=MAX_ITEMS + 2).flatmap(
        lambda n: st.lists(items, min_size=n, max_size=n)
    )
    | json_values
)
address_fields = ("name", "line1", "line2", "city", "region", "postal_code", "country")
addresses = (
    st.fixed_dictionaries(
        {},
        optional={name: texts | st.sampled_from(sorted(ISO_3166_ALPHA_2)[:5]) for name in address_fields}
        | {"zip": json_values},
    )
    | json_values
)
documents = (
    st.fixed_dictionaries(
        {},
        optional={
            "customer_id": st.just("cust-alice") | texts,
            "items": item_lists,
            "shipping_address": addresses,
            "status": json_values,
        },
    )
    | json_values
)
VALID = {
    "customer_id": "cust-alice",
    "items": [{"product_id": "P-100", "quantity": 2}, {"product_id": "P-200", "quantity": 1000}],
    "shipping_address": {
        "name": "A",
        "line1": "1 Main St",
        "line2": None,
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
    },
}


def ours(document: object) -> list[tuple[str, str, str]]:
    _, problems = CreateOrderRequest.read(document)
    return [(problem.field, problem.code, problem.detail) for problem in problems]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents)
@example(document=VALID)
@example(document={"customer_id": "cust\n", "items": [{"product_id": "P-100\n", "quantity": True}]})
@example(document={"customer_id": "c", "items": [{"product_id": 1}] * (MAX_ITEMS + 1)})
@example(document={"customer_id": None, "items": [], "shipping_address": {}})
@example(document={"customer_id": "c\n", "items": [{"product_id": "P", "quantity": 0}, {"product_id": "P"}]})
def test_every_document_gets_the_problems_the_first_contract_gave(document: object) -> None:
    assert ours(document) == pydantic_contract.problems(document)


@settings(max_examples=300, deadline=None)
@given(
    customer_id=st.text(alphabet="abcXYZ019_-", min_size=1, max_size=64),
    lines=st.dictionaries(
        st.text(alphabet="PQ-0123456789", min_size=1, max_size=64),
        st.integers(min_value=1, max_value=1000),
        min_size=1,
        max_size=MAX_ITEMS,
    ),
    address=st.none()
    | st.fixed_dictionaries(
        {"name": st.just("A"), "line1": st.just("1 St"), "city": st.just("C"), "postal_code": st.just("1")},
        optional={"line2": st.none() | st.just("Flat 2"), "region": st.none() | st.just("R")},
    ).map(lambda address: address | {"country": "GB"}),
)
def test_a_valid_document_reads_into_the_request_the_first_contract_gave(
    customer_id: str, lines: dict[str, int], address: dict[str, object] | None
) -> None:
    document = {"customer_id": customer_id, "items": [{"product_id": p, "quantity": q} for p, q in lines.items()]}
    if address is not None:
        document["shipping_address"] = address
    request, problems = CreateOrderRequest.read(json.loads(json.dumps(document)))

    assert problems == []
    assert request is not None
    assert request.customer_id == customer_id
    assert [(item.product_id, item.quantity) for item in request.items] == list(lines.items())
    assert request.shipping_address == pydantic_contract.dumped(document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"customer_id": "c", "items": [{"product_id": "P", "quantity": 1.0}]}, ("items[0].quantity", "int_type")),
        ({"customer_id": "c", "items": [{"product_id": "P", "quantity": True}]}, ("items[0].quantity", "int_type")),
        (
            {"customer_id": "c\n", "items": [{"product_id": "P", "quantity": 1}]},
            ("customer_id", "string_pattern_mismatch"),
        ),
        ([], ("body", "model_type")),
        (
            {"customer_id": "c", "items": [{"product_id": "P", "quantity": 1}, {"product_id": "P", "quantity": 2}]},
            ("items[1].product_id", "duplicate_product"),
        ),
    ],
)
def test_the_strict_rules_the_oracle_agrees_on(document: object, expected: tuple[str, str]) -> None:
    # Pinned by hand too, so a change to the oracle and the code together does not pass unseen.
    assert [problem[:2] for problem in ours(document)] == [expected]
    assert [problem[:2] for problem in pydantic_contract.problems(document)] == [expected]


def test_a_document_whose_only_problem_is_a_repeated_product_reads_into_no_request() -> None:
    # Every field keeps its rule; only the second line names the first one's product again
    document = {**VALID, "items": [{"product_id": "P-100", "quantity": 2}, {"product_id": "P-100", "quantity": 1}]}

    request, problems = CreateOrderRequest.read(document)

    assert request is None
    assert [(problem.field, problem.code) for problem in problems] == [("items[1].product_id", "duplicate_product")]
