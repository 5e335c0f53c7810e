"""The local stage with the template's knobs turned: provisioned and reserved concurrency, the stage throttle."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.platform_log import read_reports
from harness.runfolder import RunFolder
from loadtests.audit.judge import derived_order_id
from localstage import local
from localstage.local import LocalStage, id_token
from localstage.throttle import TokenBucket
from tests.support.localstage import access_entry, gateway_problem

PARAMETERS = {
    "ProvisionedConcurrency": "2",
    "ReservedConcurrency": "3",
    "ApiThrottlingRateLimit": "5",
    "ApiThrottlingBurstLimit": "7",
}


class _Clock:
    """A clock that moves only when the test moves it: the stage throttle refills on it alone."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> _Clock:
    return _Clock()


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, clock: _Clock) -> Iterator[LocalStage]:
    # The stage builds its throttle's bucket itself, from the parameters; only the bucket's clock
    # is the test's. Its DynamoDB and SQS traffic goes through fault proxies (pass-through until a
    # test slows them).
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(local, "TokenBucket", functools.partial(TokenBucket, clock=clock))
            running = stack.enter_context(
                LocalStage(
                    tmp_path_factory.mktemp("run"),
                    concurrency=4,
                    customers=1,
                    parameters=PARAMETERS,
                    throttle=True,
                    network_faults=True,
                )
            )
        yield running


