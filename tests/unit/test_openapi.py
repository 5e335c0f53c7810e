"""openapi.yaml describes the API the function implements: a test fails when the two disagree.

The document is a valid OpenAPI 3.0 description; its request schemas are the ones
``python -m scripts.openapi sync`` generates from the function's contract (request_contract.py); they
accept exactly the bodies the contract accepts (bar a repeated product, which OpenAPI 3.0
cannot express), over the same generated documents that hold the
contract to its first pydantic version; its limits are the function's constants; every status
the function answers is documented, and the 201 and problem bodies it writes conform.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from create_order import api, outcomes, request_contract
from create_order.models import CreateOrderRequest
from localstage.gateway_responses import declared_responses
from scripts import openapi as generated
from tests.unit.test_contract import VALID, address_fields, documents, quantities, texts

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = yaml.safe_load((ROOT / "openapi.yaml").read_text())
OPERATION = DOCUMENT["paths"]["/orders"]["post"]
SCHEMAS = DOCUMENT["components"]["schemas"]


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    """A validator for ``schema`` whose ``#/components/...`` references resolve in this document."""
    return OAS30Validator({**schema, "components": DOCUMENT["components"]})


REQUEST = _validator({"$ref": "#/components/schemas/CreateOrderRequest"})


def _dialect_neutral(value: Any) -> bool:
    """No string where Python's regular expressions and ECMA-262's (OpenAPI's) disagree.

    Python's ``$`` also matches before a final newline, which ECMA-262's does not; lone
    surrogates are text to Python's ``re`` and cannot be sent as JSON text at all.
    """
    if isinstance(value, str):
        return not value.endswith("\n") and value.encode("utf-8", "surrogatepass").decode("utf-8", "ignore") == value
    if isinstance(value, dict):
        return all(_dialect_neutral(k) and _dialect_neutral(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_dialect_neutral(v) for v in value)
    return True


def _repeats_a_product(value: Any) -> bool:
    """A repeated product_id: the one rule of the contract OpenAPI 3.0 cannot express."""
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(items, list):
        return False
    ids = [
        item.get("product_id") for item in items if isinstance(item, dict) and isinstance(item.get("product_id"), str)
    ]
    return len(ids) != len(set(ids))


def test_the_document_is_valid_openapi_3() -> None:
    validate_spec(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.0")


def test_the_request_schemas_are_what_the_contract_generates() -> None:
    assert not generated.drift(), "openapi.yaml has drifted: run `python -m scripts.openapi sync`"


def test_a_limit_changed_in_the_contract_only_is_drift(monkeypatch) -> None:
    monkeypatch.setattr(request_contract, "MAX_QUANTITY", request_contract.MAX_QUANTITY + 1)

    assert generated.drift()


def test_a_hand_edit_inside_the_generated_schemas_is_drift(tmp_path: Path) -> None:
    copy = tmp_path / "openapi.yaml"
    copy.write_text((ROOT / "openapi.yaml").read_text().replace("maxLength: 200", "maxLength: 250", 1))

    assert generated.drift(copy)


def test_sync_rewrites_a_drifted_document_and_then_is_still(tmp_path: Path) -> None:
    copy = tmp_path / "openapi.yaml"
    copy.write_text((ROOT / "openapi.yaml").read_text().replace("maxItems: 50", "maxItems: 5", 1))

    assert generated.sync(copy)
    assert copy.read_text() == (ROOT / "openapi.yaml").read_text()
    assert not generated.sync(copy)


def test_a_document_without_its_generated_block_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "openapi.yaml"
    copy.write_text((ROOT / "openapi.yaml").read_text().replace(generated.END, ""))

    with pytest.raises(ValueError, match="exactly one generated block"):
        generated.drift(copy)


_DELETE = object()
_PLACES = [
    ("customer_id",), ("items",), ("items", 0), ("items", 0, "product_id"), ("items", 1, "quantity"),
    ("shipping_address",), ("total",), *(("shipping_address", name) for name in address_fields),
]  # fmt: skip


def _changed(place: tuple[str | int, ...], value: Any) -> Any:
    """VALID with one place set to ``value`` (or deleted): mostly valid documents, one rule at a time."""
    document = copy.deepcopy(VALID)
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    if value is _DELETE:
        if isinstance(parent, dict):
            parent.pop(place[-1], None)
    else:
        parent[place[-1]] = value
    return document


one_change = st.builds(_changed, st.sampled_from(_PLACES), texts | quantities | st.none() | st.just(_DELETE))


@settings(max_examples=1500, deadline=None)
@given(documents | one_change)
def test_the_request_schema_accepts_exactly_what_the_function_accepts(document: Any) -> None:
    if not _dialect_neutral(document) or _repeats_a_product(document):
        return
    request, problems = CreateOrderRequest.read(document)
    assert REQUEST.is_valid(document) == (request is not None and not problems), (document, problems)


def test_a_valid_order_with_every_field_is_accepted_by_both() -> None:
    document = {
        "customer_id": "cust-alice",
        "items": [{"product_id": "P-100", "quantity": 1000}],
        "shipping_address": {"name": "A", "line1": "1 Main St", "line2": None, "city": "X", "region": None,
                             "postal_code": "12345", "country": "NO"},
    }  # fmt: skip
    assert REQUEST.is_valid(document)
    assert CreateOrderRequest.read(document)[1] == []


def test_the_documents_limits_are_the_functions_constants() -> None:
    request = SCHEMAS["CreateOrderRequest"]["properties"]
    item = SCHEMAS["OrderItemRequest"]["properties"]
    address = SCHEMAS["ShippingAddress"]["properties"]
    assert SCHEMAS["Identifier"]["pattern"] == request_contract.IDENTIFIER_PATTERN
    assert request["items"]["maxItems"] == request_contract.MAX_ITEMS
    assert SCHEMAS["Quantity"] == {
        "type": "integer",
        "minimum": request_contract.MIN_QUANTITY,
        "maximum": request_contract.MAX_QUANTITY,
    }
    assert item["quantity"] == {"$ref": "#/components/schemas/Quantity"}
    assert address["country"]["enum"] == sorted(request_contract.ISO_3166_ALPHA_2)
    assert request["items"]["description"] == "A product_id may appear once."
    assert "16384 bytes" in OPERATION["requestBody"]["description"]
    assert api.MAX_BODY_BYTES == 16384


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=260) | st.just("k" * 256))
def test_the_idempotency_key_rule_is_the_functions(key: str) -> None:
    [parameter] = [p for p in OPERATION["parameters"] if p["name"] == api.IDEMPOTENCY_KEY_HEADER]
    if key.endswith("\n"):
        return
    documented = _validator(parameter["schema"]).is_valid(key)
    assert documented == bool(api._IDEMPOTENCY_KEY.fullmatch(key)), key


