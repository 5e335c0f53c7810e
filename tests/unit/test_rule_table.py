"""The request's reader is built from its rule table: a table of other records reads as its rules say.

The contract's reader is built once, at import, from ``request_contract.RECORDS``; these tests build
readers from tables of their own, so that each kind of rule, a required or optional field, a
length limit, a nested record and a list of records is shown to come from the table (and so
that the building runs inside a test, where mutation testing can see it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from create_order.request_contract import Rule, record_reader

PARCEL = {
    "Parcel": {
        "code": Rule("identifier"),
        "note": Rule("text", required=False, max_length=3),
        "lines": Rule("items", record="Line"),
        "to": Rule("record", required=False, record="Place"),
    },
    "Line": {"qty": Rule("quantity")},
    "Place": {"label": Rule("text", max_length=2), "country": Rule("country")},
}
VALID = {"code": "A-1", "note": "abc", "lines": [{"qty": 2}, {"qty": 1000}], "to": {"label": "HQ", "country": "DE"}}


def read(document: Any, table: dict[str, dict[str, Rule]] = PARCEL) -> tuple[Any, list[tuple[str, str, str]]]:
    problems: list[Any] = []
    value = record_reader("Parcel", table)(document, "", problems)
    return value, [(problem.field, problem.code, problem.detail) for problem in problems]


def codes(document: Any) -> list[tuple[str, str]]:
    return [(field, code) for field, code, _ in read(document)[1]]


def test_a_document_that_keeps_every_rule_reads_into_its_values() -> None:
    assert read(VALID) == (VALID, [])


def test_an_optional_field_may_be_null_or_left_out_a_required_one_may_not() -> None:
    assert read({"code": "A", "lines": [{"qty": 1}], "note": None, "to": None}) == (
        {"code": "A", "note": None, "lines": [{"qty": 1}], "to": None},
        [],
    )
    left_out = {"code": "A", "lines": [{"qty": 1}]}
    assert read(left_out) == ({**left_out, "note": None, "to": None}, [])
    value, problems = read({})
    assert problems == [("code", "missing", "Field required"), ("lines", "missing", "Field required")]
    assert not isinstance(value, dict)  # a record with a problem is not read into values


def test_each_field_is_held_to_its_own_rule() -> None:
    assert codes({**VALID, "code": "a b"}) == [("code", "string_pattern_mismatch")]
    assert read({**VALID, "note": "abcd"})[1] == [
        ("note", "string_too_long", "String should have at most 3 characters")
    ]
    assert read({**VALID, "to": {"label": "HQX", "country": "DE"}})[1] == [
        ("to.label", "string_too_long", "String should have at most 2 characters")
    ]
    assert codes({**VALID, "to": {"label": "HQ", "country": "XX"}}) == [("to.country", "invalid_country")]
    assert codes({**VALID, "lines": [{"qty": 2}, {"qty": 0}]}) == [("lines[1].qty", "greater_than_equal")]
    assert codes({**VALID, "lines": []}) == [("lines", "too_short")]
    assert codes({**VALID, "extra": 1}) == [("extra", "extra_forbidden")]


@pytest.mark.parametrize(
    ("document", "where", "title"),
    [
        ([], "body", "Parcel"),
        ({**VALID, "to": "HQ"}, "to", "Place"),
        ({**VALID, "lines": ["x"]}, "lines[0]", "Line"),
    ],
)
def test_a_record_that_is_not_an_object_is_named_by_its_title(document: Any, where: str, title: str) -> None:
    assert read(document)[1] == [(where, "model_type", f"Input should be a valid dictionary or instance of {title}")]


def test_changing_a_rule_changes_what_is_read() -> None:
    longer_notes = {**PARCEL, "Parcel": {**PARCEL["Parcel"], "note": replace(PARCEL["Parcel"]["note"], max_length=4)}}
    required_place = {**PARCEL, "Parcel": {**PARCEL["Parcel"], "to": replace(PARCEL["Parcel"]["to"], required=True)}}
    document = {**VALID, "note": "abcd"}

    assert read(document, longer_notes) == (document, [])
    assert read({"code": "A", "lines": [{"qty": 1}]}, required_place)[1] == [("to", "missing", "Field required")]
    assert read({"code": "A", "lines": [{"qty": 1}], "to": None}, required_place)[1] == [
        ("to", "model_type", "Input should be a valid dictionary or instance of Place")
    ]
