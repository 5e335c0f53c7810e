"""The request contract (pydantic, strict) and the domain records the logic works on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from decimal import Decimal

MAX_ITEMS = 50
MAX_QUANTITY = 1000
ORDER_STATUS_PENDING = "pending"

# Control characters (C0, DEL, C1), lone surrogates and the Unicode line/paragraph separators.
_FORBIDDEN_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")

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
    """One requested line: a catalog product and how many of it."""

    model_config = _STRICT

    product_id: Identifier
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


class ShippingAddress(BaseModel):
    """Where the order goes; free text is limited in length and free of control characters."""

    model_config = _STRICT

    name: Text100
    line1: Text200
    line2: Text200 | None = None
    city: Text100
    region: Text100 | None = None
    postal_code: Text20
    country: Annotated[str, AfterValidator(_country)]


class CreateOrderRequest(BaseModel):
    """The body of ``POST /orders``."""

    model_config = _STRICT

    customer_id: Identifier
    items: Annotated[list[OrderItemRequest], Field(min_length=1, max_length=MAX_ITEMS)]
    shipping_address: ShippingAddress | None = None

    def canonical(self) -> dict[str, Any]:
        """The request in a form that is equal for equal orders (items sorted, nulls dropped)."""
        return {
            "customer_id": self.customer_id,
            "items": sorted(([i.product_id, i.quantity] for i in self.items), key=lambda pair: pair[0]),
            "shipping_address": (
                self.shipping_address.model_dump(exclude_none=True) if self.shipping_address else None
            ),
        }


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity behind a request, from the Cognito authorizer's claims."""

    subject: str
    customer_id: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog entry as the orders logic needs it."""

    product_id: str
    price: Decimal
    currency: str
    active: bool


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One priced line of an order."""

    product_id: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    """An order as stored in the orders table and shown to the client."""

    id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    total: Decimal
    currency: str
    created_at: str
    request_hash: str
    write_token: str
    shipping_address: dict[str, str] | None = None
    idempotency_key: str | None = None
    status: str = ORDER_STATUS_PENDING

    @property
    def location(self) -> str:
        """The resource path of the order."""
        return f"/orders/{self.id}"

    def to_public(self) -> dict[str, Any]:
        """The order as the API returns it."""
        return {
            "id": self.id,
            "status": self.status,
            "customer_id": self.customer_id,
            "items": [
                {
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "line_total": line.line_total,
                }
                for line in self.lines
            ],
            "total": self.total,
            "currency": self.currency,
            "shipping_address": self.shipping_address,
            "created_at": self.created_at,
        }

    def to_message(self) -> dict[str, Any]:
        """The ``OrderCreated`` event body sent to the processing queue."""
        return {
            "order_id": self.id,
            "customer_id": self.customer_id,
            "total": self.total,
            "currency": self.currency,
            "item_count": len(self.lines),
            "created_at": self.created_at,
        }
