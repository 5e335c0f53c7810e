"""Hostile bodies through the stage's HTTP front: each gets its 4xx problem, and nothing is stored.

Sent as raw bytes by a customer with a valid ID token, each with its own Idempotency-Key, so
"nothing stored" is checked exactly: no order under the id that key would give.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from create_order.api import PROBLEM_TYPE_PREFIX
from create_order.logic import order_id_for
from localstage.local import LocalStage, id_token

JSON = "application/json"


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("hostile"), concurrency=2, customers=2) as running:
        yield running


@pytest.fixture(scope="module")
def customer(stage: LocalStage) -> dict[str, str]:
    info = stage.describe()
    user = info["customers"][0]
    return {
        "customer_id": user["customer_id"],
        "token": id_token(info, user),
        "other": info["customers"][1]["customer_id"],
    }


def _order(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "items": [{"product_id": "P-001", "quantity": 1}], **fields}


def _item(quantity: Any) -> str:
    return f'{{"product_id":"P-001","quantity":{quantity}}}'


def _cases(me: str, other: str) -> list[tuple[str, bytes, str, int, str | None]]:
    """(name, raw body, content type, status, a field the problem must name)."""

    def with_quantity(literal: Any) -> bytes:  # the quantity written as given, not through json.dumps
        return f'{{"customer_id":"{me}","items":[{_item(literal)}]}}'.encode()

    def with_id(literal: str) -> bytes:
        return f'{{"customer_id":"{literal}","items":[{_item(1)}]}}'.encode()

    def order(**fields: Any) -> bytes:
        return json.dumps(_order(me, **fields)).encode()

    def address(name: str) -> bytes:
        return order(shipping_address={"name": name, "line1": "1 Main St", "city": "X", "postal_code": "1",
                                       "country": "US"})  # fmt: skip

    def items(count: int, **extra: Any) -> bytes:
        lines = [{"product_id": f"P-{n % 100:03d}", "quantity": 1, **extra} for n in range(count)]
        return json.dumps({"customer_id": me, "items": lines}).encode()

    nested = "[" * 5000 + "]" * 5000
    quantity = "items[0].quantity"
    return [
        ("deep nesting", nested.encode(), JSON, 400, "body"),
        ("deep nesting in a field", f'{{"customer_id":"{me}","x":{nested}}}'.encode(), JSON, 400, "body"),
        ("huge integer", with_quantity("9" * 5000), JSON, 400, "body"),
        ("integer past int64", with_quantity(2**70), JSON, 400, quantity),
        ("NaN", with_quantity("NaN"), JSON, 400, "body"),
        ("Infinity", with_quantity("Infinity"), JSON, 400, "body"),
        ("-Infinity", with_quantity("-Infinity"), JSON, 400, "body"),
        ("1e400", with_quantity("1e400"), JSON, 400, "body"),
        ("duplicate keys", f'{{"customer_id":"{other}","customer_id":"{me}","items":[]}}'.encode(), JSON, 400, "body"),
        ("lone surrogate", with_id(me + "\\ud800"), JSON, 400, "customer_id"),
        ("escaped NUL", with_id(me + "\\u0000"), JSON, 400, "customer_id"),
        ("raw NUL", with_id(me + "\x00"), JSON, 400, "body"),
        ("NUL in an address", address("A\x00B"), JSON, 400, "shipping_address.name"),
        ("long string within the size limit", address("N" * 10_000), JSON, 400, "shipping_address.name"),
        ("long string over the size limit", json.dumps(_order("c" * 100_000)).encode(), JSON, 413, None),
        ("10 000 items", items(10_000), JSON, 413, None),
        ("51 items", items(51), JSON, 400, "items"),
        ("body over 16 KiB", order(pad="x" * 17_000), JSON, 413, None),
        ("body over API Gateway's 10 MB", b" " * (10 * 1024 * 1024 + 1), JSON, 413, None),
        ("text/plain", order(), "text/plain", 415, None),
        ("form", b"customer_id=x&items=y", "application/x-www-form-urlencoded", 415, None),
        ("xml", b"<order/>", "application/xml", 415, None),
        ("no content type", order(), "", 415, None),
        ("boolean quantity", with_quantity("true"), JSON, 400, quantity),
        ("float quantity", with_quantity("1.0"), JSON, 400, quantity),
        ("string quantity", with_quantity('"1"'), JSON, 400, quantity),
        ("zero quantity", with_quantity(0), JSON, 400, quantity),
        ("negative quantity", with_quantity(-5), JSON, 400, quantity),
        ("mass assignment: total", order(total=0.01), JSON, 400, "total"),
        ("mass assignment: status", order(status="shipped"), JSON, 400, "status"),
        ("mass assignment: id", order(id="00000000-0000-0000-0000-000000000000"), JSON, 400, "id"),
        ("mass assignment: unit_price", items(1, unit_price=0), JSON, 400, "items[0].unit_price"),
        ("another customer's id", json.dumps(_order(other)).encode(), JSON, 403, None),
        ("not an object", b"[]", JSON, 400, "body"),
        ("empty", b"", JSON, 400, "body"),
        ("not JSON", b"{customer_id: x}", JSON, 400, "body"),
        ("BOM", b"\xef\xbb\xbf" + order(), JSON, 400, "body"),
        ("not UTF-8", order().replace(b"P-001", b"P-\xff01"), JSON, 400, "body"),
    ]


CASE_NAMES = [case[0] for case in _cases("me", "other")]
PROBLEM_TYPES = {400: "validation-error", 403: "forbidden", 413: "payload-too-large", 415: "unsupported-media-type"}
"""The problem type each status of the table means (a 413 is the same type from the function or the gateway)."""


def _post(stage: LocalStage, token: str, raw: bytes, content_type: str, key: str) -> tuple[int, str, bytes]:
    headers = {"Authorization": token, "Idempotency-Key": key}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(stage.describe()["orders_url"], data=raw, method="POST", headers=headers)  # noqa: S310
    if not content_type:
        request.remove_header("Content-type")  # urllib adds a form type to any body
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _stored(stage: LocalStage, order_id: str) -> bool:
    table = stage.describe()["physical"]["OrdersTable"]
    return "Item" in boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": order_id}})


def test_a_valid_body_sent_the_same_way_is_created(stage: LocalStage, customer: dict[str, str]) -> None:
    key = str(uuid.uuid4())
    status, _, raw = _post(stage, customer["token"], json.dumps(_order(customer["customer_id"])).encode(), JSON, key)

    assert status == 201, raw
    assert _stored(stage, order_id_for(customer["customer_id"], key))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_hostile_body_gets_its_4xx_problem_and_nothing_is_stored(
    stage: LocalStage, customer: dict[str, str], name: str
) -> None:
    [(_, raw, content_type, expected, field)] = [
        case for case in _cases(customer["customer_id"], customer["other"]) if case[0] == name
    ]
    key = str(uuid.uuid4())

    status, answered_type, answer = _post(stage, customer["token"], raw, content_type, key)

    assert status == expected, answer[:500]
    assert answered_type == "application/problem+json"
    problem = json.loads(answer)
    assert problem["status"] == expected
    assert problem["type"] == PROBLEM_TYPE_PREFIX + PROBLEM_TYPES[expected]
    assert "Traceback" not in answer.decode()
    if field is not None:
        assert field in [error["field"] for error in problem.get("errors", [])], problem
    for customer_id in (customer["customer_id"], customer["other"]):
        assert not _stored(stage, order_id_for(customer_id, key))
