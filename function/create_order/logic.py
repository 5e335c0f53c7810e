"""Creating an order: authorise, price from the catalog, store once, queue.

The logic knows nothing of HTTP or boto3: it takes its catalog, repository and publisher as
parameters (the ``Protocol`` s below), so tests and fault injection plug in their own.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from create_order import jsonio, money
from create_order.errors import (
    DependencyError,
    DuplicateRequestError,
    FieldProblem,
    ForbiddenError,
    IdempotencyKeyReusedError,
    ValidationError,
)
from create_order.models import Caller, CreateOrderRequest, Order, OrderLine, Product

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

ORDER_ID_NAMESPACE = uuid.UUID("5b0f2a6e-3c1d-4d8e-9a57-0c6f8e2b7d41")
"""Namespace of the UUIDv5 order ids derived from ``(customer_id, Idempotency-Key)``."""


class ProductCatalog(Protocol):
    """Reads products by id."""

    def get_products(self, product_ids: Sequence[str]) -> Mapping[str, Product]:
        """The products that exist among ``product_ids``; absent ids are missing from the result.

        Raises:
            DependencyError: the catalog could not be read.
        """
        ...


class OrderRepository(Protocol):
    """Stores orders, at most one per id."""

    def put_new(self, order: Order) -> Order | None:
        """Store ``order`` unless its id exists; return the existing order in that case.

        Raises:
            DependencyError: the table could not be written.
        """
        ...


class OrderPublisher(Protocol):
    """Sends ``OrderCreated`` events to the processing queue."""

    def publish(self, order: Order) -> None:
        """Send the order's event (at least once).

        Raises:
            DependencyError: the queue did not accept the message.
        """
        ...


def utc_now() -> str:
    """Now as RFC 3339 UTC with milliseconds, e.g. ``2026-11-25T06:29:12.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_id_for(customer_id: str, idempotency_key: str | None) -> str:
    """The order id: derived from the customer's key when there is one, random otherwise."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    # customer_id cannot contain ':', so the name is unambiguous.
    return uuid5_text(ORDER_ID_NAMESPACE, f"{customer_id}:{idempotency_key}")


def uuid5_text(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` without building the UUID object (BENCHMARKS.md, T10)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def request_hash(request: CreateOrderRequest) -> str:
    """SHA-256 of the canonical request: equal for the same order, whatever the key order."""
    return hashlib.sha256(jsonio.dumps(request.canonical()).encode()).hexdigest()


class OrderService:
    """Creates orders against a catalog, a repository and a publisher."""

    def __init__(
        self,
        catalog: ProductCatalog,
        repository: OrderRepository,
        publisher: OrderPublisher,
        *,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self._catalog = catalog
        self._repository = repository
        self._publisher = publisher
        self._clock = clock

    def create(self, request: CreateOrderRequest, caller: Caller, idempotency_key: str | None) -> Order:
        """Create the order, or recognise it as a repeat of one already created.

        Returns:
            The new order, stored and queued.

        Raises:
            ForbiddenError: the caller may not order for ``request.customer_id``.
            ValidationError: a product is unknown, inactive or priced in another currency.
            DuplicateRequestError: the same request was already made with this key (the
                existing order has been queued again).
            IdempotencyKeyReusedError: the key was used before for a different request.
            DependencyError: the catalog, the table or the queue failed; ``order_id`` is set
                when the order was stored but not queued.
        """
        if request.customer_id != caller.customer_id and not caller.is_admin:
            raise ForbiddenError("customer_id is not the authenticated customer's id")
        lines, currency = self._price(request)
        order = Order(
            id=order_id_for(request.customer_id, idempotency_key),
            customer_id=request.customer_id,
            lines=lines,
            total=money.order_total([line.line_total for line in lines], currency),
            currency=currency,
            shipping_address=request.shipping_address,
            created_at=self._clock(),
            idempotency_key=idempotency_key,
            request_hash=request_hash(request),
            write_token=os.urandom(16).hex(),  # opaque: which write is this invocation's
        )
        existing = self._repository.put_new(order)
        # A retried PutItem whose first attempt did land finds this very write: not a repeat.
        if existing is not None and existing.write_token != order.write_token:
            if existing.request_hash != order.request_hash:
                raise IdempotencyKeyReusedError(existing.id)
            # Queue it again: the first attempt may have stored the order and then failed to send.
            self._publish(existing)
            raise DuplicateRequestError(existing.to_public())
        self._publish(order)
        return order

    def _publish(self, order: Order) -> None:
        try:
            self._publisher.publish(order)
        except DependencyError as exc:
            raise exc.with_order(order.id) from exc

    def _price(self, request: CreateOrderRequest) -> tuple[tuple[OrderLine, ...], str]:
        products = self._catalog.get_products([item.product_id for item in request.items])
        problems: list[FieldProblem] = []
        currency = ""
        lines: list[OrderLine] = []
        for index, item in enumerate(request.items):
            where = f"items[{index}].product_id"
            product = products.get(item.product_id)
            if product is None:
                problems.append(FieldProblem(where, "unknown_product", "No such product"))
                continue
            if not product.active:
                problems.append(FieldProblem(where, "inactive_product", "The product is not available"))
                continue
            currency = currency or product.currency
            if product.currency != currency:
                problems.append(
                    FieldProblem(where, "currency_mismatch", f"The product is priced in {product.currency}")
                )
                continue
            lines.append(
                OrderLine(
                    product_id=item.product_id,
                    quantity=item.quantity,
                    unit_price=product.price,
                    line_total=money.line_total(product.price, item.quantity, currency),
                )
            )
        if problems:
            raise ValidationError("Some items cannot be ordered", problems)
        return tuple(lines), currency
