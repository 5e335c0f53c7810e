"""The local stage with the template's knobs turned: provisioned and reserved concurrency, the stage throttle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtests.stage.local import LocalStage, id_token
from loadtests.stage.throttle import TokenBucket
from tests.support.stage import access_entry, gateway_problem

PARAMETERS = {
    "ProvisionedConcurrency": "2",
    "ReservedConcurrency": "3",
    "ApiThrottlingRateLimit": "5",
    "ApiThrottlingBurstLimit": "7",
}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(
        tmp_path_factory.mktemp("run"), concurrency=4, customers=1, parameters=PARAMETERS, throttle=True
    ) as running:
        yield running


def _post(stage: LocalStage, path: str = "/orders") -> tuple[int, Any, bytes]:
    info = stage.describe()
    customer = info["customers"][0]
    body = {"customer_id": customer["customer_id"], "items": [{"product_id": "P-001", "quantity": 1}]}
    request = urllib.request.Request(  # noqa: S310 - the stage on loopback
        info["url"] + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": id_token(info, customer)},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_provisioned_environments_are_initialised_before_the_first_request(stage: LocalStage) -> None:
    assert stage.pool is not None
    assert stage.pool.started == 2  # before any request
    reports = [line for log in (Path(stage.describe()["run_dir"]) / "logs").glob("worker-*.log")
               for line in log.read_text().splitlines() if line.startswith("REPORT")]  # fmt: skip
    assert reports == []  # their inits ran outside any invocation

    status, headers, _ = _post(stage)

    assert status == 201
    assert "init_ms" not in access_entry(stage, headers["x-amzn-RequestId"])  # a warm start
    assert stage.pool.started == 2


def test_reserved_concurrency_caps_the_environments(stage: LocalStage) -> None:
    assert stage.pool is not None
    assert stage.pool.concurrency == 3  # under the stage's own limit of 4


def test_the_stage_throttle_is_the_parameters_rate_and_burst(stage: LocalStage) -> None:
    assert stage.gateway is not None
    assert stage.gateway.throttle is not None
    assert (stage.gateway.throttle.rate, stage.gateway.throttle.burst) == (5, 7)
    assert stage.describe()["knobs"] == {"provisioned": 2, "reserved": 3, "rate": 5, "burst": 7, "throttle": True}


def test_past_the_burst_the_gateway_answers_its_throttled_problem_without_invoking(stage: LocalStage) -> None:
    assert stage.gateway is not None
    saved = stage.gateway.throttle
    # Given a bucket of one token whose clock stands still (no refill, whatever the machine's speed)
    stage.gateway.throttle = TokenBucket(rate=5, burst=1, clock=lambda: 0.0)
    try:
        first = _post(stage)
        second = _post(stage)
        unknown = _post(stage, "/nope")  # a route that does not exist is refused before the throttle
    finally:
        stage.gateway.throttle = saved

    assert first[0] == 201
    status, headers, raw = second
    assert status == 429
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    gateway_problem(429, headers, raw, "throttled")
    entry = access_entry(stage, headers["x-amzn-RequestId"])
    assert entry["throttled"] == "stage"
    assert "integration" not in entry  # the function never ran
    assert unknown[0] == 403
