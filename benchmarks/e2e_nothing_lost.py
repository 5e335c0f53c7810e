"""Nothing lost: every order the gateway answered 201 for, and every order row 1 stored, is in the table.

Reads the gateway's access log (also the closed loop's count of orders created in its window)
and counts the orders table once the queue's consumer has drained the queue.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3

from harness.runfolder import RunFolder

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_dynamodb.type_defs import ScanInputTypeDef

    from localstage.local import LocalStage


def statuses(access_log: Path, since: float = 0.0, until: float = math.inf) -> Counter[int]:
    """Statuses the gateway answered for requests that arrived in [since, until) (its access log)."""
    counts: Counter[int] = Counter()
    with access_log.open() as lines:
        for line in lines:
            entry = json.loads(line)
            if since <= entry["ts"] < until:
                counts[int(entry["status"])] += 1
    return counts


def _count_items(table: str) -> int:
    dynamodb = boto3.client("dynamodb")
    count = 0
    page: ScanInputTypeDef = {"TableName": table, "Select": "COUNT"}
    while True:
        answer = dynamodb.scan(**page)
        count += answer["Count"]
        if "LastEvaluatedKey" not in answer:
            return count
        page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def nothing_lost(stage: LocalStage, backend: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Every 201 of the run (and every order row 1 stored) is in the table; the queue was drained."""
    info = stage.describe()
    drained = stage.consumer.drain(quiet_s=2.0, timeout_s=30.0) if stage.consumer else False
    created = statuses(RunFolder(run_dir).access_log)[201]
    expected = created + backend["stored"]
    items = _count_items(info["physical"]["OrdersTable"])
    return {
        "gateway_201": created,
        "backend_stored": backend["stored"],
        "table_items": items,
        "missing": max(0, expected - items),
        "extra": max(0, items - expected),
        "messages_received": stage.consumer.received if stage.consumer else 0,
        "drained": drained,
    }
