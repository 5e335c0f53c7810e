"""400, 413, 415: every bad request gets its exact status, names its fields, and stores nothing."""

from __future__ import annotations

import json

import pytest

from harness.lambda_context import FakeLambdaContext
from tests.support.events import UNSET, api_event, order_body
from tests.unit.conftest import Backend

PROBLEM = "urn:problem-type:create-order:"
ITEM = {"product_id": "P-100", "quantity": 1}
ADDRESS = {"name": "A", "line1": "1 St", "city": "C", "postal_code": "1", "country": "US"}


def assert_nothing_stored(backend: Backend) -> None:
    assert backend.orders() == []
    assert backend.messages() == []


def fields(response) -> list[str]:
    return [error["field"] for error in response.body.get("errors", [])]


CONTRACT_DETAILS = {
    "missing": "Field required",
    "string_type": "Input should be a valid string",
    "string_pattern_mismatch": "String should match pattern '^[A-Za-z0-9_-]{1,64}$'",
    "too_short": "List should have at least 1 item after validation, not 0",
    "too_long": "List should have at most 50 items after validation, not 51",
    "list_type": "Input should be a valid list",
    "greater_than_equal": "Input should be greater than or equal to 1",
    "less_than_equal": "Input should be less than or equal to 1000",
    "int_type": "Input should be a valid integer",
    "extra_forbidden": "Extra inputs are not permitted",
    "invalid_country": "Country must be an ISO 3166-1 alpha-2 code, e.g. US",
    "string_too_short": "String should have at least 1 character",
    "invalid_characters": "Text must not contain control characters or lone surrogates",
    "blank": "Text must not be blank",
    "duplicate_product": "A product may appear once; raise its quantity instead",
}
"""The sentence of each problem code, in the words of the contract's first version (pydantic's)."""
PRODUCT_DETAILS = {
    "unknown_product": "No such product",
    "inactive_product": "The product is not available",
    "currency_mismatch": "The product is priced in EUR",
}
TEXT_LIMITS = {"name": 100, "line1": 200, "line2": 200, "city": 100, "region": 100, "postal_code": 20}
RECORD_TITLES = {"shipping_address": "ShippingAddress", "items[0]": "OrderItemRequest"}


def contract_detail(field: str, code: str) -> str:
    if code == "string_too_long":
        return f"String should have at most {TEXT_LIMITS[field.rpartition('.')[2]]} characters"
    if code == "model_type":
        return f"Input should be a valid dictionary or instance of {RECORD_TITLES[field]}"
    return CONTRACT_DETAILS[code]


