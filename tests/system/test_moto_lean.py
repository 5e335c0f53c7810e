"""moto made lean (``localstage.moto_lean``): each change answers as moto's own code does.

A session of DynamoDB and SQS calls, every attribute type, projections, consumed capacity,
pages, a refused conditional write carrying the old item, a batch with a bad receipt handle,
runs in-process against moto's own code and again with every change made; the answers must be
the same but for what moto draws at random or reads from the clock.
"""

from __future__ import annotations

import json
import string
from typing import Any

import boto3
import moto.core.responses
import moto.sqs.models
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.serialize import ResponseSerializer
from moto.dynamodb.models.dynamo_type import Item

from localstage import moto_lean

REGION = "us-east-1"
VOLATILE = frozenset({
    "ResponseMetadata", "ReceiptHandle", "MessageId", "CreationDateTime", "TableId", "SentTimestamp",
    "ApproximateFirstReceiveTimestamp", "CreatedTimestamp", "LastModifiedTimestamp", "Id",
    "LatestStreamArn", "LatestStreamLabel",
})  # fmt: skip
"""What moto draws at random or reads from the clock: compared only for being there."""


@pytest.fixture
def motos_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto as it ships, whatever a test changes restored after it; AWS credentials for the session."""
    monkeypatch.setattr(ResponseSerializer, "_serialize_type_structure", ResponseSerializer._serialize_type_structure)
    monkeypatch.setattr(Item, "__init__", Item.__init__)
    monkeypatch.setattr(moto.sqs.models, "generate_receipt_handle", moto.sqs.models.generate_receipt_handle)
    monkeypatch.setattr(moto.core.responses, "gen_amzn_requestid_long", moto.core.responses.gen_amzn_requestid_long)
    monkeypatch.setattr(moto.core.responses, "method_names_from_class", moto.core.responses.method_names_from_class)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def _steady(answer: Any) -> Any:
    """``answer`` with what moto draws or reads from the clock replaced by a marker."""
    if isinstance(answer, dict):
        return {key: "<volatile>" if key in VOLATILE else _steady(value) for key, value in answer.items()}
    if isinstance(answer, list):
        return [_steady(value) for value in answer]
    return answer


def _refused(call: Any, **parameters: Any) -> dict[str, Any]:
    """The error document of a call that must fail."""
    with pytest.raises(ClientError) as refused:
        call(**parameters)
    return refused.value.response


EVERY_TYPE = {
    "pk": {"S": "order-1"}, "sk": {"N": "7"}, "blob": {"B": b"\x00\xffbinary"}, "flag": {"BOOL": False},
    "nothing": {"NULL": True}, "names": {"SS": ["a", "b"]}, "counts": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"x", b"y"]}, "address": {"M": {"city": {"S": "Springfield"}, "zip": {"N": "12345"},
                                                     "tags": {"L": [{"S": "home"}, {"BOOL": True}]}}},
    "lines": {"L": [{"M": {"product_id": {"S": "P-001"}, "quantity": {"N": "2"}}}, {"NULL": True}]},
}  # fmt: skip


def _key(pk: str, sk: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def _dynamodb_session() -> list[Any]:
    """Every answer of a DynamoDB session that reads back what it wrote in each shape moto serializes."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = {"TableName": "orders"}
    key = _key("order-1", 7)
    by_order = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "order-1"}}}
    definitions = [("pk", "S"), ("sk", "N"), ("flag_s", "S")]
    answers: list[Any] = [
        ddb.create_table(
            **table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind in definitions],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-flag",
                    "KeySchema": [{"AttributeName": "flag_s", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        ),
        ddb.describe_table(**table),
        ddb.put_item(**table, Item=EVERY_TYPE, ReturnConsumedCapacity="TOTAL"),
    ]
    answers += [
        ddb.put_item(**table, Item={**_key("order-1", n), "flag_s": {"S": "on"}}, ReturnValues="ALL_OLD")
        for n in range(5)
    ]
    answers += [
        ddb.put_item(**table, Item={**EVERY_TYPE, "flag": {"BOOL": True}}, ReturnValues="ALL_OLD"),
        _refused(
            ddb.put_item,
            **table,
            Item=EVERY_TYPE,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        ddb.get_item(**table, Key=key, ReturnConsumedCapacity="INDEXES"),
        ddb.get_item(
            **table, Key=key, ProjectionExpression="address.tags, #n", ExpressionAttributeNames={"#n": "names"}
        ),
        ddb.batch_get_item(
            RequestItems={"orders": {"Keys": [key, _key("order-1", 1), _key("none", 0)]}},
            ReturnConsumedCapacity="TOTAL",
        ),
    ]
    page = ddb.query(**table, **by_order, Limit=2, ReturnConsumedCapacity="TOTAL")
    answers += [
        page,
        ddb.query(**table, **by_order, ExclusiveStartKey=page["LastEvaluatedKey"], Select="COUNT"),
        ddb.query(
            **table,
            IndexName="by-flag",
            KeyConditionExpression="flag_s = :f",
            ExpressionAttributeValues={":f": {"S": "on"}},
        ),
        ddb.scan(**table, FilterExpression="attribute_exists(#b)", ExpressionAttributeNames={"#b": "blob"}),
        ddb.update_item(
            **table,
            Key=key,
            UpdateExpression="SET counts_total = :t REMOVE nothing",
            ExpressionAttributeValues={":t": {"N": "3.5"}},
            ReturnValues="ALL_NEW",
        ),
        ddb.transact_get_items(TransactItems=[{"Get": {**table, "Key": key}}]),
        ddb.delete_item(**table, Key=key, ReturnValues="ALL_OLD"),
        _refused(ddb.put_item, TableName="missing", Item=EVERY_TYPE),
        ddb.list_tables(),
    ]
    return answers


def _sqs_session() -> list[Any]:
    """Every answer of an SQS session: queues, attributes, messages with attributes, a batch, a bad handle."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    attributes = {
        "kind": {"DataType": "String", "StringValue": "order"},
        "n": {"DataType": "Number", "StringValue": "3"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
    }
    batch = [{"Id": f"m{n}", "MessageBody": f"order {n}"} for n in range(3)]
    answers: list[Any] = [
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": 1}), MessageAttributes=attributes),
        sqs.send_message_batch(QueueUrl=url, Entries=batch),
    ]
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    answers.append(sorted(received, key=lambda message: message["Body"]))
    handles = [{"Id": f"d{n}", "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(received)]
    bad = {"Id": "bad", "ReceiptHandle": "not-a-handle"}
    answers += [sqs.delete_message_batch(QueueUrl=url, Entries=[*handles, bad]), sqs.list_queues()]
    return answers


def _session() -> list[Any]:
    with mock_aws():
        return _steady(_dynamodb_session() + _sqs_session())


@pytest.mark.usefixtures("motos_own")
def test_every_answer_is_motos_own() -> None:
    # Given the answers of moto as it ships
    own = _session()

    # When the same session runs with every change made
    moto_lean.make_lean()
    lean = _session()

    # Then each answer is the same, but for what moto draws or reads from the clock
    assert len(lean) == len(own) == 28
    for n, (mine, theirs) in enumerate(zip(lean, own, strict=True)):
        assert mine == theirs, f"answer {n}"
    read_back = own[9]["Item"]  # the get_item of EVERY_TYPE: every type went through the serializer
    assert read_back["blob"] == {"B": b"\x00\xffbinary"}
    assert read_back["lines"]["L"][1] == {"NULL": True}


def _sized(total: int) -> dict[str, Any]:
    """An item whose size as moto counts it (names and values in UTF-8) is ``total`` bytes."""
    item = {"pk": {"S": "big"}}  # 2 + 3 bytes
    item["payload"] = {"S": "x" * (total - 5 - len("payload"))}
    return item


@pytest.mark.usefixtures("motos_own")
@pytest.mark.parametrize("lean", [False, True], ids=["moto", "lean"])
def test_an_item_past_motos_size_limit_is_refused_as_moto_refuses_it(lean: bool) -> None:
    if lean:
        moto_lean.make_item_size_lean()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])  # fmt: skip

        # An item of exactly the limit is stored; a byte more is refused with moto's message
        ddb.put_item(TableName="t", Item=_sized(moto_lean.ITEM_SIZE_LIMIT))
        refused = _refused(ddb.put_item, TableName="t", Item=_sized(moto_lean.ITEM_SIZE_LIMIT + 1))
        assert refused["Error"]["Code"] == "ValidationException"
        assert refused["Error"]["Message"] == "Item size has exceeded the maximum allowed size"
        stored = ddb.get_item(TableName="t", Key={"pk": {"S": "big"}})["Item"]
        assert len(stored["payload"]["S"]) == moto_lean.ITEM_SIZE_LIMIT - 12


def test_receipt_handles_and_request_ids_are_of_motos_kind() -> None:
    handles = {moto_lean.receipt_handle() for _ in range(200)}
    assert len(handles) == 200
    assert all(len(h) == moto_lean.RECEIPT_HANDLE_LENGTH and set(h) <= set(string.ascii_lowercase) for h in handles)
    headers: dict[str, Any] = {}
    made = moto_lean.request_id(headers)
    assert headers == {"x-amzn-requestid": made}
    assert len(made) == moto_lean.REQUEST_ID_LENGTH
    assert set(made) <= set(string.ascii_letters + string.digits)
    # every letter (and digit) can be drawn, not only the first few
    every_byte = bytes(range(256))
    assert set(every_byte.translate(moto_lean._ALPHANUMERIC).decode()) == set(string.ascii_letters + string.digits)
    assert set(every_byte.translate(moto_lean._LOWERCASE).decode()) == set(string.ascii_lowercase)


@pytest.mark.usefixtures("motos_own")
def test_each_change_is_made_once() -> None:
    moto_lean.make_lean()
    structure = ResponseSerializer._serialize_type_structure
    listing = moto.core.responses.method_names_from_class
    moto_lean.make_lean()
    assert ResponseSerializer._serialize_type_structure is structure
    assert moto.core.responses.method_names_from_class is listing
    assert moto.sqs.models.generate_receipt_handle is moto_lean.receipt_handle
    assert moto.core.responses.gen_amzn_requestid_long is moto_lean.request_id


@pytest.mark.usefixtures("motos_own")
def test_the_operations_moto_dispatches_to_are_its_own_listed_once_per_class() -> None:
    # Given moto's dispatch made lean (moto's own listing restored after the test)
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    listing = moto.core.responses.method_names_from_class
    moto_lean.make_dispatch_lean()
    moto_lean.make_dispatch_lean()  # idempotent: wraps once
    lean = moto.core.responses.method_names_from_class

    # Then each class's operations are moto's own listing, and the listing is done once per class
    for handler in (DynamoHandler, SQSResponse, DynamoHandler, SQSResponse):
        assert lean(handler) == listing(handler)
    assert lean.cache_info().misses == 2  # type: ignore[attr-defined]
    assert "put_item" in lean(DynamoHandler)
    assert "send_message" in lean(SQSResponse)
