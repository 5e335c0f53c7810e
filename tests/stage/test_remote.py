"""The deployed-stage runner, pointed at a 'stack' whose outputs name the local stage.

moto's CloudFormation holds a stack with the real stack's output keys, so the runner's whole
path runs: outputs, catalog scan, Locust headless with a users file, the table-only audit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from loadtests.stage.local import LocalStage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("remote"), concurrency=4, customers=5) as running:
        yield running


def _fake_stack(stage: LocalStage, name: str) -> None:
    info = stage.describe()
    outputs = {
        "ApiUrl": info["orders_url"],
        "UserPoolId": info["user_pool_id"],
        "UserPoolClientId": info["client_id"],
        "OrdersTableName": info["physical"]["OrdersTable"],
        "ProductsTableName": info["physical"]["ProductsTable"],
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_remote_run_reads_the_stack_runs_the_scenarios_and_audits_the_table(stage: LocalStage, tmp_path: Path) -> None:
    _fake_stack(stage, "create-order-test")
    users_file = tmp_path / "customers.json"
    users_file.write_text(json.dumps(stage.describe()["customers"]))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.remote",
            "--stack",
            "create-order-test",
            "--users-file",
            str(users_file),
            "--users",
            "5",
            "--spawn-rate",
            "5",
            "--run-time",
            "6s",
            "--slo-p95-ms",
            "60000",
        ],
        cwd=ROOT,
        env={**os.environ, **stage.describe()["aws_env"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "not checked (no view of the queue): unqueued" in result.stdout
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run folder: "))
    audit = json.loads((run_dir / "audit.json").read_text())
    assert audit["passed"] is True
    assert audit["created"] > 0
    catalog = json.loads((run_dir / "catalog.json").read_text())
    assert catalog["P-001"]["active"] is True
