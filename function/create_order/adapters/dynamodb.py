"""The products catalog and the orders table, with DynamoDB attribute maps built directly."""

from __future__ import annotations

import random
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from create_order import deadline, money
from create_order.adapters.clients import dependency_failure, ensure_time_for
from create_order.errors import CatalogDataError, DependencyError
from create_order.models import Order, OrderLine, Product
from create_order.names import ORDERS_TABLE, PRODUCTS_TABLE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, KeysAndAttributesUnionTypeDef

PRODUCT_CACHE_TTL_S = 30.0
"""How long a price read from the catalog is reused by this execution environment."""
PRODUCT_CACHE_MAX_ENTRIES = 10_000
UNPROCESSED_KEYS_ATTEMPTS = 4
"""BatchGetItem calls made while DynamoDB keeps answering with ``UnprocessedKeys``."""
_UNPROCESSED_BACKOFF_S = 0.05
JITTER = random.Random()  # noqa: S311 - retry jitter, not a secret  # nosec B311
"""The unprocessed keys' retry jitter: its own random state, reseeded after a SnapStart restore (``snapstart``)."""

_PRODUCT_PROJECTION = "#id, #price, #currency, #active"
"""What a BatchGetItem reads of a product: the attributes a price needs, nothing else."""
_PRODUCT_NAMES = {"#id": "product_id", "#price": "price", "#currency": "currency", "#active": "active"}


class DynamoDBProductCatalog:
    """Products by id: one ``BatchGetItem``, unprocessed keys retried, a short TTL cache."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        ttl_s: float = PRODUCT_CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl_s = ttl_s
        self._clock = clock
        self._sleep = sleep
        self._cache: dict[str, tuple[float, Product]] = {}

    def get_products(self, product_ids: Sequence[str]) -> Mapping[str, Product]:
        """The existing products among ``product_ids`` (fresh from cache, else from the table).

        Raises:
            DependencyError: the table failed, or kept keys unprocessed through every attempt.
            CatalogDataError: a product record has an unusable price or currency.
        """
        now = self._clock()
        found: dict[str, Product] = {}
        wanted: list[str] = []
        for product_id in dict.fromkeys(product_ids):
            cached = self._cache.get(product_id)
            if cached is not None and cached[0] > now:
                found[product_id] = cached[1]
            else:
                wanted.append(product_id)
        if wanted:
            fetched = self._fetch(wanted)
            self._remember(fetched, now + self._ttl_s)
            found.update(fetched)
        return found

    def _fetch(self, product_ids: list[str]) -> dict[str, Product]:
        request: KeysAndAttributesUnionTypeDef = {
            "Keys": [{"product_id": {"S": product_id}} for product_id in product_ids],
            "ProjectionExpression": _PRODUCT_PROJECTION,
            "ExpressionAttributeNames": _PRODUCT_NAMES,
        }
        products: dict[str, Product] = {}
        for attempt in range(UNPROCESSED_KEYS_ATTEMPTS):
            if attempt:
                self._back_off(attempt)
            ensure_time_for(PRODUCTS_TABLE)
            try:
                response = self._client.batch_get_item(RequestItems={self._table: request})
            except (ClientError, BotoCoreError) as exc:
                raise dependency_failure(PRODUCTS_TABLE, exc) from exc
            for item in response.get("Responses", {}).get(self._table, []):
                product = _product_from_item(item)
                products[product.product_id] = product
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
            if not unprocessed or not unprocessed.get("Keys"):
                return products
            request = unprocessed
        raise DependencyError(
            PRODUCTS_TABLE,
            f"{PRODUCTS_TABLE} left keys unprocessed after {UNPROCESSED_KEYS_ATTEMPTS} attempts",
            code="UnprocessedKeys",
        )

    def _back_off(self, attempt: int) -> None:
        delay = JITTER.uniform(0, _UNPROCESSED_BACKOFF_S * 2**attempt)
        if deadline.current().remaining() - delay < 0:
            delay = 0.0
        self._sleep(delay)

    def forget(self) -> None:
        """Empty the cache: every product is read again at its next order."""
        self._cache.clear()

    def _remember(self, products: Mapping[str, Product], expires_at: float) -> None:
        if len(self._cache) + len(products) > PRODUCT_CACHE_MAX_ENTRIES:
            self._cache.clear()
        for product_id, product in products.items():
            self._cache[product_id] = (expires_at, product)


def _product_from_item(item: Mapping[str, AttributeValueTypeDef]) -> Product:
    product_id = item.get("product_id", {}).get("S", "")
    unusable = CatalogDataError(
        PRODUCTS_TABLE, f"product {product_id!r} has no usable price or currency", code="BadProduct"
    )
    try:
        price = Decimal(item["price"]["N"])
        currency = item["currency"]["S"]
    except (KeyError, InvalidOperation) as exc:
        raise unusable from exc
    if not price.is_finite() or price < 0 or not money.is_currency_code(currency):
        raise unusable
    return Product(
        product_id=product_id,
        price=price,
        currency=currency,
        active=item.get("active", {}).get("BOOL") is True,
    )


class DynamoDBOrderRepository:
    """Orders by id, written once with a conditional ``PutItem``."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def put_new(self, order: Order) -> Order | None:
        """Store ``order`` unless its id exists; return the stored order if it does.

        Raises:
            DependencyError: the table failed after bounded retries.
        """
        ensure_time_for(ORDERS_TABLE)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=order_to_item(order),
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                existing = exc.response.get("Item")
                if existing:
                    return order_from_item(existing)  # type: ignore[arg-type]
            raise dependency_failure(ORDERS_TABLE, exc) from exc
        except BotoCoreError as exc:
            raise dependency_failure(ORDERS_TABLE, exc) from exc
        return None


