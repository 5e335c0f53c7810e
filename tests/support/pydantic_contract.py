"""The request contract as its first version declared it: a strict pydantic model.

Not used by the function. ``tests/unit/test_contract.py`` holds the written-out contract of
``create_order.models`` to this model (field paths, codes and sentences) on generated documents.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from create_order.models import ISO_3166_ALPHA_2

_FORBIDDEN_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


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


Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text20 = Annotated[str, StringConstraints(min_length=1, max_length=20), AfterValidator(_plain_text)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_plain_text)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_plain_text)]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


class OrderItemRequest(BaseModel):
    model_config = _STRICT

    product_id: Identifier
    quantity: Annotated[int, Field(ge=1, le=1000)]


class ShippingAddress(BaseModel):
    model_config = _STRICT

    name: Text100
    line1: Text200
    line2: Text200 | None = None
    city: Text100
    region: Text100 | None = None
    postal_code: Text20
    country: Annotated[str, AfterValidator(_country)]


class CreateOrderRequest(BaseModel):
    model_config = _STRICT

    customer_id: Identifier
    items: Annotated[list[OrderItemRequest], Field(min_length=1, max_length=50)]
    shipping_address: ShippingAddress | None = None


def problems(document: object) -> list[tuple[str, str, str]]:
    """(field path, code, sentence) of every error, as the API reported them; [] if valid."""
    try:
        CreateOrderRequest.model_validate(document, strict=True)
    except PydanticValidationError as exc:
        return [
            (_path(error["loc"]), error["type"], error["msg"])
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    return []


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def dumped(document: object) -> dict[str, object] | None:
    """The shipping address as the first version stored it (nulls dropped), for a valid document."""
    request = CreateOrderRequest.model_validate(document, strict=True)
    return request.shipping_address.model_dump(exclude_none=True) if request.shipping_address else None