def assert_problem(response, status: int, slug: str) -> None:
    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.body["type"] == PROBLEM + slug
    assert response.body["status"] == status
    assert response.body["title"]
    assert response.body["detail"]
    assert response.body["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert "Traceback" not in response.raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("{", id="truncated"),
        pytest.param("not json", id="not-json"),
        pytest.param('{"customer_id": "cust-alice"} {}', id="two-documents"),
        pytest.param('{"customer_id": "cust-alice", "customer_id": "cust-bob", "items": []}', id="duplicate-key"),
        pytest.param('{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": NaN}]}', id="nan"),
        pytest.param('{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": Infinity}]}', id="inf"),
        pytest.param('{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": -Infinity}]}', id="-inf"),
        pytest.param('{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": 1e400}]}', id="overflow"),
        pytest.param(
            '{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": ' + "9" * 5000 + "}]}",
            id="huge-int",
        ),
        pytest.param('{"customer_id": "cust\nalice", "items": []}', id="raw-control-char"),
        pytest.param("[" * 5000 + "]" * 5000, id="deep-nesting"),
        pytest.param("\ufeff{}", id="bom"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_body_that_is_not_one_unambiguous_json_document_is_400(backend: Backend, invoke, raw: str) -> None:
    response = invoke(api_event(raw_body=raw))

    assert_problem(response, 400, "validation-error")
    assert fields(response) == ["body"]
    assert_nothing_stored(backend)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_constant_is_named_in_the_problem(invoke, constant: str) -> None:
    body = '{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": QUANTITY}]}'

    response = invoke(api_event(raw_body=body.replace("QUANTITY", constant)))

    [error] = response.body["errors"]
    assert error == {"field": "body", "code": "invalid_json", "detail": f"{constant} is not a JSON number"}


def test_a_number_out_of_range_is_named_in_the_problem_up_to_40_characters(invoke) -> None:
    number = "1" * 45 + "e400"
    body = '{"customer_id": "a", "items": [{"product_id": "P-100", "quantity": QUANTITY}]}'

    response = invoke(api_event(raw_body=body.replace("QUANTITY", number)))

    [error] = response.body["errors"]
    assert error == {"field": "body", "code": "invalid_json", "detail": f"number {'1' * 40} is out of range"}


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        pytest.param('{"items": [], "customer_id": "a", "customer_id": "b"}', 'duplicate key "customer_id"', id="dup"),
        pytest.param("[" * 5000 + "]" * 5000, "nesting is too deep", id="deep"),
        pytest.param("{", "Expecting property name enclosed in double quotes at line 1 column 2", id="truncated"),
        pytest.param(
            '{"quantity": ' + "9" * 5000 + "}",
            "Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
            id="huge-int",
        ),
    ],
)
def test_the_json_problem_says_what_is_wrong_and_where(invoke, raw: str, detail: str) -> None:
    response = invoke(api_event(raw_body=raw))

    assert response.body["errors"] == [{"field": "body", "code": "invalid_json", "detail": detail}]


@pytest.mark.parametrize("raw", [None, ""], ids=["none", "empty"])
def test_missing_body_is_400(backend: Backend, invoke, raw: str | None) -> None:
    response = invoke(api_event(raw_body=raw))

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The request has no body"
    assert response.body["errors"] == [{"field": "body", "code": "missing", "detail": "Send a JSON object"}]


def test_a_body_that_is_not_text_is_400(invoke) -> None:
    event = api_event()
    event["body"] = {"customer_id": "cust-alice"}  # a test harness's mistake API Gateway never makes

    response = invoke(event)

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The body is not text"
    assert response.body["errors"] == [{"field": "body", "code": "invalid_json", "detail": "Send a JSON object"}]


@pytest.mark.parametrize("raw", ["[]", '"order"', "42", "null", "true"])
def test_body_that_is_not_an_object_is_400(backend: Backend, invoke, raw: str) -> None:
    response = invoke(api_event(raw_body=raw))

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The body must be a JSON object"
    assert response.body["errors"] == [
        {"field": "body", "code": "invalid_type", "detail": "The body must be a JSON object"}
    ]


def test_a_body_that_is_not_json_is_named_as_such(invoke) -> None:
    response = invoke(api_event(raw_body="{"))

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The body is not valid JSON"


def test_a_body_with_invalid_fields_says_so(invoke) -> None:
    response = invoke(api_event(order_body(customer_id="bad id")))

    assert response.body["detail"] == "The request has invalid fields"


@pytest.mark.parametrize("raw", ["{", "[]"], ids=["not-json", "not-an-object"])
def test_the_bodys_problem_comes_before_the_idempotency_keys(invoke, raw: str) -> None:
    response = invoke(api_event(raw_body=raw, headers={"Idempotency-Key": " leading"}))

    assert [error["field"] for error in response.body["errors"]] == ["body", "Idempotency-Key"]


def test_an_empty_top_level_field_name_is_reported_as_the_body(invoke) -> None:
    response = invoke(api_event(order_body(**{"": 1})))

    assert response.status == 400
    assert [error["field"] for error in response.body["errors"]] == ["body"]


def test_fifty_items_are_not_too_many(invoke) -> None:
    items = [{"product_id": f"P-X{i}", "quantity": 1} for i in range(50)]

    response = invoke(api_event(order_body(items=items)))

    # Refused for the unknown products, not for their number
    assert response.status == 400
    assert {error["code"] for error in response.body["errors"]} == {"unknown_product"}


def test_a_country_that_is_not_text_is_simply_not_a_country(invoke) -> None:
    # A lone surrogate (valid JSON, not valid text): the country's own problem, not a text one
    raw = json.dumps(order_body()).replace('"country": "US"', '"country": "U\\ud800"')
    assert '"U\\ud800"' in raw

    response = invoke(api_event(raw_body=raw))

    assert response.status == 400
    assert [(error["field"], error["code"]) for error in response.body["errors"]] == [
        ("shipping_address.country", "invalid_country")
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"items": [ITEM]}, "customer_id", "missing"),
        ({"customer_id": "cust-alice"}, "items", "missing"),
        ({"customer_id": 7, "items": [ITEM]}, "customer_id", "string_type"),
        ({"customer_id": "", "items": [ITEM]}, "customer_id", "string_pattern_mismatch"),
        ({"customer_id": "c" * 65, "items": [ITEM]}, "customer_id", "string_pattern_mismatch"),
        ({"customer_id": "cust alice", "items": [ITEM]}, "customer_id", "string_pattern_mismatch"),
        ({"customer_id": "cust-alice", "items": []}, "items", "too_short"),
        (
            {
                "customer_id": "cust-alice",
                "items": [{"product_id": f"P{i}", "quantity": 1} for i in range(51)],
            },
            "items",
            "too_long",
        ),
        ({"customer_id": "cust-alice", "items": {"product_id": "P-100"}}, "items", "list_type"),
        ({"customer_id": "cust-alice", "items": ["P-100"]}, "items[0]", "model_type"),
        ({"customer_id": "cust-alice", "items": [{"quantity": 1}]}, "items[0].product_id", "missing"),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P/100", "quantity": 1}]},
            "items[0].product_id",
            "string_pattern_mismatch",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": 0}]},
            "items[0].quantity",
            "greater_than_equal",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": -1}]},
            "items[0].quantity",
            "greater_than_equal",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": 1001}]},
            "items[0].quantity",
            "less_than_equal",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": True}]},
            "items[0].quantity",
            "int_type",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": 1.0}]},
            "items[0].quantity",
            "int_type",
        ),
        (
            {"customer_id": "cust-alice", "items": [{"product_id": "P-100", "quantity": "1"}]},
            "items[0].quantity",
            "int_type",
        ),
        ({"customer_id": "cust-alice", "items": [ITEM, ITEM]}, "items[1].product_id", "duplicate_product"),
        (
            {
                "customer_id": "cust-alice",
                "items": [{"product_id": f"P{i}", "quantity": 1} for i in range(49)]
                + [{"product_id": "P0", "quantity": 1}],
            },
            "items[49].product_id",
            "duplicate_product",
        ),
        ({"customer_id": "cust-alice", "items": [ITEM], "total": 0.01}, "total", "extra_forbidden"),
        ({"customer_id": "cust-alice", "items": [ITEM], "status": "paid"}, "status", "extra_forbidden"),
        (
            {"customer_id": "cust-alice", "items": [{**ITEM, "unit_price": 0}]},
            "items[0].unit_price",
            "extra_forbidden",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": "1 Main St"},
            "shipping_address",
            "model_type",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "country": "us"}},
            "shipping_address.country",
            "invalid_country",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "country": "XX"}},
            "shipping_address.country",
            "invalid_country",
        ),
        (
            {
                "customer_id": "cust-alice",
                "items": [ITEM],
                "shipping_address": {**ADDRESS, "name": "n" * 101},
            },
            "shipping_address.name",
            "string_too_long",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "line1": "l" * 201}},
            "shipping_address.line1",
            "string_too_long",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "line2": "l" * 201}},
            "shipping_address.line2",
            "string_too_long",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "region": "r" * 101}},
            "shipping_address.region",
            "string_too_long",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "postal_code": "1" * 21}},
            "shipping_address.postal_code",
            "string_too_long",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "city": ""}},
            "shipping_address.city",
            "string_too_short",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "city": "   "}},
            "shipping_address.city",
            "blank",
        ),
        (
            {
                "customer_id": "cust-alice",
                "items": [ITEM],
                "shipping_address": {**ADDRESS, "line1": "a\u0000b"},
            },
            "shipping_address.line1",
            "invalid_characters",
        ),
        (
            {
                "customer_id": "cust-alice",
                "items": [ITEM],
                "shipping_address": {**ADDRESS, "line1": "a\u0085b"},
            },
            "shipping_address.line1",
            "invalid_characters",
        ),
        (
            {
                "customer_id": "cust-alice",
                "items": [ITEM],
                "shipping_address": {**ADDRESS, "line1": "a\u2028b"},
            },
            "shipping_address.line1",
            "invalid_characters",
        ),
        (
            {
                "customer_id": "cust-alice",
                "items": [ITEM],
                "shipping_address": {**ADDRESS, "postal_code": None},
            },
            "shipping_address.postal_code",
            "string_type",
        ),
        (
            {"customer_id": "cust-alice", "items": [ITEM], "shipping_address": {**ADDRESS, "floor": "2"}},
            "shipping_address.floor",
            "extra_forbidden",
        ),
    ],
)
def test_invalid_field_is_400_naming_the_field(backend: Backend, invoke, body, field: str, code: str) -> None:
    response = invoke(api_event(body))

    assert_problem(response, 400, "validation-error")
    assert {"field": field, "code": code, "detail": contract_detail(field, code)} in response.body["errors"]
    assert_nothing_stored(backend)


