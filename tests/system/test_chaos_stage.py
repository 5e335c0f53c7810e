"""Faults installed into the stage's workers from outside the handler reach the function's clients."""

from __future__ import annotations

from pathlib import Path

import boto3

from chaos.inject import read_journal
from harness.runfolder import RunFolder
from localstage.local import LocalStage, id_token
from tests.system.test_local_stage import _order, _post

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
        # ... and each fault is journaled with the request it met (the runtime client's request in flight)
        faults = read_journal(RunFolder(Path(info["run_dir"])).logs.worker_logs())
        assert faults
        assert {fault["request_id"] for fault in faults} == {body["request_id"]}
