"""The audit's evidence besides the ledger: the orders table, the queues, the stage consumer's record.

The only part of the audit that talks to AWS (through the operator's or the stage's credentials).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

if TYPE_CHECKING:
    from pathlib import Path

_DESERIALIZE = TypeDeserializer().deserialize


def scan_items(table: str) -> list[dict[str, Any]]:
    """Every item of ``table`` as DynamoDB answers it: attribute values (``{"S": ...}``), sized as it bills them."""
    client = boto3.client("dynamodb")
    return [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def deserialized(item: dict[str, Any]) -> dict[str, Any]:
    """An item's attribute values as Python values (numbers as Decimal)."""
    return {name: _DESERIALIZE(value) for name, value in item.items()}


def scan_orders(table: str) -> list[dict[str, Any]]:
    """Every item of the orders table, deserialised (numbers as Decimal)."""
    return [deserialized(item) for item in scan_items(table)]


def read_messages(path: Path) -> list[dict[str, Any]]:
    """The consumer's record of received messages."""
    if not path.exists():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def leftover_messages(queue_url: str) -> list[dict[str, Any]]:
    """Messages still in a queue (not deleted: they stay for whoever looks next)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        batch = response.get("Messages", [])
        if not batch:
            return found
        found.extend({"order_id": json.loads(m["Body"]).get("order_id"), "message_id": m["MessageId"]} for m in batch)
