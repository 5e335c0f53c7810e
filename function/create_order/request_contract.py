"""The request contract: its rules as data, and the readers that hold a body to them.

The rules are data (``RECORDS`` and the limits above it), the one source that openapi.yaml's
request schemas are generated from (``python -m scripts.openapi sync``). The body is read field
by field against them, and every failing field is reported at once with the codes and sentences
of the contract's first version, a strict pydantic model (a repeated product, checked first, is
this contract's own). It is written out rather than declared with a validation library because
that library was the largest import after boto3, a cold start out of proportion to checking three
small records (BENCHMARKS.md, T4); ``tests/unit/test_contract.py`` holds this code to the pydantic
model it replaced, example by generated example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from create_order.errors import FieldProblem

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Reader = Callable[[Any, str, list[FieldProblem]], Any]
    """Reads one value found at a field path, appending its problems; ``_INVALID`` if any."""

# ---- the rules as data: the one source of the contract ----------------------------------------
# The readers below are built from these; ``python -m scripts.openapi sync`` writes openapi.yaml's
# request schemas from them and the pydantic oracle in the tests takes its limits from them.

MAX_ITEMS = 50
MIN_QUANTITY = 1
MAX_QUANTITY = 1000

IDENTIFIER_MAX_LENGTH = 64
IDENTIFIER_PATTERN = f"^[A-Za-z0-9_-]{{1,{IDENTIFIER_MAX_LENGTH}}}$"
IDENTIFIER = re.compile(IDENTIFIER_PATTERN[1:-1])
"""Customer and product ids; use ``fullmatch``: "$" alone would let a final newline in."""
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
"""A character class: C0, DEL, C1 and the Unicode line/paragraph separators."""
SURROGATES = r"\ud800-\udfff"
"""A character class: lone surrogates (text to Python's ``re``; never in JSON text sent as UTF-8)."""
_FORBIDDEN_TEXT = re.compile(f"[{CONTROL_CHARACTERS}{SURROGATES}]")
UNIQUE_ITEM_FIELD = "product_id"
"""A product may appear once in ``items``."""

ISO_3166_ALPHA_2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()  # noqa: SIM905 - a compact table beats 249 lines
)
"""The officially assigned ISO 3166-1 alpha-2 country codes."""


class InvalidValueError(ValueError):
    """One value broke its rule: a stable code and the sentence for the client."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# ---- rules for one value: return it, or raise InvalidValueError --------------------------------


def _string(value: Any, *, constrained: bool = True) -> str:
    """Exactly a str; one held to a pattern or a length must be encodable text."""
    if type(value) is not str:  # strict: JSON gives exactly str, nothing is coerced
        raise InvalidValueError("string_type", "Input should be a valid string")
    if constrained and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: not text in any encoding
            detail = "Input should be a valid string, unable to parse raw data as a unicode string"
            raise InvalidValueError("string_unicode", detail) from None
    return value


def _identifier(value: Any) -> str:
    text = _string(value)
    if not IDENTIFIER.fullmatch(text):
        raise InvalidValueError("string_pattern_mismatch", f"String should match pattern '{IDENTIFIER_PATTERN}'")
    return text


def _text(max_length: int, value: Any) -> str:
    """1 to ``max_length`` characters, free of control characters and lone surrogates, not blank."""
    text = _string(value)
    if not text:
        raise InvalidValueError("string_too_short", "String should have at least 1 character")
    if len(text) > max_length:
        raise InvalidValueError("string_too_long", f"String should have at most {max_length} characters")
    if _FORBIDDEN_TEXT.search(text):
        raise InvalidValueError("invalid_characters", "Text must not contain control characters or lone surrogates")
    if not text.strip():
        raise InvalidValueError("blank", "Text must not be blank")
    return text


def _country(value: Any) -> str:
    text = _string(value, constrained=False)  # a lone surrogate is simply not a country
    if text not in ISO_3166_ALPHA_2:
        raise InvalidValueError("invalid_country", "Country must be an ISO 3166-1 alpha-2 code, e.g. US")
    return text


def _quantity(value: Any) -> int:
    if type(value) is not int:  # strict: neither a bool nor a float such as 1.0
        raise InvalidValueError("int_type", "Input should be a valid integer")
    if value < MIN_QUANTITY:
        raise InvalidValueError("greater_than_equal", f"Input should be greater than or equal to {MIN_QUANTITY}")
    if value > MAX_QUANTITY:
        raise InvalidValueError("less_than_equal", f"Input should be less than or equal to {MAX_QUANTITY}")
    return value


# ---- records: every field read, every problem kept ------------------------------------------------
# A reader is one of these functions bound to its parameters (functools.partial), not a closure
# made by a factory: its code then runs inside each read, where the tests (and mutation testing,
# which switches a mutant on per call) see it, rather than once at import.

_ABSENT = object()
_INVALID = object()


def _path(parent: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name or "body"  # an unnamed top-level field: the body


def _read_scalar(rule: Callable[[Any], Any], value: Any, at: str, problems: list[FieldProblem]) -> Any:
    """One value held to ``rule``."""
    try:
        return rule(value)
    except InvalidValueError as invalid:
        problems.append(FieldProblem(at, invalid.code, invalid.detail))
        return _INVALID


def _read_optional(read: Reader, value: Any, at: str, problems: list[FieldProblem]) -> Any:
    """``None`` for a null, else what ``read`` reads."""
    return None if value is None else read(value, at, problems)


def _read_record(
    title: str, fields: dict[str, tuple[Reader, bool]], value: Any, at: str, problems: list[FieldProblem]
) -> Any:
    """A JSON object with exactly these fields (name -> reader, required); others are refused."""
    if type(value) is not dict:
        detail = f"Input should be a valid dictionary or instance of {title}"
        problems.append(FieldProblem(at or "body", "model_type", detail))
        return _INVALID
    found = len(problems)
    values: dict[str, Any] = {}
    for name, (field, required) in fields.items():
        raw = value.get(name, _ABSENT)
        if raw is _ABSENT:
            if required:
                problems.append(FieldProblem(_path(at, name), "missing", "Field required"))
            values[name] = None
        else:
            values[name] = field(raw, _path(at, name), problems)
    problems.extend(
        FieldProblem(_path(at, name), "extra_forbidden", "Extra inputs are not permitted")
        for name in value
        if name not in fields
    )
    return values if len(problems) == found else _INVALID


def _read_items(item: Reader, value: Any, at: str, problems: list[FieldProblem]) -> Any:
    """A JSON array of 1 to MAX_ITEMS items; past the limit the items are not read."""
    if type(value) is not list:
        problems.append(FieldProblem(at, "list_type", "Input should be a valid list"))
        return _INVALID
    if not value:
        problems.append(FieldProblem(at, "too_short", "List should have at least 1 item after validation, not 0"))
        return _INVALID
    if len(value) > MAX_ITEMS:
        detail = f"List should have at most {MAX_ITEMS} items after validation, not {len(value)}"
        problems.append(FieldProblem(at, "too_long", detail))
        return _INVALID
    found = len(problems)
    read_items = [item(entry, _path(at, index), problems) for index, entry in enumerate(value)]
    return read_items if len(problems) == found else _INVALID


def _repeated(value: Any) -> list[FieldProblem]:
    """Every repeat of an item's UNIQUE_ITEM_FIELD, whatever else is wrong with the document."""
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return []
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(items):
        product_id = item.get(UNIQUE_ITEM_FIELD) if isinstance(item, dict) else None
        if isinstance(product_id, str):
            if product_id in seen:
                problems.append(
                    FieldProblem(
                        _path(_path("items", index), UNIQUE_ITEM_FIELD),
                        "duplicate_product",
                        "A product may appear once; raise its quantity instead",
                    )
                )
            seen.add(product_id)
    return problems