def test_address_fields_at_their_longest_are_accepted(invoke) -> None:
    address = {
        "name": "n" * 100,
        "line1": "l" * 200,
        "line2": "m" * 200,
        "city": "c" * 100,
        "region": "r" * 100,
        "postal_code": "p" * 20,
        "country": "US",
    }

    response = invoke(api_event(order_body(shipping_address=address)))

    assert response.status == 201
    assert response.body["shipping_address"] == address


def test_lone_surrogate_in_a_string_is_400(backend: Backend, invoke) -> None:
    raw = json.dumps(order_body(shipping_address={**ADDRESS, "name": "x"})).replace('"name": "x"', '"name": "\\ud800"')

    response = invoke(api_event(raw_body=raw))

    assert_problem(response, 400, "validation-error")
    assert response.body["errors"] == [
        {
            "field": "shipping_address.name",
            "code": "string_unicode",
            "detail": "Input should be a valid string, unable to parse raw data as a unicode string",
        }
    ]
    assert_nothing_stored(backend)


def test_every_failing_field_is_listed_at_once(invoke) -> None:
    body = {
        "customer_id": "bad id",
        "items": [{"product_id": "P-100", "quantity": 0}, {"product_id": "P-100", "quantity": "2"}],
        "shipping_address": {**ADDRESS, "country": "ZZ"},
        "coupon": "FREE",
    }

    response = invoke(api_event(body, headers={"Idempotency-Key": "bad\u00e9key"}))

    assert_problem(response, 400, "validation-error")
    assert sorted(fields(response)) == sorted(
        [
            "Idempotency-Key",
            "customer_id",
            "items[0].quantity",
            "items[1].product_id",
            "items[1].quantity",
            "shipping_address.country",
            "coupon",
        ]
    )


