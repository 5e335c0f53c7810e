"""A run's orders in the stack's orders table, deleted by the run's synthetic prefix and nothing else."""

from __future__ import annotations

import boto3

from loadtests.deployed.runs import customer_prefix

_UNDER_PREFIX = "begins_with(customer_id, :prefix)"


def delete_orders(table: str, run_id: str) -> int:
    """Delete the orders whose customer id is under the run's prefix; how many.

    Each delete is conditioned on the prefix too, so an item that is not the run's is never
    deleted, whatever happened to it between the scan and the delete.
    """
    dynamodb = boto3.client("dynamodb")
    values = {":prefix": {"S": customer_prefix(run_id)}}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression=_UNDER_PREFIX,
        ProjectionExpression="#id",
        ExpressionAttributeNames={"#id": "id"},
        ExpressionAttributeValues=values,
    )
    order_ids = [item["id"]["S"] for page in pages for item in page["Items"]]
    deleted = 0
    for order_id in order_ids:
        try:
            dynamodb.delete_item(
                TableName=table,
                Key={"id": {"S": order_id}},
                ConditionExpression=_UNDER_PREFIX,
                ExpressionAttributeValues=values,
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # gone since the scan: someone else deleted it
        deleted += 1
    return deleted
