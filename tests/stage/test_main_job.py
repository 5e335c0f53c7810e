"""The main job end to end, small: the stage, Locust headless, the audit; exit 0 and a clean audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_main_job_runs_and_its_audit_holds() -> None:
    result = subprocess.run(
        # Timing is not under test here (a short run is mostly cold starts): the SLO is opened wide.
        [
            sys.executable,
            "-m",
            "loadtests.run",
            "--users",
            "10",
            "--spawn-rate",
            "10",
            "--run-time",
            "8s",
            "--slo-p95-ms",
            "60000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1].removeprefix("run folder: "))
    audit = json.loads((run_dir / "audit.json").read_text())
    assert audit["passed"] is True
    assert audit["created"] > 0
    assert audit["lost"] == audit["duplicated"] == audit["orphaned"] == 0
    assert (run_dir / "locust_stats.csv").exists()
    assert list((run_dir / "ledger").glob("ledger-*.jsonl"))