@pytest.mark.parametrize(
    ("items", "codes"),
    [
        ([{"product_id": "P-NOPE", "quantity": 1}], {"items[0].product_id": "unknown_product"}),
        ([ITEM, {"product_id": "P-300", "quantity": 1}], {"items[1].product_id": "inactive_product"}),
        ([ITEM, {"product_id": "P-EUR", "quantity": 1}], {"items[1].product_id": "currency_mismatch"}),
        (
            [{"product_id": "P-NOPE", "quantity": 1}, {"product_id": "P-300", "quantity": 1}],
            {"items[0].product_id": "unknown_product", "items[1].product_id": "inactive_product"},
        ),
        (
            [{"product_id": "P-300", "quantity": 1}, {"product_id": "P-NOPE", "quantity": 1}],
            {"items[0].product_id": "inactive_product", "items[1].product_id": "unknown_product"},
        ),
        (
            [ITEM, {"product_id": "P-EUR", "quantity": 1}, {"product_id": "P-NOPE", "quantity": 1}],
            {"items[1].product_id": "currency_mismatch", "items[2].product_id": "unknown_product"},
        ),
    ],
)
def test_unknown_inactive_or_foreign_currency_product_is_400(backend: Backend, invoke, items, codes) -> None:
    response = invoke(api_event(order_body(items=items)))

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "Some items cannot be ordered"
    assert {e["field"]: e["code"] for e in response.body["errors"]} == codes
    assert {e["code"]: e["detail"] for e in response.body["errors"]} == {
        code: PRODUCT_DETAILS[code] for code in codes.values()
    }
    assert_nothing_stored(backend)