def _post(
    stage: LocalStage, path: str = "/orders", *, token: str | None = None, key: str | None = None
) -> tuple[int, Any, bytes]:
    """A POST of the first customer's order, with their ID token (fetched unless given) and ``key``."""
    info = stage.describe()
    customer = info["customers"][0]
    body = {"customer_id": customer["customer_id"], "items": [{"product_id": "P-001", "quantity": 1}]}
    headers = {"Content-Type": "application/json", "Authorization": token or id_token(info, customer)}
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(  # noqa: S310 - the stage on loopback
        info["url"] + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _knock(stage: LocalStage) -> int:
    """A POST /orders with no token: the authorizer's 401 once past the stage throttle, its 429 when refused there.

    The throttle acts before the authorizer, so this costs a token and never reaches the function.
    """
    request = urllib.request.Request(stage.describe()["orders_url"], data=b"{}", method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _stored(stage: LocalStage, order_ids: set[str]) -> set[str]:
    """Which of ``order_ids`` the orders table holds."""
    table = stage.describe()["physical"]["OrdersTable"]
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return {item["id"]["S"] for page in pages for item in page["Items"]} & order_ids


def test_provisioned_environments_are_initialised_before_the_first_request(stage: LocalStage) -> None:
    assert stage.pool is not None
    assert stage.pool.started == 2  # before any request
    logs = RunFolder(Path(stage.describe()["run_dir"])).logs.worker_logs()
    assert [report for log in logs for report in read_reports(log)] == []  # their inits ran outside any invocation

    status, headers, _ = _post(stage)

    assert status == 201
    assert "init_ms" not in access_entry(stage, headers["x-amzn-RequestId"])  # a warm start
    assert stage.pool.started == 2


BURST_OF_ORDERS = 12
"""Four times the reserved concurrency, at once."""


def test_reserved_concurrency_caps_the_environments(stage: LocalStage) -> None:
    assert stage.pool is not None
    assert stage.gateway is not None
    pool = stage.pool
    assert pool.concurrency == 3  # the reserved 3, under the stage's own limit of 4
    info = stage.describe()
    customer = info["customers"][0]
    token = id_token(info, customer)
    keys = [str(uuid.uuid4()) for _ in range(BURST_OF_ORDERS)]
    # Given every invocation held a while (each DynamoDB and SQS request delayed 0.5 s), the stage
    # throttle out of the way, and the pool's live environments watched throughout
    seen: set[int] = set()
    most = 0
    watching = threading.Event()

    def watch() -> None:
        nonlocal most
        while not watching.wait(0.005):
            pids = pool.pids
            seen.update(pids)
            most = max(most, pool.size, len(pids))

    saved = stage.gateway.throttle
    stage.gateway.throttle = None
    for proxy in stage.proxies.values():
        proxy.set_mode("latency", delay_s=0.5)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = threading.Barrier(BURST_OF_ORDERS, timeout=30)

    def order(key: str) -> tuple[int, Any, bytes]:
        start.wait()
        return _post(stage, token=token, key=key)

    try:
        # When four times the cap of orders arrive at once
        with ThreadPoolExecutor(BURST_OF_ORDERS) as senders:
            answers = list(senders.map(order, keys))
    finally:
        watching.set()
        watcher.join()
        for proxy in stage.proxies.values():
            proxy.set_mode("pass")
        stage.gateway.throttle = saved

    # Then no more than the cap of environments ever ran: the two provisioned and one more, each
    # seen alive, never a fourth (none was discarded either: every one started is one seen)
    assert pool.started == 3
    assert len(seen) == 3
    assert most == 3
    # ... the orders past the cap were refused by the pool (Lambda's throttle) without running,
    # and stored nothing, while every 201 is an order in the table
    sent = dict(zip(keys, answers, strict=True))
    created = {json.loads(raw)["id"] for status, _, raw in sent.values() if status == 201}
    refused = {key: headers for key, (status, headers, _) in sent.items() if status != 201}
    assert created
    assert refused
    integrations = [access_entry(stage, headers["x-amzn-RequestId"])["integration"] for headers in refused.values()]
    assert integrations == ["throttled"] * len(refused)
    assert _stored(stage, created) == created
    order_id = functools.partial(derived_order_id, customer["customer_id"])
    assert created == {order_id(key) for key in sent.keys() - refused.keys()}  # an order's id is its key's
    assert _stored(stage, {order_id(key) for key in refused}) == set()


def test_the_stage_throttle_is_the_parameters_rate_and_burst(stage: LocalStage, clock: _Clock) -> None:
    # Given the stage's own throttle, idle long enough to be full (its clock moves only here)
    assert stage.gateway is not None
    assert stage.gateway.throttle is not None
    clock.now += 3600

    # When requests arrive with no time passing, then after one second, then after two
    burst = [_knock(stage) for _ in range(8)]
    clock.now += 1
    one_second = [_knock(stage) for _ in range(6)]
    clock.now += 2
    two_seconds = [_knock(stage) for _ in range(8)]

    # Then the burst (7) is let through at once, 5 more a second (the rate), never more than the burst
    assert burst == [401] * 7 + [429]
    assert one_second == [401] * 5 + [429]
    assert two_seconds == [401] * 7 + [429]
    assert stage.describe()["knobs"] == {
        "provisioned": 2, "reserved": 3, "rate": 5, "burst": 7, "snapstart": False, "throttle": True,
    }  # fmt: skip


def test_past_the_burst_the_gateway_answers_its_throttled_problem_without_invoking(
    stage: LocalStage, clock: _Clock
) -> None:
    # Given the stage's throttle with one token left, its clock standing still
    clock.now += 3600
    assert [_knock(stage) for _ in range(6)] == [401] * 6
    token = id_token(stage.describe(), stage.describe()["customers"][0])

    # When two orders arrive, and a request for a route that does not exist
    first = _post(stage, token=token)
    second = _post(stage, token=token)
    unknown = _post(stage, "/nope", token=token)  # refused before the throttle

    # Then the first is served, the second is the gateway's throttled problem and never reached the function
    assert first[0] == 201
    status, headers, raw = second
    assert status == 429
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    gateway_problem(429, headers, raw, "throttled")
    entry = access_entry(stage, headers["x-amzn-RequestId"])
    assert entry["throttled"] == "stage"
    assert "integration" not in entry  # the function never ran
    assert unknown[0] == 403
