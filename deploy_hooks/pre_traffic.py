"""CodeDeploy's pre-traffic hook for create-order: one synthetic order through the new version before any traffic.

A deploy publishes a version and CodeDeploy shifts the ``live`` alias to it (the template's
``DeploymentPreference``). Before the first request is shifted, CodeDeploy invokes this function
with ``{"DeploymentId", "LifecycleEventHookExecutionId"}``; the deployment goes on only if it
reports ``Succeeded`` (``PutLifecycleEventHookExecutionStatus``), and is stopped and rolled back
on ``Failed`` or on no report within the hook's hour.

What it checks, invoking the new version itself (``NEW_VERSION``: the version's ARN, which the
template passes as ``!Ref CreateOrderFunction.Version``), never the alias:

1. the answer to one order of an active USD product of the catalog by a synthetic customer
   (``synthetic-pretraffic-<deployment id>``, under the reserved synthetic prefix that consumers
   and dashboards leave out): a 201 whose body is an order — an id, that customer, ``pending``,
   the one line at the catalog's price, its total and currency;
2. the order is in the orders table as answered (read strongly consistent);
3. its message on the processing queue: looked for without hiding it from the queue's
   consumers (``VisibilityTimeout=0``), a few receives long. A 201 already means the queue
   accepted it (the function answers 500 otherwise); a consumer may have taken it first, so a
   message not seen is reported, not failed on.

Then it cleans what it created (the order, conditioned on its synthetic customer; the message if
seen) and reports. Each problem is logged as one JSON line and returned.

Standard library and boto3 (the Lambda runtime's) only: nothing of the endpoint's package or of
the harness.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from decimal import Decimal
from typing import Any

import boto3

SYNTHETIC_PREFIX = "synthetic-"
"""Customer ids of load tests and checks: the queue's consumers and the business dashboards leave them out."""
QUEUE_RECEIVES = 5
"""Receives made looking for the order's message (up to ten messages each)."""
CATALOG_PAGE = 100
"""Products read looking for an orderable one."""


def customer_for(deployment_id: str) -> str:
    """The synthetic customer of a deployment's check (an identifier the API accepts)."""
    return f"{SYNTHETIC_PREFIX}pretraffic-{''.join(c if c.isalnum() else '-' for c in deployment_id)}"[:64]


def order_event(customer: str, product_id: str, deployment_id: str) -> dict[str, Any]:
    """The REST API's proxy event for one order, as the function gets it through API Gateway."""
    claims = {"sub": customer, "custom:customer_id": customer}
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"pretraffic-{deployment_id}-{uuid.uuid4()}"}
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {"requestId": f"pretraffic-{uuid.uuid4()}", "authorizer": {"claims": claims}},
        "body": json.dumps({"customer_id": customer, "items": [{"product_id": product_id, "quantity": 1}]}),
        "isBase64Encoded": False,
    }


def orderable_product(dynamodb: Any, table: str) -> tuple[str, Decimal] | None:
    """An active USD product of the catalog and its price, if the first page of the table has one."""
    for item in dynamodb.scan(TableName=table, Limit=CATALOG_PAGE).get("Items", []):
        if item.get("active", {}).get("BOOL") and item.get("currency", {}).get("S") == "USD":
            return item["product_id"]["S"], Decimal(item["price"]["N"])
    return None


def _shape_problems(order: Any, customer: str, product_id: str, price: Decimal) -> list[str]:
    if not isinstance(order, dict):
        return [f"the 201's body is not an order: {order!r}"[:300]]
    expected = {"customer_id": customer, "status": "pending", "currency": "USD"}
    problems = [f"the order's {k} is {order.get(k)!r}, not {v!r}" for k, v in expected.items() if order.get(k) != v]
    if not isinstance(order.get("id"), str) or not order["id"]:
        problems.append("the order has no id")
    lines = order.get("items")
    if not (isinstance(lines, list) and len(lines) == 1 and isinstance(lines[0], dict)):
        return [*problems, f"the order's items are {lines!r}, not its one line"[:300]]
    [line] = lines
    if line.get("product_id") != product_id or line.get("quantity") != 1:
        problems.append(f"the order's line is {line!r}, not 1 x {product_id}")
    if Decimal(str(line.get("unit_price"))) != price or Decimal(str(order.get("total"))) != price:
        problems.append(f"the order's price or total is not the catalog's {price}")
    return problems


def _find_message(sqs: Any, queue_url: str, order_id: str) -> dict[str, Any] | None:
    for _ in range(QUEUE_RECEIVES):
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                    WaitTimeSeconds=1).get("Messages", [])  # fmt: skip
        for message in batch:
            try:
                if json.loads(message["Body"]).get("order_id") == order_id:
                    return dict(message)
            except ValueError:
                continue
    return None


