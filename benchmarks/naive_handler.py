"""The naive baseline: ``POST /orders`` written the way a first draft usually is.

Kept only to measure the tuned handler against; it is not deployed and not tested for
behaviour. What makes it naive, each a choice ``function/`` does not make:

- SDK clients made per invocation, through boto3's resource layer;
- the full Powertools stack: ``Tracer()`` patching every library it knows (``patch_all``),
  ``APIGatewayRestResolver`` routing, the parser utility with its pydantic model;
- the stdlib ``json`` for the body and the message, floats turned to ``Decimal`` by hand;
- no catalog cache: the prices are read on every invocation.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from pydantic import Field

logger = Logger(service="create-order")
metrics = Metrics(namespace="OrderProcessing", service="create-order")
tracer = Tracer(service="create-order")  # patches every supported module
app = APIGatewayRestResolver()


class OrderItem(BaseModel):
    """One line as the client sends it."""

    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)


class OrderRequest(BaseModel):
    """The body."""

    customer_id: str = Field(min_length=1, max_length=64)
    items: list[OrderItem] = Field(min_length=1, max_length=50)
    shipping_address: dict[str, str] | None = None


def clients() -> tuple[Any, Any]:
    """What each invocation builds: the DynamoDB resource and an SQS client."""
    return boto3.resource("dynamodb"), boto3.client("sqs")


@app.post("/orders")
@tracer.capture_method
def create_order() -> tuple[dict[str, Any], int]:
    """Price, store, queue."""
    request = parse(event=app.current_event.json_body, model=OrderRequest)
    dynamodb, sqs = clients()
    keys = [{"product_id": item.product_id} for item in request.items]
    products_table = os.environ["PRODUCTS_TABLE"]
    found = dynamodb.batch_get_item(RequestItems={products_table: {"Keys": keys}})["Responses"][products_table]
    prices = {p["product_id"]: Decimal(str(p["price"])) for p in found}
    lines: list[dict[str, Any]] = [
        {"product_id": i.product_id, "quantity": i.quantity, "line_total": prices[i.product_id] * i.quantity}
        for i in request.items
    ]
    order = {
        "id": str(uuid.uuid4()),
        "status": "pending",
        "customer_id": request.customer_id,
        "items": lines,
        "total": sum((line["line_total"] for line in lines), Decimal(0)),
        "created_at": datetime.now(UTC).isoformat(),
    }
    dynamodb.Table(os.environ["ORDERS_TABLE"]).put_item(Item=order, ConditionExpression="attribute_not_exists(id)")
    message = {"order_id": order["id"], "customer_id": order["customer_id"], "total": str(order["total"])}
    sqs.send_message(QueueUrl=os.environ["PROCESSING_QUEUE_URL"], MessageBody=json.dumps(message))
    metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
    logger.info("order created", extra={"order_id": order["id"]})
    return json.loads(json.dumps(order, default=str)), 201


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry."""
    return app.resolve(event, context)
