"""Real process faults on the stage: a backend that stops answering, a worker killed mid-request.

Each ends with the client retrying with its key, and the table and queue checked: whatever
the fault did in between, one order exists and it is queued.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from create_order.api import PROBLEM_TYPE_PREFIX
from localstage.local import LocalStage, id_token
from tests.system.test_local_stage import _order, _post

SLOW_PUT = """
[[rule]]
service = "dynamodb"
operation = "PutItem"
kind = "latency"
delay_s = 3.0
"""


def _keyed_order(stage: LocalStage) -> tuple[dict[str, str], dict[str, Any]]:
    """The first customer's headers (ID token, a fresh Idempotency-Key) and a valid order body."""
    info = stage.describe()
    customer = info["customers"][0]
    headers = {"Authorization": id_token(info, customer), "Idempotency-Key": str(uuid.uuid4())}
    return headers, _order(customer["customer_id"])


def _orders_with(stage: LocalStage, order_id: str) -> int:
    table = stage.describe()["physical"]["OrdersTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return sum(item["id"]["S"] == order_id for item in items)


def _queued(stage: LocalStage, order_id: str) -> bool:
    assert stage.consumer is not None
    stage.consumer.drain(quiet_s=1.5, timeout_s=30)
    return order_id in (Path(stage.describe()["run_dir"]) / "messages.jsonl").read_text()


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[LocalStage]:
    with LocalStage(tmp_path, concurrency=2, customers=1) as running:
        yield running


def test_backend_that_stops_answering_gives_a_500_in_time_and_a_retry_heals(stage: LocalStage) -> None:
    info = stage.describe()
    headers, body = _keyed_order(stage)
    assert _post(info["orders_url"], {**body, "items": [{"product_id": "P-002", "quantity": 1}]},
                 {**headers, "Idempotency-Key": "warm"})[0] == 201  # fmt: skip
    assert stage.backend is not None

    # Given DynamoDB's process frozen for 12 s (its socket still accepts connections)
    stage.backend.pause("dynamodb")
    threading.Timer(12.0, stage.backend.resume, args=("dynamodb",)).start()
    started = time.monotonic()
    status, problem = _post(info["orders_url"], body, headers)
    elapsed = time.monotonic() - started

    # Then the function gives up within its deadline, naming the dependency
    assert status == 500
    assert problem["dependency"] in ("ProductsTable", "OrdersTable")
    assert elapsed < 29.0
    # When the backend is back and the client retries with its key (the frozen put may land late)
    time.sleep(max(0.0, 13.0 - (time.monotonic() - started)))
    retry_status, order = _post(info["orders_url"], body, headers)

    # Then there is exactly one order, and it is queued
    assert retry_status in (201, 409)
    order_id = order["id"] if retry_status == 201 else order["order"]["id"]
    assert _orders_with(stage, order_id) == 1
    assert _queued(stage, order_id)


def test_worker_killed_mid_request_is_a_502_and_a_retry_creates_the_order_once(tmp_path: Path) -> None:
    plan = tmp_path / "slow-put.toml"
    plan.write_text(SLOW_PUT)
    with LocalStage(tmp_path / "run", concurrency=2, customers=1, chaos_plan=plan) as stage:
        info = stage.describe()
        headers, body = _keyed_order(stage)
        assert stage.pool is not None
        pool = stage.pool

        # Given a request in flight (its PutItem held back 3 s by the plan)
        def kill_the_worker() -> None:
            time.sleep(1.5)
            for pid in pool.pids:
                import os
                import signal

                os.kill(pid, signal.SIGKILL)

        threading.Thread(target=kill_the_worker).start()
        status, payload = _post(info["orders_url"], body, headers)

        # Then API Gateway answers 502 for the crashed invocation, and nothing was stored
        assert (status, payload["type"]) == (502, PROBLEM_TYPE_PREFIX + "integration-failure")
        # When the client retries with its key, a new environment creates the order once
        retry_status, order = _post(info["orders_url"], body, headers)
        assert retry_status == 201
        assert _orders_with(stage, order["id"]) == 1
        assert _queued(stage, order["id"])


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[LocalStage]:
    with LocalStage(tmp_path, concurrency=2, customers=1, network_faults=True) as running:
        yield running


@pytest.mark.parametrize(("mode", "dependency"), [("blackhole", "OrdersTable"), ("reset", "OrdersTable")])
def test_network_fault_between_function_and_dynamodb(proxied: LocalStage, mode: str, dependency: str) -> None:
    info = proxied.describe()
    headers, body = _keyed_order(proxied)
    # The catalog read is cached by a first order, so the fault meets the order's PutItem
    assert _post(info["orders_url"], body, {**headers, "Idempotency-Key": "warm"})[0] == 201

    # Given the network to DynamoDB dropping (blackhole) or resetting every request
    proxied.proxies["dynamodb"].set_mode(mode)
    started = time.monotonic()
    status, problem = _post(info["orders_url"], body, headers)
    elapsed = time.monotonic() - started

    # Then the function answers 500 for the orders table within its deadline, storing nothing
    assert (status, problem["dependency"]) == (500, dependency)
    assert elapsed < 29.0
    table = info["physical"]["OrdersTable"]
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == 1  # the warm-up order only
    # When the network heals, the client's retry with its key creates the order once, queued
    proxied.proxies["dynamodb"].set_mode("pass")
    retry_status, order = _post(info["orders_url"], body, headers)
    assert retry_status == 201
    assert _orders_with(proxied, order["id"]) == 1
    assert _queued(proxied, order["id"])


def test_network_latency_slows_but_does_not_fail(proxied: LocalStage) -> None:
    info = proxied.describe()
    headers, body = _keyed_order(proxied)
    proxied.proxies["sqs"].set_mode("latency", delay_s=0.5)

    started = time.monotonic()
    status, order = _post(info["orders_url"], body, headers)

    assert status == 201
    assert time.monotonic() - started >= 0.5
    assert _queued(proxied, order["id"])