def _n(value: Decimal | int) -> AttributeValueTypeDef:
    return {"N": format(value, "f") if isinstance(value, Decimal) else str(value)}


def order_to_item(order: Order) -> dict[str, AttributeValueTypeDef]:
    """The DynamoDB item of an order."""
    item: dict[str, AttributeValueTypeDef] = {
        "id": {"S": order.id},
        "customer_id": {"S": order.customer_id},
        "status": {"S": order.status},
        "items": {
            "L": [
                {
                    "M": {
                        "product_id": {"S": line.product_id},
                        "quantity": _n(line.quantity),
                        "unit_price": _n(line.unit_price),
                        "line_total": _n(line.line_total),
                    }
                }
                for line in order.lines
            ]
        },
        "item_count": _n(len(order.lines)),
        "total": _n(order.total),
        "currency": {"S": order.currency},
        "created_at": {"S": order.created_at},
        "request_hash": {"S": order.request_hash},
        "write_token": {"S": order.write_token},
    }
    if order.shipping_address is not None:
        item["shipping_address"] = {"M": {k: {"S": v} for k, v in order.shipping_address.items()}}
    if order.idempotency_key is not None:
        item["idempotency_key"] = {"S": order.idempotency_key}
    return item


def order_from_item(item: Mapping[str, Any]) -> Order:
    """The order stored in a DynamoDB item.

    Raises:
        DependencyError: the item is not an order this function wrote.
    """
    try:
        address = item.get("shipping_address")
        return Order(
            id=item["id"]["S"],
            customer_id=item["customer_id"]["S"],
            status=item["status"]["S"],
            lines=tuple(
                OrderLine(
                    product_id=line["M"]["product_id"]["S"],
                    quantity=int(line["M"]["quantity"]["N"]),
                    unit_price=Decimal(line["M"]["unit_price"]["N"]),
                    line_total=Decimal(line["M"]["line_total"]["N"]),
                )
                for line in item["items"]["L"]
            ),
            total=Decimal(item["total"]["N"]),
            currency=item["currency"]["S"],
            created_at=item["created_at"]["S"],
            request_hash=item["request_hash"]["S"],
            write_token=item["write_token"]["S"],
            shipping_address={k: v["S"] for k, v in address["M"].items()} if address else None,
            idempotency_key=item["idempotency_key"]["S"] if "idempotency_key" in item else None,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DependencyError(ORDERS_TABLE, f"{ORDERS_TABLE} holds an unreadable order", code="BadOrderItem") from exc
