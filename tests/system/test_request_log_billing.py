"""The stage's request log says what each DynamoDB and SQS call is billed in, as AWS counts it.

Real moto servers (``localstage.backend.MotoBackend``), real clients; each figure in the log is
held to a hand computation from the service's rule (``harness.billing``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from harness.runfolder import LogsFolder
from localstage.backend import MotoBackend

ORDER = {
    "id": {"S": "order-1"},  # 2 + 7
    "total": {"N": "59.97"},  # 5 + (4 digits: 2 + 1)
    "lines": {"L": [{"M": {"product_id": {"S": "P-001"}}}]},  # 5 + 3 + (3 + (10 + 5 + 1) + 1)
    "note": {"S": "x" * 2000},  # 4 + 2000
}
"""9 + 8 + 28 + 2004 = 2049 bytes: three write units."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[dict[str, Any]]], Path]:
    """The request logs of one session of calls against the stage's moto servers, read after they stopped."""
    log_dir = tmp_path_factory.mktemp("logs")
    backend = MotoBackend(log_dir).start()
    try:
        env = backend.env()
        kwargs = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        ddb = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"], **kwargs)
        sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL_SQS"], **kwargs)
        for table, key in (("orders", "id"), ("products", "product_id")):
            ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}])  # fmt: skip
        capacity = ddb.put_item(TableName="orders", Item=ORDER, ConditionExpression="attribute_not_exists(id)",
                                ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"]  # fmt: skip
        small = ddb.put_item(TableName="orders", Item={"id": {"S": "small"}}, ReturnConsumedCapacity="TOTAL")
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            ddb.put_item(TableName="orders", Item=ORDER, ConditionExpression="attribute_not_exists(id)")
        with pytest.raises(ClientError, match="ValidationException"):
            ddb.put_item(TableName="orders", Item={"id": {"S": ""}})
        ddb.put_item(TableName="products", Item={"product_id": {"S": "P-1"}, "price": {"N": "5"}})
        ddb.put_item(TableName="products", Item={"product_id": {"S": "P-2"}, "blob": {"S": "y" * 5000}})
        keys = [{"product_id": {"S": name}} for name in ("P-1", "P-2", "P-missing")]
        ddb.batch_get_item(RequestItems={"products": {"Keys": keys}})
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        attributes = {"kind": {"DataType": "String", "StringValue": "order"}}  # 4 + 6 + 5 bytes
        sqs.send_message(QueueUrl=url, MessageBody="z" * 65_521, MessageAttributes=attributes)  # 65 536: one
        sqs.send_message(QueueUrl=url, MessageBody="z" * 65_522, MessageAttributes=attributes)  # 65 537: two
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "m" * 40_000} for n in range(4)])
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    finally:
        backend.stop()
    logs = LogsFolder(log_dir)
    lines = {
        group: [json.loads(line) for line in logs.request_log(group).read_text().splitlines()]
        for group in ("dynamodb", "sqs")
    }
    lines["moto's capacity"] = [{"order": capacity, "small": small["ConsumedCapacity"]["CapacityUnits"]}]
    return lines, log_dir


def _of(lines: list[dict[str, Any]], operation: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["operation"] == operation]


def test_a_write_is_billed_per_kb_of_the_item_and_a_refused_conditional_write_too(
    served: tuple[dict[str, list[dict[str, Any]]], Path],
) -> None:
    puts = _of(served[0]["dynamodb"], "PutItem")
    written, small, refused, invalid = puts[:4]
    assert written["write_units"] == 3
    assert refused["error"] == "ConditionalCheckFailedException"
    assert refused["write_units"] == 3
    assert invalid["error"] == "ValidationException"
    assert "write_units" not in invalid
    # moto's own ConsumedCapacity agrees for an item under 1 KB, and is a constant whatever the size:
    # the log's units come from the item, as DynamoDB bills them
    (moto,) = served[0]["moto's capacity"]
    assert small["write_units"] == moto["small"] == 1
    assert moto["order"] == 1.0


def test_a_batch_read_is_billed_per_item_each_rounded_to_4_kb_and_halved(
    served: tuple[dict[str, list[dict[str, Any]]], Path],
) -> None:
    (batch,) = _of(served[0]["dynamodb"], "BatchGetItem")
    # P-1 (20 bytes): 1 block; P-2 (5 017 bytes): 2 blocks; P-missing: 1 block. 4 blocks, halved.
    assert batch["read_units"] == 2.0


def test_sqs_requests_are_billed_per_64_kb_chunk_of_their_payload(
    served: tuple[dict[str, list[dict[str, Any]]], Path],
) -> None:
    lines = served[0]["sqs"]
    assert [send["sqs_requests"] for send in _of(lines, "SendMessage")] == [1, 2]
    (batch,) = _of(lines, "SendMessageBatch")
    assert batch == batch | {"sent": 4, "sqs_requests": 3}  # 160 000 bytes: three chunks
    (receive,) = _of(lines, "ReceiveMessage")
    assert receive["received"] == 6
    assert receive["sqs_requests"] == (2 * 65_521 + 1 + 4 * 40_000) // 65_536 + 1
    (delete,) = _of(lines, "DeleteMessageBatch")
    assert delete == delete | {"deleted": 6, "sqs_requests": 1}