def test_every_status_the_function_answers_is_documented() -> None:
    answered = {201} | {outcome.status for outcome in outcomes.OUTCOMES.values()}
    gateway = {declared.status for declared in declared_responses().values()}  # API Gateway's own answers
    assert set(map(int, OPERATION["responses"])) == answered | gateway


@pytest.mark.parametrize("response_type", sorted(declared_responses()))
def test_every_problem_api_gateway_answers_is_documented_under_its_status(response_type: str) -> None:
    # Given the template's declaration rendered as API Gateway renders it, with a message needing escapes
    declared = declared_responses()[response_type]
    body = json.loads(declared.render(response_type, "req-1", 'a "quoted" reason'))

    # Then openapi.yaml documents exactly that body, as a problem, under that status
    assert declared.status is not None
    assert body["status"] == declared.status
    content = OPERATION["responses"][str(declared.status)]["content"]
    assert list(content) == ["application/problem+json"]
    _validator(content["application/problem+json"]["schema"]).validate(body)
    assert body["request_id"] == "req-1"


def test_the_documented_gateway_problem_types_are_the_templates() -> None:
    declared = declared_responses()
    types = {json.loads(d.render(t, "r", "m"))["type"] for t, d in declared.items()}
    [_, extension] = SCHEMAS["GatewayProblem"]["allOf"]

    assert sorted(types) == extension["properties"]["type"]["enum"]
    assert all(t.startswith(api.PROBLEM_TYPE_PREFIX) for t in types)


def test_the_order_the_function_writes_conforms(invoke) -> None:
    from tests.support.events import api_event

    response = invoke(api_event())

    assert response.status == 201
    _validator({"$ref": "#/components/schemas/Order"}).validate(response.body)
    assert set(SCHEMAS["Order"]["required"]) == set(response.body)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"customer_id": "cust-alice", "items": []}, 400),
        ({"customer_id": "someone-else", "items": [{"product_id": "P-100", "quantity": 1}]}, 403),
    ],
)
def test_the_problems_the_function_writes_conform(invoke, body: dict[str, Any], status: int) -> None:
    from tests.support.events import api_event, order_body

    response = invoke(api_event(order_body(**body)))

    assert response.status == status
    assert re.match(r"application/problem\+json", response.headers["Content-Type"])
    _validator({"$ref": "#/components/schemas/Problem"}).validate(response.body)
