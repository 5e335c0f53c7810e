"""The pre-traffic hook against the local stage: the real function in its execution environments, moto as AWS.

The hook's Invoke of the new version is answered by an environment pool of the stage's function
(the version as built, or one whose queue URL is wrong); its reads and clean-up go to the stage's
moto server; CodeDeploy's status call (which moto does not implement) is answered on the real
client and recorded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from deploy_hooks import pre_traffic
from localstage.local import LocalStage
from localstage.workers import WorkerPool

EVENT = {"DeploymentId": "d-STAGE1", "LifecycleEventHookExecutionId": "hook-stage"}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("pretraffic"), concurrency=1, customers=1) as running:
        yield running


def _hook(stage: LocalStage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **variables: str) -> list[str]:
    """Run the hook with its Invoke served by a pool of the stage's function (``variables`` over its own)."""
    assert stage.pool is not None
    function = replace(stage.pool.function, env={**stage.pool.function.env, **variables})
    pool = WorkerPool(function, tmp_path, concurrency=1)
    reported: list[str] = []

    def invoke(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        answer = pool.invoke(json.loads(params["body"]))
        payload = json.dumps(answer.payload).encode()
        answered = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        return AWSResponse(None, 200, {}, None), answered

    def status(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        reported.append(json.loads(params["body"])["status"])
        return AWSResponse(None, 200, {}, None), {"lifecycleEventHookExecutionId": "hook-stage"}

    session = boto3.Session()
    session.events.register("before-call.lambda.Invoke", invoke)
    session.events.register("before-call.codedeploy.PutLifecycleEventHookExecutionStatus", status)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    monkeypatch.setattr(pre_traffic, "QUEUE_RECEIVES", 1)  # the stage's own consumer drains the queue at once
    physical = stage.describe()["physical"]
    env = {"NEW_VERSION": "arn:aws:lambda:us-east-1:123456789012:function:create-order:2",
           "ORDERS_TABLE": physical["OrdersTable"], "PRODUCTS_TABLE": physical["ProductsTable"],
           "PROCESSING_QUEUE_URL": stage.pool.function.env["PROCESSING_QUEUE_URL"]}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        pre_traffic.handler(dict(EVENT), None)
    finally:
        pool.close()
    return reported


def _orders_of_the_check(stage: LocalStage) -> list[dict[str, Any]]:
    table = stage.describe()["physical"]["OrdersTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["customer_id"]["S"] == pre_traffic.customer_for(EVENT["DeploymentId"])]


def test_the_version_as_built_passes_and_leaves_no_order(
    stage: LocalStage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _hook(stage, tmp_path, monkeypatch) == ["Succeeded"]
    assert _orders_of_the_check(stage) == []


def test_a_version_whose_queue_url_is_wrong_fails_the_deployment(
    stage: LocalStage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stage.pool is not None
    wrong = stage.pool.function.env["PROCESSING_QUEUE_URL"].rsplit("/", 1)[0] + "/no-such-queue"

    assert _hook(stage, tmp_path, monkeypatch, PROCESSING_QUEUE_URL=wrong) == ["Failed"]
    assert _orders_of_the_check(stage) == []  # stored before the queue refused it, deleted by the hook