def _stored_order_of(response: dict[str, Any]) -> str | None:
    """The id of the order a failed answer says was stored anyway (the contract's 500 ``order_id``), if any."""
    try:
        body = json.loads(response.get("body") or "{}")
    except ValueError:
        return None
    order_id = body.get("order_id") if isinstance(body, dict) else None
    return order_id if isinstance(order_id, str) and order_id else None


def check(clients: dict[str, Any], env: dict[str, str], deployment_id: str) -> tuple[list[str], list[str]]:
    """Order through the new version, look for it, clean up: the problems (empty: it passed) and the notes."""
    found = orderable_product(clients["dynamodb"], env["PRODUCTS_TABLE"])
    if found is None:
        return [f"no active USD product in the first {CATALOG_PAGE} of {env['PRODUCTS_TABLE']}: nothing to order"], []
    product_id, price = found
    customer = customer_for(deployment_id)
    answer = clients["lambda"].invoke(
        FunctionName=env["NEW_VERSION"], Payload=json.dumps(order_event(customer, product_id, deployment_id))
    )
    order, refused = _created(clients, env, customer, answer)
    if refused is not None:
        return refused
    return _verified(clients, env, order, customer, (product_id, price))


def _created(
    clients: dict[str, Any], env: dict[str, str], customer: str, answer: dict[str, Any]
) -> tuple[Any, tuple[list[str], list[str]] | None]:
    """The order a 201 answered with, or what was wrong with the answer (an order it stored anyway, deleted)."""
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        return None, ([f"the new version failed ({answer['FunctionError']}): {payload[:300]!r}"], [])
    response = json.loads(payload)
    status = response.get("statusCode")
    if status == 201:
        return json.loads(response.get("body") or "null"), None
    problems = [f"the new version answered {status}, not 201: {str(response.get('body'))[:300]}"]
    stored = _stored_order_of(response)  # a 500 for an order stored but not queued names it
    if stored is None:
        return None, (problems, [])
    _clean(clients, env, stored, customer, None)
    return None, (problems, [f"order {stored}, stored and not queued, deleted"])


def _verified(
    clients: dict[str, Any], env: dict[str, str], order: Any, customer: str, product: tuple[str, Decimal]
) -> tuple[list[str], list[str]]:
    """The 201's order checked for its shape, in the table and on the queue; then cleaned up."""
    problems = _shape_problems(order, customer, *product)
    order_id = order.get("id") if isinstance(order, dict) else None
    if not order_id:
        return problems, []
    table = env["ORDERS_TABLE"]
    stored = clients["dynamodb"].get_item(TableName=table, Key={"id": {"S": order_id}}, ConsistentRead=True)
    if stored.get("Item", {}).get("customer_id", {}).get("S") != customer:
        return [*problems, f"order {order_id} was answered 201 but is not in {table}"], []
    message = _find_message(clients["sqs"], env["PROCESSING_QUEUE_URL"], order_id)
    unseen = f"not seen in {QUEUE_RECEIVES} receives (a consumer may have taken it; the 201 says it was queued)"
    notes = [f"order {order_id}: its message " + ("seen on the queue" if message else unseen)]
    _clean(clients, env, order_id, customer, message)
    return problems, notes


def _clean(clients: dict[str, Any], env: dict[str, str], order_id: str, customer: str, message: Any) -> None:
    """Delete the check's order (only if it is the synthetic customer's) and its message if seen."""
    dynamodb = clients["dynamodb"]
    with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # not the check's: kept
        dynamodb.delete_item(
            TableName=env["ORDERS_TABLE"],
            Key={"id": {"S": order_id}},
            ConditionExpression="customer_id = :c",
            ExpressionAttributeValues={":c": {"S": customer}},
        )
    if message is not None:
        # Received again by a consumer meanwhile, its handle is stale: the consumer leaves synthetic orders out.
        with contextlib.suppress(clients["sqs"].exceptions.ClientError):
            clients["sqs"].delete_message(QueueUrl=env["PROCESSING_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])


def report(codedeploy: Any, event: dict[str, Any], problems: list[str]) -> str:
    """Tell CodeDeploy whether the deployment may go on; the status reported."""
    status = "Failed" if problems else "Succeeded"
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )  # fmt: skip
    return status


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """CodeDeploy's entry: check the new version, report, and return what was found."""
    clients = {name: boto3.client(name) for name in ("lambda", "dynamodb", "sqs", "codedeploy")}
    try:
        problems, notes = check(clients, dict(os.environ), event["DeploymentId"])
    except Exception as exc:  # noqa: BLE001 - any failure of the check fails the deployment, reported
        problems, notes = [f"the check itself failed: {type(exc).__name__}: {exc}"], []
    for line in [*problems, *notes]:
        print(json.dumps({"deployment": event["DeploymentId"], "problem" if line in problems else "note": line}))
    status = report(clients["codedeploy"], event, problems)
    return {"status": status, "problems": problems, "notes": notes}
