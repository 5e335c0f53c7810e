"""Duplicates at scale, through the stage's HTTP front: 200 requests at once with one Idempotency-Key.

The same key and body → exactly one order and one 201; every other answer a 409 carrying that
order; at least one message for it on the queue. The same key with 200 different bodies →
one order, and every other answer the key-reused 409. Checked against the table and the
queue's consumer record, not only the statuses.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from create_order.api import PROBLEM_TYPE_PREFIX
from localstage.local import LocalStage, id_token

AT_ONCE = 200


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    # Enough concurrency that nobody is throttled; a few environments provisioned so the burst
    # is not also a storm of cold starts on two cores (more start as requests wait).
    with LocalStage(tmp_path_factory.mktemp("duplicates"), concurrency=AT_ONCE, customers=1) as running:
        assert running.pool is not None
        running.pool.provision(8)
        yield running


@pytest.fixture(scope="module")
def token(stage: LocalStage) -> str:
    info = stage.describe()
    return id_token(info, info["customers"][0])


def _burst(stage: LocalStage, token: str, key: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """POST every body at the same moment (a barrier), all with ``key``; the answers."""
    url = stage.describe()["orders_url"]
    barrier = threading.Barrier(len(bodies), timeout=60)

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - the stage on loopback
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": token, "Idempotency-Key": key},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def _orders(stage: LocalStage, customer_id: str) -> list[dict[str, Any]]:
    table = stage.describe()["physical"]["OrdersTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item["customer_id"]["S"] == customer_id]


def _messages_for(stage: LocalStage, order_id: str) -> int:
    assert stage.consumer is not None
    stage.consumer.drain(quiet_s=1.5, timeout_s=60)
    record = Path(stage.describe()["run_dir"]) / "messages.jsonl"
    return sum(1 for line in record.read_text().splitlines() if json.loads(line)["order_id"] == order_id)


def _order(customer_id: str, quantity: int = 2) -> dict[str, Any]:
    return {"customer_id": customer_id, "items": [{"product_id": "P-001", "quantity": quantity}]}


def test_the_same_key_and_body_at_once_make_one_order_and_the_rest_are_its_duplicates(
    stage: LocalStage, token: str
) -> None:
    customer_id = stage.describe()["customers"][0]["customer_id"]
    before = len(_orders(stage, customer_id))

    # When 200 identical requests with one key arrive at once
    answers = _burst(stage, token, str(uuid.uuid4()), [_order(customer_id)] * AT_ONCE)

    # Then exactly one is created, and every other answer is the duplicate 409 with that order
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: AT_ONCE - 1}, statuses
    [created] = [body for status, body in answers if status == 201]
    duplicates = [body for status, body in answers if status == 409]
    assert {body["type"] for body in duplicates} == {PROBLEM_TYPE_PREFIX + "duplicate-request"}
    assert all(body["order"] == created for body in duplicates)
    # ... the table holds that one order, and the queue carried it at least once
    orders = _orders(stage, customer_id)
    assert len(orders) == before + 1
    assert created["id"] in {item["id"]["S"] for item in orders}
    assert _messages_for(stage, created["id"]) >= 1


def test_the_same_key_with_different_bodies_at_once_make_one_order_and_the_rest_are_refused(
    stage: LocalStage, token: str
) -> None:
    customer_id = stage.describe()["customers"][0]["customer_id"]
    before = len(_orders(stage, customer_id))

    # When 200 requests with one key but each a different quantity arrive at once
    answers = _burst(stage, token, str(uuid.uuid4()), [_order(customer_id, q) for q in range(1, AT_ONCE + 1)])

    # Then one order is created from one of them, and each other gets the key-reused 409
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: AT_ONCE - 1}, statuses
    [created] = [body for status, body in answers if status == 201]
    refused = [body for status, body in answers if status == 409]
    assert {body["type"] for body in refused} == {PROBLEM_TYPE_PREFIX + "idempotency-key-reused"}
    assert all("order" not in body for body in refused)
    orders = _orders(stage, customer_id)
    assert len(orders) == before + 1
    [stored] = [item for item in orders if item["id"]["S"] == created["id"]]
    assert int(stored["items"]["L"][0]["M"]["quantity"]["N"]) == created["items"][0]["quantity"]
    assert _messages_for(stage, created["id"]) >= 1
