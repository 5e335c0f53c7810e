"""The stack's products table: seeded from a catalog file, and read back for a run."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import boto3

from harness.seed import product_item
from loadtests.deployed.errors import CatalogConflictError, DeployedInputError

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

Catalog = dict[str, tuple[str, str, bool]]
"""product_id -> (price, currency, active): the local stage's ``CATALOG`` shape."""
FIELDS = ("price", "currency", "active")
TRANSACTION_ITEMS = 100
"""DynamoDB's most items in one ``TransactWriteItems`` (and keys in one ``BatchGetItem``)."""
UNPROCESSED_TRIES = 5


def load_catalog_file(path: Path) -> Catalog:
    """A catalog file, ``{product_id: {"price": "1.37", "currency": "USD", "active": true}}``, checked.

    The shape of the local stage's catalog (``stage.json``) and of a run's ``catalog.json``.
    """
    try:
        document = json.loads(path.read_text(), parse_float=Decimal)
    except FileNotFoundError as exc:
        raise DeployedInputError(f"no catalog file {path}") from exc
    except json.JSONDecodeError as exc:
        raise DeployedInputError(f"catalog file {path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not document:
        raise DeployedInputError(
            f"catalog file {path}: expected a non-empty object {{product_id: {{price, currency, active}}}}"
        )
    problems = [problem for product_id, spec in document.items() for problem in _problems(product_id, spec)]
    if problems:
        raise DeployedInputError(f"catalog file {path}: " + "; ".join(problems))
    return {pid: (str(spec["price"]), spec["currency"], spec["active"]) for pid, spec in document.items()}


def _problems(product_id: str, spec: Any) -> list[str]:
    if not product_id.strip():
        return ["an empty product id"]
    if not isinstance(spec, dict) or set(spec) != set(FIELDS):
        return [f"product {product_id}: expected exactly the fields {', '.join(FIELDS)}"]
    problems = []
    price = spec["price"]
    try:
        usable = not isinstance(price, bool) and Decimal(str(price)).is_finite() and Decimal(str(price)) >= 0
    except InvalidOperation:
        usable = False
    if not usable:
        problems.append(f"product {product_id}: price {price!r} is not a non-negative number")
    if not isinstance(spec["currency"], str) or not re.fullmatch(r"[A-Z]{3}", spec["currency"]):
        problems.append(f"product {product_id}: currency {spec['currency']!r} is not an ISO 4217 code")
    if not isinstance(spec["active"], bool):
        problems.append(f"product {product_id}: active {spec['active']!r} is not true or false")
    return problems


def seed_products(table: str, catalog: Catalog, *, overwrite: bool) -> int:
    """Write the catalog into the products table; the number written.

    Without ``overwrite`` it writes nothing when any product is already there, and names them
    all; each batch is also written as one transaction conditioned on its products being
    absent, so a product that appears meanwhile is never overwritten either.
    """
    dynamodb = boto3.client("dynamodb")
    ids = sorted(catalog)
    if not overwrite:
        existing = existing_products(dynamodb, table, ids)
        if existing:
            raise CatalogConflictError(table, existing)
    written = 0
    for start in range(0, len(ids), TRANSACTION_ITEMS):
        batch = ids[start : start + TRANSACTION_ITEMS]
        puts = [_put(table, p, catalog[p], overwrite=overwrite) for p in batch]
        try:
            dynamodb.transact_write_items(TransactItems=puts)
        except dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            appeared = [p for p, r in zip(batch, reasons, strict=False) if r.get("Code") == "ConditionalCheckFailed"]
            if not appeared:
                raise
            raise CatalogConflictError(table, appeared, written) from exc
        written += len(batch)
    return written


def existing_products(dynamodb: Any, table: str, product_ids: list[str]) -> list[str]:
    """Which of ``product_ids`` the table holds."""
    found: list[str] = []
    for start in range(0, len(product_ids), TRANSACTION_ITEMS):
        keys = [{"product_id": {"S": p}} for p in product_ids[start : start + TRANSACTION_ITEMS]]
        request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": "product_id"}}
        for attempt in range(UNPROCESSED_TRIES):
            answer = dynamodb.batch_get_item(RequestItems=request)
            found.extend(item["product_id"]["S"] for item in answer["Responses"].get(table, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.1 * 2**attempt)  # the table is throttling: back off before asking again
        else:
            raise RuntimeError(f"{table} left keys unprocessed after {UNPROCESSED_TRIES} tries")
    return sorted(found)


def read_catalog(table: str) -> dict[str, dict[str, Any]]:
    """The products the scenarios may order, from the stack's products table."""
    catalog: dict[str, dict[str, Any]] = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            catalog[item["product_id"]["S"]] = {
                "price": item.get("price", {}).get("N"),
                "currency": item.get("currency", {}).get("S"),
                "active": item.get("active", {}).get("BOOL") is True,
            }
    return catalog


def orderable(catalog: dict[str, dict[str, Any]]) -> list[str]:
    """The products a customer of the scenarios orders: active, priced in USD (as the locustfile picks them)."""
    return sorted(p for p, spec in catalog.items() if spec["active"] and spec["currency"] == "USD")


def _put(table: str, product_id: str, entry: tuple[str, str, bool], *, overwrite: bool) -> TransactWriteItemTypeDef:
    """One product's put in a batch's transaction; without ``overwrite``, on condition that it is absent."""
    put: PutTypeDef = {"TableName": table, "Item": product_item(product_id, *entry)}
    if not overwrite:
        put["ConditionExpression"] = "attribute_not_exists(product_id)"
    return {"Put": put}