@dataclass(frozen=True, slots=True)
class Rule:
    """One field of the contract: its kind, whether it must be sent, and its limit.

    An optional field may also be sent as null. ``max_length`` bounds a ``text``; ``record``
    names the record a ``record`` field is, or the record of each entry of an ``items`` field.
    """

    kind: Literal["identifier", "text", "country", "quantity", "items", "record"]
    required: bool = True
    max_length: int = 0
    record: str = ""


RECORDS: dict[str, dict[str, Rule]] = {
    "CreateOrderRequest": {
        "customer_id": Rule("identifier"),
        "items": Rule("items", record="OrderItemRequest"),
        "shipping_address": Rule("record", required=False, record="ShippingAddress"),
    },
    "OrderItemRequest": {"product_id": Rule("identifier"), "quantity": Rule("quantity")},
    "ShippingAddress": {
        "name": Rule("text", max_length=100),
        "line1": Rule("text", max_length=200),
        "line2": Rule("text", required=False, max_length=200),
        "city": Rule("text", max_length=100),
        "region": Rule("text", required=False, max_length=100),
        "postal_code": Rule("text", max_length=20),
        "country": Rule("country"),
    },
}
"""The request's records, field by field in the contract's order; the body is a CreateOrderRequest."""

_SCALARS: dict[str, Callable[[Any], Any]] = {"identifier": _identifier, "country": _country, "quantity": _quantity}


def _reader(rule: Rule, records: Mapping[str, Mapping[str, Rule]]) -> Reader:
    if rule.kind == "text":
        read: Reader = partial(_read_scalar, partial(_text, rule.max_length))
    elif rule.kind == "items":
        read = partial(_read_items, record_reader(rule.record, records))
    elif rule.kind == "record":
        read = record_reader(rule.record, records)
    else:
        read = partial(_read_scalar, _SCALARS[rule.kind])
    return read if rule.required else partial(_read_optional, read)


def record_reader(title: str, records: Mapping[str, Mapping[str, Rule]]) -> Reader:
    """The reader of the record ``title`` of a rule table such as :data:`RECORDS`.

    Built once at import for the contract; tests build it from tables of their own, since code
    that runs only at import is run before any test (and before mutation testing switches a
    mutant on).
    """
    fields = {name: (_reader(rule, records), rule.required) for name, rule in records[title].items()}
    return partial(_read_record, title, fields)


_ORDER = record_reader("CreateOrderRequest", RECORDS)


def read_body(document: Any) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """The body's fields by name as a CreateOrderRequest, or ``None`` and every problem (paths as sent)."""
    problems = _repeated(document)
    values = _ORDER(document, "", problems)
    if values is _INVALID or problems:
        return None, problems
    return values, problems
