"""The stage's moto server: its changes to moto keep moto's answers and remove its slowdowns and its loss.

Each change is checked against moto's own code on the same queue (kept before the change is
applied), in-process; the admission control is checked as the WSGI middleware it is.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from localstage import moto_server

ACCOUNT, REGION = "123456789012", "us-east-1"
MOTO_ATTRIBUTES = Queue.attributes.fget  # type: ignore[attr-defined]
MOTO_MESSAGES = Queue.messages.fget  # type: ignore[attr-defined]
MOTO_DELETE = Queue.delete_message


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[SQSBackend]:
    """moto's SQS backend in-process, with the stage's changes applied (undone after the test)."""
    for name in ("attributes", "messages", "delete_message"):
        monkeypatch.setattr(Queue, name, Queue.__dict__[name])  # restored on teardown
    with mock_aws():
        moto_server.make_queues_fast()
        yield sqs_backends[ACCOUNT][REGION]


def _busy_queue(sqs: SQSBackend, name: str, **attributes: str) -> Queue:
    """A queue holding visible, in-flight and delayed messages."""
    queue = sqs.create_queue(name, **attributes)
    fifo = name.endswith(".fifo")
    for n in range(12):
        sqs.send_message(
            name,
            f"order {n}",
            delay_seconds=300 if n % 4 == 3 and not fifo else None,
            group_id=f"customer-{n % 3}" if fifo else None,
            deduplication_id=f"order-{n}" if fifo else None,
        )
    sqs.receive_message(name, 4, 0, 120)
    return queue


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("standard", {}),
        ("with-dlq", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",
                                                    "maxReceiveCount": "5"}), "SqsManagedSseEnabled": "true"}),
        ("ordered.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
        ("encrypted", {"KmsMasterKeyId": "alias/aws/sqs", "Policy": json.dumps({"Version": "2012-10-17"})}),
    ],
)  # fmt: skip
def test_queue_attributes_are_motos_own_read_one_at_a_time(sqs: SQSBackend, name: str, attributes: Any) -> None:
    # Given a queue with messages visible, in flight and delayed
    if "RedrivePolicy" in attributes:
        sqs.create_queue("dlq")
    queue = _busy_queue(sqs, name, **attributes)
    # Then the view holds moto's keys and values, in moto's order, whole and one by one
    expected = MOTO_ATTRIBUTES(queue)
    assert list(queue.attributes) == list(expected)
    assert dict(queue.attributes) == expected
    assert all(queue.attributes.get(key) == value for key, value in expected.items())
    assert expected["ApproximateNumberOfMessagesNotVisible"] == 4
    assert queue.attributes.get("NoSuchAttribute") is None
    # And GetQueueAttributes answers as moto did
    assert sqs.get_queue_attributes(name, ["All"]) == expected
    assert sqs.get_queue_attributes(name, ["VisibilityTimeout", "ApproximateNumberOfMessagesDelayed"]) == {
        "VisibilityTimeout": expected["VisibilityTimeout"],
        "ApproximateNumberOfMessagesDelayed": 0 if name.endswith(".fifo") else 3,
    }


def test_visible_messages_are_motos_own(sqs: SQSBackend) -> None:
    queue = _busy_queue(sqs, "standard")
    assert queue.messages == MOTO_MESSAGES(queue)
    assert len(queue.messages) == 5


def test_a_message_sent_while_another_is_deleted_stays_in_the_queue(
    sqs: SQSBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a received message, and a send that lands while its delete scans the queue
    sqs.create_queue("orders")
    sqs.send_message("orders", "first")
    (received,) = sqs.receive_message("orders", 1, 0, 120)
    queue = sqs.get_queue("orders")
    original_check = type(received).had_receipt_handle
    sent_during_delete: list[Any] = []

    def check_then_send(message: Any, handle: str) -> bool:
        if not sent_during_delete:
            sent_during_delete.append(sqs.send_message("orders", "sent meanwhile"))
        return original_check(message, handle)

    monkeypatch.setattr(type(received), "had_receipt_handle", check_then_send)

    # When the received message is deleted
    queue.delete_message(received.receipt_handle)

    # Then the message sent meanwhile is still there (the queue's list is changed in place, under
    # the lock SendMessage appends under) and the deleted one is gone for good
    assert [m.body for m in queue._messages] == ["sent meanwhile"]
    queue.delete_message(received.receipt_handle)  # deleting again is accepted, as in moto
    with pytest.raises(Exception, match="ReceiptHandleIsInvalid"):
        queue.delete_message("no-such-handle")


def _start_response(*_: Any) -> None:
    return None


def test_admission_lets_few_requests_into_moto_but_never_holds_back_the_queues_drain() -> None:
    # Given moto behind admission for 2, answering slowly, and 8 senders at once
    inside, most = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        if environ["HTTP_X_AMZ_TARGET"].endswith("SendMessage"):
            release.wait(10)
        with lock:
            inside -= 1
        return [b"{}"]

    admission = moto_server.Admission(moto, 2)
    senders = [
        threading.Thread(target=admission, args=({"HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, _start_response))
        for _ in range(8)
    ]
    for sender in senders:
        sender.start()
    try:
        deadline = time.monotonic() + 5
        while inside < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        # When the consumer receives and deletes while both places are taken
        for operation in ("ReceiveMessage", "DeleteMessageBatch"):
            answer = admission({"HTTP_X_AMZ_TARGET": f"AmazonSQS.{operation}"}, _start_response)
            # Then it is answered at once
            assert list(answer) == [b"{}"]
        assert most == 3  # two senders and the consumer's call
    finally:
        release.set()
        for sender in senders:
            sender.join(10)
    # And never were more than two senders inside
    assert most == 3
    assert inside == 0


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/sqs/aws4_request, "
          "SignedHeaders=host, Signature=0", "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"},
         ("us-east-1", "sqs", "AmazonSQS")),
        ({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20261129/eu-west-1/dynamodb/aws4_request, "
          "SignedHeaders=host, Signature=0", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"},
         ("eu-west-1", "dynamodb", "DynamoDB_20120810")),
        ({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/s3/aws4_request, "
          "SignedHeaders=host, Signature=0"}, None),
        ({"HTTP_X_AMZ_TARGET": "AWSCognitoIdentityProviderService.InitiateAuth"}, None),
        ({"HTTP_AUTHORIZATION": "AWS AKID:signature"}, None),
        ({"PATH_INFO": "/moto-api/reset", "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 "
          "Credential=AKID/20261129/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"}, None),
    ],
)  # fmt: skip
def test_routing_is_remembered_only_for_signed_requests_to_the_stages_services(
    environ: dict[str, str], key: tuple[str, str, str] | None
) -> None:
    assert moto_server._routing_key(environ) == key
