"""Schemathesis against the running local stage, from the openapi.yaml the stage itself serves.

Schemathesis' engine (what ``schemathesis run`` runs: its examples, coverage and fuzzing phases)
sends every request it generates -- schema-valid orders, every kind of schema violation, missing
and broken headers, undeclared methods, the request without or with a wrong token -- through
the stage's HTTP front with a customer's valid ID token, and runs all of its checks on each
answer: no 5xx, a documented status, a body and headers that conform, valid data accepted,
invalid data rejected, the token not ignored.

Schema-valid orders are made orderable as they are generated: the schema cannot know the
catalogue or whose token is sent, so their customer_id becomes the caller's, their products
distinct catalogue products and their Idempotency-Key a new one; everything else is sent as
Schemathesis made it. After the run,
the orders table must hold exactly the orders answered 201: nothing is stored on a 4xx.

``SCHEMATHESIS_MAX_EXAMPLES`` (default 100) sets the examples per phase for longer runs.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine.events import EngineFinished, NonFatalError, ScenarioFinished

from harness.seed import CATALOG
from localstage.local import LocalStage, id_token

IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_KEY_LENGTH = 255
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"))
ORDERABLE = [product for product, (_, currency, active) in CATALOG.items() if active and currency == "USD"]
"""Active products of one currency: any of them, each once, make a valid order."""


@dataclass
class Run:
    """What one Schemathesis run sent and found."""

    answers: list[tuple[str, str, int, Any]] = field(default_factory=list)
    """(generation mode, method, status, JSON body or None) of every recorded request."""
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks: Counter[str] = field(default_factory=Counter)
    finished: EngineFinished | None = None


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("schemathesis"), concurrency=2, customers=2) as running:
        yield running


def orderable(case: Any, customer_id: str, serial: int) -> None:
    """Make a schema-valid case an order the stage can accept, and a new one.

    The caller's customer_id, distinct catalogue products, and an Idempotency-Key made unique by
    a serial suffix (Schemathesis repeats short keys such as "0"; a repeat would be a 409, which
    tests/system/test_duplicates_at_scale.py proves).
    """
    if isinstance(case.body, dict):
        lines = [{**item, "product_id": product} for item, product in zip(case.body["items"], ORDERABLE, strict=False)]
        case.body = {**case.body, "customer_id": customer_id, "items": lines}
    key = (case.headers or {}).get(IDEMPOTENCY_KEY)
    if isinstance(key, str):
        suffix = f"-{serial}"
        case.headers[IDEMPOTENCY_KEY] = key[: MAX_KEY_LENGTH - len(suffix)] + suffix


@pytest.fixture(scope="module")
def run(stage: LocalStage) -> Run:
    info = stage.describe()
    user = info["customers"][0]
    config = SchemathesisConfig.from_dict(
        {
            "checks": {
                # Every schema-valid order (made orderable and new below) is created.
                "positive_data_acceptance": {"expected-statuses": ["201"]},
            },
            "generation": {"max-examples": MAX_EXAMPLES},
        }
    )
    schema = schemathesis.openapi.from_url(info["url"] + "/openapi.yaml", config=config)
    schema.config.update(base_url=info["url"], headers={"Authorization": id_token(info, user)})

    serials = itertools.count(1)

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        if case.method == "POST" and case.meta is not None and case.meta.generation.mode.is_positive:
            orderable(case, user["customer_id"], next(serials))
        return case

    result = Run()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            _record(result, event)
        elif isinstance(event, NonFatalError):
            result.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, EngineFinished):
            result.finished = event
    return result


def _record(result: Run, event: ScenarioFinished) -> None:
    recorder = event.recorder
    for case_id, interaction in recorder.interactions.items():
        case = recorder.cases[case_id].value
        mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
        response = interaction.response
        if response is None:
            result.errors.append(f"{interaction.request.method} {interaction.request.uri}: no response")
            continue
        try:
            document = json.loads(response.content or b"")
        except ValueError:
            document = None
        result.answers.append((mode, interaction.request.method, response.status_code, document))
    for nodes in recorder.checks.values():
        for node in nodes:
            result.checks[f"{node.name} {node.status.value}"] += 1
            if node.failure_info is not None:
                failure = node.failure_info.failure
                result.failures.append(
                    f"{node.name}: {failure.title}\n{failure.message}\n{node.failure_info.code_sample}"
                )


def test_schemathesis_ran_to_completion_and_its_checks_found_nothing(run: Run) -> None:
    assert run.finished is not None
    assert run.finished.stop_reason.value == "completed"
    assert run.errors == []
    assert run.failures == [], "\n\n".join(run.failures)


def test_the_run_sent_valid_and_invalid_requests_and_ran_the_checks(run: Run) -> None:
    by_mode = Counter(mode for mode, *_ in run.answers)
    statuses = Counter(status for *_, status, _ in run.answers)

    assert by_mode["positive"] > 0, by_mode
    assert by_mode["negative"] > 0, by_mode
    assert all(statuses[status] > 0 for status in (201, 400, 401, 403, 415)), statuses
    for check in ("not_a_server_error", "status_code_conformance", "response_schema_conformance",
                  "positive_data_acceptance", "negative_data_rejection", "ignored_auth"):  # fmt: skip
        assert run.checks[f"{check} success"] > 0, run.checks


def test_no_answer_is_a_5xx(run: Run) -> None:
    assert [answer for answer in run.answers if answer[2] >= 500] == []


def test_the_table_holds_exactly_the_orders_answered_201(stage: LocalStage, run: Run) -> None:
    created = {document["id"] for _, _, status, document in run.answers if status == 201}
    table = stage.describe()["physical"]["OrdersTable"]
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table, ProjectionExpression="id")
    stored = {item["id"]["S"] for page in pages for item in page["Items"]}

    assert created
    assert stored == created
