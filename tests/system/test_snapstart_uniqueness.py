"""Environments restored from one snapshot are each their own: the real function, on the local stage.

Three orders at once, none with an ``Idempotency-Key``, through environments the stage restored
from one snapshot of create-order (its own hooks: priming before the snapshot, the refresh after
each restore). Each environment draws its own retry jitter, holds its own connections, and every
order gets its own id, stored in the table.

Without the function's after-restore hook (``snapstart_probe.WITHOUT_AFTER_RESTORE``) every
restored environment resumes with the snapshot's random state and draws the same jitter: the
second test shows it, and the first fails so (``SNAPSTART_TEST_REMOVE_AFTER_RESTORE=1 pytest
tests/system/test_snapstart_uniqueness.py -k own``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from localstage.local import LocalStage
from localstage.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[2]
TOGETHER = 3
WITHOUT_AFTER_RESTORE = "PROBE_WITHOUT_AFTER_RESTORE"
"""``snapstart_probe.WITHOUT_AFTER_RESTORE`` (the probe imports the function at its import: not here)."""


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    """The local stage's AWS (tables, queue, catalog) for the probe's environments to order against."""
    with LocalStage(tmp_path_factory.mktemp("uniqueness"), concurrency=2, customers=1) as running:
        yield running


def _order(stage: LocalStage) -> dict[str, Any]:
    info = stage.describe()
    customer = info["customers"][0]["customer_id"]
    product = next(p for p, (_price, currency, active) in _catalog(info).items() if active and currency == "USD")
    claims = {"sub": customer, "custom:customer_id": customer}
    return {
        "resource": "/orders", "path": "/orders", "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {"Content-Type": ["application/json"]},
        "requestContext": {"requestId": "uniqueness", "authorizer": {"claims": claims}},
        "body": json.dumps({"customer_id": customer, "items": [{"product_id": product, "quantity": 1}]}),
        "isBase64Encoded": False,
    }  # fmt: skip


def _catalog(info: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    return {p: (str(v["price"]), v["currency"], v["active"]) for p, v in info["catalog"].items()}


def _restored(stage: LocalStage, tmp_path: Path, *, without_after_restore: bool) -> list[dict[str, Any]]:
    """What each of ``TOGETHER`` environments restored from one snapshot answered to one order at once."""
    assert stage.pool is not None
    variables = {**stage.pool.function.env, **({WITHOUT_AFTER_RESTORE: "1"} if without_after_restore else {})}
    function = replace(stage.pool.function, code_dir=ROOT, handler="tests.system.snapstart_probe.handler",
                       env=variables)  # fmt: skip
    pool = WorkerPool(function, tmp_path, concurrency=TOGETHER, parallel_inits=TOGETHER, patience_s=0.0)
    try:
        pool.publish()
        answers: list[Any] = []
        event = _order(stage)
        held = {**event, "probe_hold_s": 0.5}  # snapstart_probe.HOLD: each environment busy while the others arrive
        threads = [threading.Thread(target=lambda: answers.append(pool.invoke(dict(held)))) for _ in range(TOGETHER)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        snapshot = pool.snapshot_pid
    finally:
        pool.close()
    seen = []
    for answer in answers:
        assert answer.outcome == "ok", answer
        seen.append({**json.loads(answer.payload["body"]), "snapshot": snapshot})
    return seen


def test_each_environment_restored_from_one_snapshot_is_its_own(stage: LocalStage, tmp_path: Path) -> None:
    without = bool(os.environ.get("SNAPSTART_TEST_REMOVE_AFTER_RESTORE"))  # to see this test fail so
    seen = _restored(stage, tmp_path, without_after_restore=without)

    # Restored from the one snapshot, each in its own environment
    assert len({s["pid"] for s in seen}) == TOGETHER
    assert {s["ppid"] for s in seen} == {seen[0]["snapshot"]}
    # Each draws its own retry jitter
    draws = [tuple(s["jitter"]) for s in seen]
    assert len(set(draws)) == TOGETHER, f"restored environments drew the same jitter: {draws}"
    # Each opened its own connections (none came from the snapshot: its priming made no call)
    ports = [set(s["ports"]) for s in seen]
    assert all(ports)
    assert sum(len(p) for p in ports) == len(set().union(*ports))
    # And every order, none with an Idempotency-Key, got its own id, stored
    assert [s["status"] for s in seen] == [201] * TOGETHER
    ids = {s["order"]["id"] for s in seen}
    assert len(ids) == TOGETHER
    table = stage.describe()["physical"]["OrdersTable"]
    stored = boto3.client("dynamodb").batch_get_item(RequestItems={table: {"Keys": [{"id": {"S": i}} for i in ids]}})
    assert {item["id"]["S"] for item in stored["Responses"][table]} == ids


def test_without_the_after_restore_hook_every_restored_environment_draws_the_snapshot_s_jitter(
    stage: LocalStage, tmp_path: Path
) -> None:
    seen = _restored(stage, tmp_path, without_after_restore=True)

    assert len({s["pid"] for s in seen}) == TOGETHER
    assert len({tuple(s["jitter"]) for s in seen}) == 1  # the same draws in every one: the snapshot's state
    assert len({s["order"]["id"] for s in seen}) == TOGETHER  # ids come from os.urandom, unique either way
