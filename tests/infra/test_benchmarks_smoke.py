"""The benchmark suite keeps working: a run with tiny counts (figures not asserted; benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import cpu_share
from localstage.cgroups import detect

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_suite_runs_end_to_end_and_writes_its_table(tmp_path: Path) -> None:
    # When the suite runs with tiny counts
    target = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--json", str(target)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    # Then it prints the table and writes every row, each variant having run to a 201
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads(target.read_text())["rows"]
    measures = {row["measure"] for row in rows}
    assert {"cold start, .pyc present", "cold start, no .pyc", "warm CPU per invocation, X-Ray off",
            "warm CPU per invocation, X-Ray on", "allocations per warm invocation",
            "end to end: closed loop, 4 users", "end to end: open loop, 20 req/s",
            "SnapStart: first invocation"} <= measures  # fmt: skip
    assert all(row["value"] > 0 for row in rows if row["unit"] in ("us", "ms wall"))
    assert "measure" in result.stdout.splitlines()[0]
    # And where the host allows control groups the CPU share rows are there, else the output says why not
    if detect().cpu is not None:
        assert {row["variant"] for row in rows if row["measure"] == cpu_share.MEASURE} == {
            "128 MB",
            "256 MB",
            "1769 MB",
        }
    else:
        assert "cpu share: not measured: " in result.stdout
    # And the end-to-end section's audit found every order it was answered 201 for in the table
    (missing,) = [row for row in rows if row["unit"] == "orders missing"]
    assert missing["value"] == 0
    assert json.loads(target.read_text())["e2e"]["nothing_lost"]["table_items"] > 0