@pytest.mark.parametrize(
    "key",
    ["", " ", "k" * 256, " leading", "trailing ", "caf\u00e9", "tab\tkey", "line\nbreak", "\u0000"],
)
def test_malformed_idempotency_key_is_400(backend: Backend, invoke, key: str) -> None:
    response = invoke(api_event(headers={"Idempotency-Key": key}))

    assert_problem(response, 400, "validation-error")
    assert response.body["errors"] == [
        {
            "field": "Idempotency-Key",
            "code": "invalid_idempotency_key",
            "detail": "Must be 1-255 printable ASCII characters, no leading or trailing space; a UUID is recommended",
        }
    ]
    assert_nothing_stored(backend)


@pytest.mark.parametrize("key", ["k", "k" * 255, "a b", "~!@#$%^&*()_+{}|:<>?"])
def test_idempotency_key_of_printable_ascii_up_to_255_is_accepted(invoke, key: str) -> None:
    assert invoke(api_event(headers={"Idempotency-Key": key})).status == 201


def test_idempotency_key_sent_twice_with_different_values_is_400(backend: Backend, invoke) -> None:
    event = api_event()
    event["multiValueHeaders"]["Idempotency-Key"] = ["key-1", "key-2"]

    response = invoke(event)

    assert_problem(response, 400, "validation-error")
    assert response.body["errors"] == [
        {"field": "Idempotency-Key", "code": "repeated_header", "detail": "Send the header once"}
    ]
    assert_nothing_stored(backend)


def test_body_over_16_kib_is_413(backend: Backend, invoke) -> None:
    body = api_event()["body"]
    padded = body + " " * (16 * 1024 - len(body.encode()) + 1)

    response = invoke(api_event(raw_body=padded))

    assert_problem(response, 413, "payload-too-large")
    assert_nothing_stored(backend)


def test_multibyte_body_over_16_kib_is_413(invoke) -> None:
    # 6 000 characters, 18 000 bytes of UTF-8
    response = invoke(api_event(order_body(shipping_address={**ADDRESS, "name": "\u20ac" * 6000})))

    assert_problem(response, 413, "payload-too-large")


def test_base64_body_over_16_kib_is_413(invoke) -> None:
    body = api_event()["body"]
    response = invoke(api_event(raw_body=body + " " * 17_000, base64_encoded=True))

    assert_problem(response, 413, "payload-too-large")


def test_body_that_is_not_utf8_is_400(backend: Backend, invoke) -> None:
    response = invoke(api_event(raw_body=b'{"customer_id": "\xff"}', base64_encoded=True))

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The body is not UTF-8"
    assert response.body["errors"] == [
        {"field": "body", "code": "invalid_encoding", "detail": "Encode the JSON as UTF-8"}
    ]


def test_body_that_is_not_base64_is_400(invoke) -> None:
    event = api_event()
    event["isBase64Encoded"] = True
    event["body"] = "%%% not base64 %%%"

    response = invoke(event)

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The body is not valid base64"
    assert response.body["errors"] == [{"field": "body", "code": "invalid_encoding", "detail": "Bad base64"}]


@pytest.mark.parametrize(("length", "status"), [(21_849, 400), (21_850, 413)])
def test_base64_longer_than_16_kib_can_encode_is_413_before_decoding(invoke, length: int, status: int) -> None:
    # 16 KiB encode to at most 21 848 characters; up to 21 849 the body is decoded (this one
    # is not valid base64: its length is no multiple of 4), past that it is refused unread
    event = api_event()
    event["isBase64Encoded"] = True
    event["body"] = "A" * length

    assert invoke(event).status == status


