"""The request contract as its first version declared it: a strict pydantic model.

Not used by the function. ``tests/unit/test_contract.py`` holds the written-out contract of
``create_order.request_contract`` to this model (field paths, codes and sentences) on generated documents.
Only the constants (limits, patterns, countries) come from ``create_order.request_contract``; the rules
that use them are this module's own, so the two stay independent implementations.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from create_order.request_contract import (
    CONTROL_CHARACTERS,
    IDENTIFIER_PATTERN,
    ISO_3166_ALPHA_2,
    MAX_ITEMS,
    MAX_QUANTITY,
    MIN_QUANTITY,
    RECORDS,
    SURROGATES,
    UNIQUE_ITEM_FIELD,
)

_FORBIDDEN_TEXT = re.compile(f"[{CONTROL_CHARACTERS}{SURROGATES}]")


def _plain_text(value: str) -> str:
    if _FORBIDDEN_TEXT.search(value):
        raise PydanticCustomError("invalid_characters", "Text must not contain control characters or lone surrogates")
    if not value.strip():
        raise PydanticCustomError("blank", "Text must not be blank")
    return value


def _country(value: str) -> str:
    if value not in ISO_3166_ALPHA_2:
        raise PydanticCustomError("invalid_country", "Country must be an ISO 3166-1 alpha-2 code, e.g. US")
    return value


def _text(field: str) -> Any:
    """The address field's text, as long as the contract's table allows."""
    max_length = RECORDS["ShippingAddress"][field].max_length
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length), AfterValidator(_plain_text)]


Name, Line1, Line2, City, Region, PostalCode = map(_text, ("name", "line1", "line2", "city", "region", "postal_code"))
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


class OrderItemRequest(BaseModel):
    model_config = _STRICT

    product_id: Identifier
    quantity: Annotated[int, Field(ge=MIN_QUANTITY, le=MAX_QUANTITY)]


class ShippingAddress(BaseModel):
    model_config = _STRICT

    name: Name
    line1: Line1
    line2: Line2 | None = None
    city: City
    region: Region | None = None
    postal_code: PostalCode
    country: Annotated[str, AfterValidator(_country)]


class CreateOrderRequest(BaseModel):
    model_config = _STRICT

    customer_id: Identifier
    items: Annotated[list[OrderItemRequest], Field(min_length=1, max_length=MAX_ITEMS)]
    shipping_address: ShippingAddress | None = None


def problems(document: object) -> list[tuple[str, str, str]]:
    """(field path, code, sentence) of every error, as the API reported them; [] if valid.

    Repeated products come first: the API checked them before the model, in its own step.
    """
    found = _repeats(document)
    try:
        CreateOrderRequest.model_validate(document, strict=True)
    except PydanticValidationError as exc:
        return found + [
            (_path(error["loc"]), error["type"], error["msg"])
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    return found


def _repeats(document: object) -> list[tuple[str, str, str]]:
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return []  # too many: the list is refused as a whole, its entries are not looked at
    ids = [item.get(UNIQUE_ITEM_FIELD) if isinstance(item, dict) else None for item in items]
    return [
        (
            f"items[{index}].{UNIQUE_ITEM_FIELD}",
            "duplicate_product",
            "A product may appear once; raise its quantity instead",
        )
        for index, product_id in enumerate(ids)
        if isinstance(product_id, str) and product_id in ids[:index]
    ]


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def dumped(document: object) -> dict[str, object] | None:
    """The shipping address as the first version stored it (nulls dropped), for a valid document."""
    request = CreateOrderRequest.model_validate(document, strict=True)
    return request.shipping_address.model_dump(exclude_none=True) if request.shipping_address else None
