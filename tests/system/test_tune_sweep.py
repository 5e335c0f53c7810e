"""Power tuning on the local stage keeps working: a two-size sweep, as ``tox -e tune`` runs one, with SnapStart.

Each size is a real main job (a fresh stage at that memory size under the Lambda CPU model,
Locust, the SLO gate, the audit, the cost), here with ``--snapstart`` handed on to it (as the dev
environment runs): so the same runs show the main job with SnapStart passing its audit with every
new environment restored, none a cold start. Figures are not asserted (benchmarks are not
tests), only that each size reached the function, was audited and priced, and that the sweep
chose among them by its strategy and drew its table and chart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (128, 512)


def test_a_two_size_sweep_runs_each_size_and_recommends_the_cheapest_that_passed() -> None:
    # When the sweep runs two sizes briefly, with an objective a brief run's cold starts cannot miss
    result = subprocess.run(
        [sys.executable, "-m", "loadtests.tune", "--memory", ",".join(map(str, SIZES)), "--users", "5",
         "--run-time", "4s", "--strategy", "cost", "--slo-p95-ms", "60000", "--snapstart"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    # Then it recommends a size, and says where it left the sweep
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    folder = Path(result.stdout.strip().splitlines()[-1].removeprefix("sweep folder: "))
    sweep = json.loads((folder / "tune.json").read_text())
    rows = sweep["sizes"]
    assert [row["memory_mb"] for row in rows] == list(SIZES)
    for row in rows:
        summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
        # And each size's function ran at that size (its REPORTs' memory), was audited and priced
        assert summary["cost"]["memory_mb"] == row["memory_mb"]
        assert summary["audit_passed"] is True
        assert row["cost_per_million_orders"] == summary["cost"]["per_million_orders"] > 0
        assert row["billed_ms_per_invocation"] > 0
        # And with SnapStart each new environment was restored from the one snapshot, none a cold start
        assert summary["restores"] >= 1
        assert summary["cold_starts"] == 0
        stage = json.loads((Path(row["run_dir"]) / "stage.json").read_text())
        assert stage["snapstart"]["state"] == "Active"
        page = (Path(row["run_dir"]) / "dashboard" / "index.html").read_text()
        assert f"0 cold starts, {summary['restores']} restored from a SnapStart snapshot" in page
    # And the cost strategy chose the cheaper of the two, shown in the table, with the chart drawn
    cheapest = min(rows, key=lambda row: (row["cost_per_million_orders"], row["memory_mb"]))
    assert sweep["recommended_mb"] == cheapest["memory_mb"]
    assert f"strategy cost: {cheapest['memory_mb']} MB" in (folder / "tune.md").read_text()
    assert (folder / "tune.png").read_bytes().startswith(b"\x89PNG")
