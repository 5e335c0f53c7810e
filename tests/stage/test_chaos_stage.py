"""Faults installed into the stage's workers from outside the handler reach the function's clients."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from chaos.plan import FaultPlan
from chaos.report import phase_reports
from loadtests.stage.local import LocalStage, id_token
from tests.stage.test_local_stage import _order, _post

PLAN = """
[[rule]]
service = "sqs"
operation = "SendMessage"
kind = "error"
code = "ServiceUnavailable"
"""


def test_a_plan_installed_in_the_workers_fails_the_function_s_own_calls(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    with LocalStage(tmp_path / "run", concurrency=2, customers=1, chaos_plan=plan) as stage:
        info = stage.describe()
        customer = info["customers"][0]
        token = id_token(info, customer)

        status, body = _post(info["orders_url"], _order(customer["customer_id"]), {"Authorization": token})

        # The queue send failed inside the function: stored, not queued, and said so
        assert status == 500
        assert body["dependency"] == "ProcessingQueue"
        items = boto3.client("dynamodb").scan(TableName=info["physical"]["OrdersTable"])["Items"]
        assert [item["id"]["S"] for item in items] == [body["order_id"]]
        logs = "".join(p.read_text() for p in (Path(info["run_dir"]) / "logs").glob("worker-*.log"))
        assert '"error_code":"ServiceUnavailable"' in logs


def test_phase_report_counts_errors_retries_and_recovery() -> None:
    plan = FaultPlan.from_dict(
        {
            "phase": [
                {"name": "steady", "start_s": 0, "end_s": 10},
                {"name": "outage", "start_s": 10, "end_s": 20},
                {"name": "recovery", "start_s": 20, "end_s": 40},
            ],
            "rule": [{"service": "sqs", "kind": "connection", "start_s": 10, "end_s": 20}],
        }
    )

    def attempt(t: float, status: int, n: int = 1) -> dict:
        return {"op": "create", "ts": 1000 + t, "status": status, "latency_ms": 10.0, "attempt": n}

    attempts = [attempt(t, 201) for t in range(10)]
    attempts += [attempt(t + 0.5, 500, 2) for t in range(10, 20)]
    attempts += [attempt(t, 500 if t < 23 else 201) for t in range(20, 40)]

    steady, outage, recovery = phase_reports(attempts, plan, started_at=1000)

    assert (steady.requests, steady.error_ratio, steady.recovered_after_s) == (10, 0.0, None)
    assert (outage.requests, outage.error_ratio, outage.retries) == (10, 1.0, 10)
    assert outage.recovered_after_s == 3.0
    assert recovery.statuses == {"201": 17, "500": 3}
    assert json.dumps(outage.__dict__)
