"""The main job end to end, short: the stage, Locust headless, the audit; exit 0 and a clean audit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from loadtests.ledger import read_ledgers

ROOT = Path(__file__).resolve().parents[2]
# Timing is not under test here (a short run is mostly cold starts): the SLO is opened wide.
WIDE_SLO = ["--slo-p95-ms", "60000"]


def _main_job(*arguments: str) -> tuple[Path, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "loadtests.run", *arguments, *WIDE_SLO],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run folder: "))
    return run_dir, json.loads((run_dir / "audit.json").read_text())


def test_main_job_at_100_users_holds_every_invariant_and_every_scenario_gets_its_statuses() -> None:
    # When the main job runs briefly at its full 100 users
    run_dir, audit = _main_job("--users", "100", "--spawn-rate", "50", "--run-time", "20s")

    # Then the audit holds, request by request
    assert audit["passed"] is True
    assert audit["created"] > 0
    assert audit["lost"] == audit["duplicated"] == audit["orphaned"] == audit["unqueued"] == 0
    # ... and every scenario class ran and got exactly what it expects
    finals: dict[str, set[int]] = defaultdict(set)
    for attempt in read_ledgers(run_dir / "ledger"):
        if attempt["final"]:
            finals[attempt["op"]].add(attempt["status"])
    assert finals["create"] <= {201, 409}
    assert 201 in finals["create"]
    assert finals["duplicate"] == {201, 409}
    assert finals["bad"] <= {400, 413, 415}
    assert 400 in finals["bad"]
    assert finals["intrude"] <= {401, 403}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["create order"]["requests"] > 0
    assert summary["cold_starts"] >= 1
    # ... and the run's dashboard was drawn from its own data: every widget but the alarms has a source
    drawn = json.loads((run_dir / "dashboard" / "widgets.json").read_text())
    assert [w["title"] for w in drawn if w["missing"]] == ["Alarms"]
    assert (run_dir / "dashboard" / "index.html").is_file()
    assert (run_dir / "dashboard" / "dashboard.png").stat().st_size > 0


def test_distributed_master_and_two_workers_write_ledgers_the_audit_merges() -> None:
    run_dir, audit = _main_job("--users", "10", "--spawn-rate", "10", "--run-time", "8s", "--processes", "2")

    assert audit["passed"] is True
    ledgers = [path for path in (run_dir / "ledger").glob("ledger-*.jsonl") if path.stat().st_size]
    assert len(ledgers) == 2  # one per worker; the master sends nothing
    assert audit["attempts"] == sum(len(path.read_text().splitlines()) for path in ledgers)