def test_base64_with_characters_outside_its_alphabet_is_400(invoke) -> None:
    # Given a base64 body with a line break in it (a lenient decoder would skip it)
    event = api_event(base64_encoded=True)
    event["body"] = event["body"][:8] + "\n" + event["body"][8:]

    response = invoke(event)

    assert_problem(response, 400, "validation-error")
    assert response.body["errors"] == [{"field": "body", "code": "invalid_encoding", "detail": "Bad base64"}]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json-patch+json",
        "application/json; charset=latin-1",
        # Each parameter on its own, split at every ";" and at the first "=" only
        "application/json;format=flowed;charset=latin-1",
        "application/json; charset=utf-8=x",
        # Quotes are stripped, nothing else
        'application/json; charset="utf-8X"',
    ],
)
def test_body_not_declared_as_json_is_415(backend: Backend, invoke, content_type) -> None:
    response = invoke(api_event(headers={"Content-Type": content_type}))

    assert_problem(response, 415, "unsupported-media-type")
    if content_type is None:
        assert response.body["detail"] == "Send the body as application/json (Content-Type is missing)"
    elif "charset" not in content_type:
        assert response.body["detail"] == "Send the body as application/json"
    else:
        assert response.body["detail"] == "The JSON body must be encoded as UTF-8"
    assert_nothing_stored(backend)


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf8", 'application/json; charset="UTF-8"', "application/json;charset=utf-8"],
)
def test_json_declared_as_utf8_in_any_usual_spelling_is_accepted(invoke, content_type: str) -> None:
    assert invoke(api_event(headers={"Content-Type": content_type})).status == 201


def test_a_header_sent_with_two_different_values_is_400(backend: Backend, invoke) -> None:
    event = api_event(headers={"Idempotency-Key": None})
    event["multiValueHeaders"]["Idempotency-Key"] = ["key-1", "key-2"]

    response = invoke(event)

    assert_problem(response, 400, "validation-error")
    assert response.body["detail"] == "The Idempotency-Key header was sent more than once"
    assert_nothing_stored(backend)


def test_content_type_header_name_is_case_insensitive(invoke) -> None:
    event = api_event(headers={"Content-Type": None})
    event["headers"]["content-type"] = "Application/JSON"

    assert invoke(event).status == 201


def test_rejection_is_counted_and_logged_without_the_body(invoke, output) -> None:
    secret = "Secret Street 1"
    invoke(api_event(order_body(customer_id="bad id", shipping_address={**ADDRESS, "line1": secret})))

    written = output()
    assert "RejectedRequests" in written.metric_names()
    assert "request rejected" in written.messages()
    assert secret not in json.dumps(written.logs)


def test_a_rejection_is_logged_with_its_status_problem_and_first_20_fields_cut_to_100_characters(
    invoke, output
) -> None:
    # Given a body with 25 unknown fields, each named with 154 characters
    names = [f"k{i:03d}" + "x" * 150 for i in range(25)]

    response = invoke(api_event(order_body(**dict.fromkeys(names, 1))))

    assert response.status == 400
    written = output()
    assert written.metric_values("RejectedRequests") == [[1.0]]
    [line] = [log for log in written.logs if log["message"] == "request rejected"]
    assert (line["status"], line["problem"]) == (400, "validation-error")
    assert line["fields"] == [name[:100] for name in names[:20]]


def test_a_request_without_an_api_gateway_request_id_is_answered_under_lambdas(invoke) -> None:
    event = api_event(order_body(customer_id="bad id"))
    del event["requestContext"]["requestId"]
    context = FakeLambdaContext()

    response = invoke(event, context)

    assert response.status == 400
    assert response.body["request_id"] == context.aws_request_id


def test_body_is_checked_only_after_the_caller(invoke) -> None:
    # No identity: 401 even though the body is also bad
    assert invoke(api_event(raw_body="{", claims=None)).status == 401


def test_shipping_address_may_be_null(invoke) -> None:
    assert invoke(api_event(order_body(shipping_address=None))).status == 201


def test_optional_address_lines_may_be_omitted_or_given(invoke) -> None:
    address = {**ADDRESS, "line2": "Flat 2", "region": "CA"}
    response = invoke(api_event(order_body(shipping_address=address)))

    assert response.status == 201
    assert response.body["shipping_address"] == address


_ = UNSET
