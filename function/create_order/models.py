"""The domain records the logic works on: the request as read, the caller, a product, an order.

The request's rules live in ``request_contract.py``; ``CreateOrderRequest.read`` builds the
record from the fields it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from create_order import request_contract

if TYPE_CHECKING:
    from decimal import Decimal

    from create_order.errors import FieldProblem

ORDER_STATUS_PENDING = "pending"


@dataclass(frozen=True, slots=True)
class OrderItemRequest:
    """One requested line: a catalog product and how many of it."""

    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CreateOrderRequest:
    """The body of ``POST /orders``, read and checked."""

    customer_id: str
    items: tuple[OrderItemRequest, ...]
    shipping_address: dict[str, str] | None = None
    """The address's fields that were sent (not null), in the contract's order."""

    @classmethod
    def read(cls, document: Any) -> tuple[CreateOrderRequest | None, list[FieldProblem]]:
        """The request, or ``None`` and every problem of the document (field paths as sent)."""
        values, problems = request_contract.read_body(document)
        if values is None:
            return None, problems
        address = values["shipping_address"]
        return cls(
            customer_id=values["customer_id"],
            items=tuple(OrderItemRequest(item["product_id"], item["quantity"]) for item in values["items"]),
            shipping_address=(
                None if address is None else {name: text for name, text in address.items() if text is not None}
            ),
        ), problems

    def canonical(self) -> dict[str, Any]:
        """The request in a form that is equal for equal orders (items sorted, nulls dropped)."""
        return {
            "customer_id": self.customer_id,
            "items": sorted(([i.product_id, i.quantity] for i in self.items), key=lambda pair: pair[0]),
            "shipping_address": self.shipping_address,
        }


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated identity behind a request, from the Cognito authorizer's claims.

    ``customer_id`` is empty when the token names no usable one (an admin may still order).
    """

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
