"""Fixtures: an in-process moto backend (tables, queue, catalog) and the real handler over it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

# The handler module builds its settings and clients at import, as in Lambda.
os.environ.setdefault("ORDERS_TABLE", "orders")
os.environ.setdefault("PRODUCTS_TABLE", "products")
os.environ.setdefault("PROCESSING_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/order-processing")

from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from create_order import handler
from create_order.adapters.clients import build_clients
from create_order.settings import Settings
from harness.lambda_context import FakeLambdaContext

# product_id: (price, currency, active)
CATALOG: dict[str, tuple[str, str, bool]] = {
    "P-100": ("19.99", "USD", True),
    "P-200": ("5.00", "USD", True),
    "P-300": ("7.50", "USD", False),
    "P-EUR": ("10.00", "EUR", True),
    "P-HALF": ("0.125", "USD", True),
    "P-JPY": ("1234", "JPY", True),
}

_deserialize = TypeDeserializer().deserialize


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str


@dataclass
class Backend:
    """The moto state a test asserts on."""

    dynamodb: Any
    sqs: Any
    settings: Settings
    _messages: list[dict[str, Any]] = field(default_factory=list)

    def orders(self) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=self.settings.orders_table)["Items"]
        return [{k: _deserialize(v) for k, v in item.items()} for item in items]

    def messages(self) -> list[dict[str, Any]]:
        """Every message queued so far (drained into this list; order of arrival)."""
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.settings.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return self._messages
            self._messages.extend(batch)
            # Deleted, so that a message is never counted twice once its visibility times out.
            self.sqs.delete_message_batch(
                QueueUrl=self.settings.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    def message_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in self.messages()]


def create_backend(*, fifo: bool = False) -> Backend:
    dynamodb, sqs = build_clients()
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName="products",
        KeySchema=[{"AttributeName": "product_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "product_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for product_id, (price, currency, active) in CATALOG.items():
        dynamodb.put_item(
            TableName="products",
            Item={
                "product_id": {"S": product_id},
                "price": {"N": price},
                "currency": {"S": currency},
                "active": {"BOOL": active},
                "name": {"S": f"Product {product_id}"},
            },
        )
    name = "order-processing.fifo" if fifo else "order-processing"
    attributes = {"FifoQueue": "true"} if fifo else {}
    queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    settings = Settings.from_env(
        {"ORDERS_TABLE": "orders", "PRODUCTS_TABLE": "products", "PROCESSING_QUEUE_URL": queue_url}
    )
    return Backend(dynamodb=dynamodb, sqs=sqs, settings=settings)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def backend(aws: None) -> Backend:
    return create_backend()


Invoke = Callable[..., Response]


def make_invoke(backend: Backend) -> Invoke:
    lambda_handler = handler.instrument(
        handler.build_endpoint(backend.settings, clients=(backend.dynamodb, backend.sqs))
    )

    def invoke(event: dict[str, Any], context: FakeLambdaContext | None = None) -> Response:
        result = lambda_handler(event, context or FakeLambdaContext())
        return Response(
            status=result["statusCode"],
            headers=result["headers"],
            body=json.loads(result["body"]),
            raw=result["body"],
        )

    return invoke


@pytest.fixture
def invoke(backend: Backend) -> Invoke:
    return make_invoke(backend)


@dataclass
class Output:
    """What the function wrote: structured log records and EMF metric blobs."""

    logs: list[dict[str, Any]]
    emf: list[dict[str, Any]]

    def metric_names(self) -> list[str]:
        return [m["Name"] for blob in self.emf for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]

    def messages(self) -> list[str]:
        return [record["message"] for record in self.logs]

    def metric_values(self, name: str) -> list[Any]:
        """Each value written for metric ``name``, one per EMF blob that carries it (Powertools writes a list)."""
        return [blob[name] for blob in self.emf if name in blob]


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], Output]:
    """Collects the function's log lines and EMF blobs written so far."""
    import io

    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)

    def read() -> Output:
        printed = capsys.readouterr().out.splitlines()
        lines = [json.loads(line) for line in printed + stream.getvalue().splitlines() if line.startswith("{")]
        return Output(
            # A line can be both: the "order created" record carries the OrderValue metric.
            logs=[line for line in lines if "level" in line],
            emf=[line for line in lines if "_aws" in line],
        )

    return read
