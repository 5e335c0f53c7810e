"""Run against run: the judge on pairs of run folders written by tests/support/runs.py, and its command."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.machine import this_machine
from harness.runfolder import RunFolder
from loadtests import run
from loadtests.audit.report import INVARIANTS, AuditReport
from runreport import compare_cli
from runreport.__main__ import main as runreport_main
from runreport.compare import (
    BETTER,
    REGRESSION,
    SAME,
    UNJUDGED,
    Comparison,
    Thresholds,
    grade,
    judge,
    requests_for,
)
from runreport.runfigures import AGGREGATED, SETUP_FACTS, RequestFigures, RunFigures, read_run
from tests.support.runs import RequestSpec, RunSpec, write_run

BASE = "20261207-100000-load"
NEW = "20261207-110000-load"
LIKE = RunSpec()


def _requests(**create_order: Any) -> dict[str, RequestSpec]:
    """The default requests, with ``create order``'s figures changed as given."""
    return {**LIKE.requests, "create order": replace(LIKE.requests["create order"], **create_order)}


def _pair(tmp_path: Path, new: RunSpec, base: RunSpec = LIKE) -> tuple[Path, Path]:
    return write_run(tmp_path, BASE, base), write_run(tmp_path, NEW, new)


def _judged(tmp_path: Path, new: RunSpec, thresholds: Thresholds | None = None) -> Comparison:
    base_dir, new_dir = _pair(tmp_path, new)
    return judge(read_run(base_dir), read_run(new_dir), thresholds)


def _verdicts(comparison: Comparison) -> dict[str, str]:
    return {row.figure: row.verdict for row in comparison.rows}


def test_two_like_runs_with_the_same_figures_compare_clean(tmp_path: Path) -> None:
    # Given two runs of one setup with the same figures
    # When the second is judged against the first
    comparison = _judged(tmp_path, LIKE)
    # Then no row regresses, nothing is unlike, and every kind of figure has its row
    assert comparison.regressions == []
    assert comparison.unlike == []
    figures = set(_verdicts(comparison))
    assert {"create order: p95", "Aggregated: RPS", "error ratio", "cold starts", "init (mean)"} <= figures
    assert {"billed per invocation", "stage CPU per order", "Max Memory Used", "invariant: lost"} <= figures
    assert {"invariant: wrong_status", "cost per million orders"} <= figures


def test_the_figures_are_read_from_the_files_a_run_writes(tmp_path: Path) -> None:
    # Given a run whose figures are stated
    spec = replace(LIKE, cold_starts=3, init_ms=250.0, billed_ms=33, max_memory_mb=77, stage_cpu_s=8.0, created=200)
    # When its folder is read
    run = read_run(write_run(tmp_path, NEW, spec))
    # Then each figure is the stated one, from its own source
    assert (run.cold_starts, run.init_ms, run.billed_ms, run.max_memory_mb) == (3, 250.0, 33, 77)
    assert run.stage_cpu_ms_per_order == pytest.approx(40.0)
    assert run.requests["create order"].p95_ms == 120.0
    assert run.setup["host cores"] == 2
    assert run.setup["shape"] == "users added at 20.0/s"


# Each figure moved the wrong way by more than both its share and its amount: a regression in its rows alone.
ALONE: list[tuple[str, RunSpec, set[str]]] = [
    ("p50", replace(LIKE, requests=_requests(p50_ms=60.0)), {"create order: p50", "Aggregated: p50"}),
    ("p95", replace(LIKE, requests=_requests(p95_ms=150.0)), {"create order: p95", "Aggregated: p95"}),
    ("p99", replace(LIKE, requests=_requests(p99_ms=260.0)), {"create order: p99", "Aggregated: p99"}),
    ("RPS", replace(LIKE, requests=_requests(rps=40.0)), {"create order: RPS", "Aggregated: RPS"}),
    ("errors", replace(LIKE, requests=_requests(failures=5)), {"error ratio"}),
    ("cold starts", replace(LIKE, cold_starts=16), {"cold starts"}),
    ("init", replace(LIKE, init_ms=500.0), {"init (mean)"}),
    ("billed", replace(LIKE, billed_ms=50), {"billed per invocation"}),
    ("CPU", replace(LIKE, stage_cpu_s=15.0), {"stage CPU per order"}),
    ("memory", replace(LIKE, max_memory_mb=100), {"Max Memory Used"}),
    ("invariant", replace(LIKE, breaches={"lost": 1}), {"invariant: lost"}),
]


@pytest.mark.parametrize(("new", "rows"), [(new, rows) for _, new, rows in ALONE], ids=[i for i, _, _ in ALONE])
def test_each_figure_regresses_on_its_own(tmp_path: Path, new: RunSpec, rows: set[str]) -> None:
    # Given a baseline and a run worse in one figure only
    # When judged
    comparison = _judged(tmp_path, new)
    # Then exactly that figure's rows are regressions
    assert {row.figure for row in comparison.regressions} == rows


# (thresholds, one figure's change): past one of the two bounds only, held back by the other.
HELD: list[tuple[str, Thresholds, RunSpec]] = [
    ("latency share", Thresholds(), replace(LIKE, requests=_requests(p95_ms=135.0))),  # +15 ms < 20 ms
    ("latency amount", Thresholds(), replace(LIKE, requests=_requests(p50_ms=35.0))),  # +17 % but +5 ms
    ("latency amount set", Thresholds(latency_ms=40.0), replace(LIKE, requests=_requests(p95_ms=150.0))),
    ("latency share set", Thresholds(latency_pct=30.0), replace(LIKE, requests=_requests(p95_ms=150.0))),
    ("RPS", Thresholds(rps_pct=25.0), replace(LIKE, requests=_requests(rps=40.0))),
    ("errors", Thresholds(error_points=2.0), replace(LIKE, requests=_requests(failures=5))),
    ("cold starts share", Thresholds(), replace(LIKE, cold_starts=14)),  # +40 % < 50 %
    ("cold starts amount", Thresholds(cold_starts=8.0), replace(LIKE, cold_starts=16)),
    ("init", Thresholds(init_ms=150.0), replace(LIKE, init_ms=500.0)),
    ("billed", Thresholds(billed_pct=30.0), replace(LIKE, billed_ms=50)),
    ("CPU", Thresholds(cpu_ms=10.0), replace(LIKE, stage_cpu_s=15.0)),
    ("memory", Thresholds(memory_mb=20.0), replace(LIKE, max_memory_mb=100)),
    ("invariant", Thresholds(invariant_breaches=1), replace(LIKE, breaches={"lost": 1})),
]


@pytest.mark.parametrize(("thresholds", "new"), [(t, n) for _, t, n in HELD], ids=[i for i, _, _ in HELD])
def test_a_change_within_either_bound_is_no_regression(tmp_path: Path, thresholds: Thresholds, new: RunSpec) -> None:
    # Given a run worse in one figure, but not past both of its bounds (or with too few requests to judge)
    # When judged
    comparison = _judged(tmp_path, new, thresholds)
    # Then no row regresses
    assert comparison.regressions == []


def test_a_name_with_few_requests_is_not_judged_on_its_percentiles(tmp_path: Path) -> None:
    # Given a run whose rarely sent request got much slower
    slow = {**LIKE.requests, "bad: boolean quantity": RequestSpec(5, 0, 0.5, 30.0, 900.0, 900.0)}
    # When judged
    comparison = _judged(tmp_path, replace(LIKE, requests=slow))
    verdicts = _verdicts(comparison)
    # Then its percentiles have no verdict, though both runs' figures are shown, and the aggregate,
    # dominated by the rest, still does
    assert verdicts["bad: boolean quantity: p95"] == UNJUDGED
    (row,) = [r for r in comparison.rows if r.figure == "bad: boolean quantity: p95"]
    assert (row.base, row.new, row.note) == (3.0, 900.0, "fewer than 100 requests in a run")
    assert verdicts["Aggregated: p95"] == REGRESSION


def test_better_figures_are_called_better_and_fewer_breaches_are_not(tmp_path: Path) -> None:
    # Given a baseline with breaches and a slower p95, and a run better in both
    base = replace(LIKE, breaches={"lost": 3}, requests=_requests(p95_ms=300.0))
    base_dir, new_dir = _pair(tmp_path, replace(LIKE, breaches={"lost": 1}), base)
    # When judged
    verdicts = _verdicts(judge(read_run(base_dir), read_run(new_dir)))
    # Then the latency is better, but an invariant still breached is only the same
    assert verdicts["create order: p95"] == BETTER
    assert verdicts["invariant: lost"] == SAME


def test_grade_needs_both_bounds_and_a_figure_on_each_side() -> None:
    assert grade(100.0, 121.0, 15.0, 20.0) == REGRESSION
    assert grade(100.0, 120.0, 15.0, 20.0) == SAME
    assert grade(100.0, 50.0, 15.0, 20.0, higher_is_worse=False) == REGRESSION
    assert grade(None, 50.0, 15.0, 20.0) == UNJUDGED


def test_grade_s_bounds_are_strict_both_ways() -> None:
    # Worse or better by exactly the share, or by exactly the amount, is the same
    assert grade(100.0, 115.0, 15.0, 1.0) == SAME
    assert grade(100.0, 114.9, 15.0, 1.0) == SAME
    assert grade(100.0, 85.0, 15.0, 1.0) == SAME
    assert grade(100.0, 80.0, 15.0, 20.0) == SAME
    # Better past the amount alone is the same too
    assert grade(100.0, 90.0, 15.0, 1.0) == SAME


# Two runs' figures as read from their folders, with one request name in the new run only, one run
# without a price, and invariants breached in one run only.
SETUP = dict.fromkeys(SETUP_FACTS, 1)
BASE_FIGURES = RunFigures(
    "base", SETUP,
    {
        AGGREGATED: RequestFigures(1000, 10, 50.0, 30.0, 100.0, 200.0),
        "create order": RequestFigures(980, 10, 49.0, 30.0, 100.0, 200.0),
        "bad": RequestFigures(20, 0, 1.0, 5.0, 6.0, 7.0),
    },
    cold_starts=10, init_ms=400.0, billed_ms=40.0, stage_cpu_ms_per_order=30.0, max_memory_mb=90,
    invariants={"lost": 2, "duplicated": 0},
)  # fmt: skip
NEW_FIGURES = RunFigures(
    "new", SETUP,
    {
        AGGREGATED: RequestFigures(1200, 24, 60.0, 31.0, 130.0, 210.0),
        "create order": RequestFigures(1170, 24, 58.5, 31.0, 130.0, 210.0),
        "bad": RequestFigures(20, 0, 1.0, 50.0, 60.0, 70.0),
        "get": RequestFigures(10, 0, 0.5, 3.0, 4.0, 5.0),
    },
    cold_starts=12, init_ms=460.0, billed_ms=41.0, stage_cpu_ms_per_order=28.0, max_memory_mb=99,
    invariants={"duplicated": 1, "unqueued": 3}, cost_per_million_orders=2.5,
)  # fmt: skip


def test_every_row_holds_both_runs_figures_its_unit_its_verdict_and_why_when_unjudged() -> None:
    # When the new run's figures are judged against the baseline's
    rows = judge(BASE_FIGURES, NEW_FIGURES).rows
    # Then the aggregate comes first, then each name of either run; a name with exactly the least
    # requests is judged, one in a run alone is not; a price or a breach in one run only is unjudged
    assert [(r.figure, r.base, r.new, r.unit, r.verdict, r.note) for r in rows] == [
        ("Aggregated: requests", 1000, 1200, "", UNJUDGED, ""),
        ("Aggregated: RPS", 50.0, 60.0, "/s", BETTER, ""),
        ("Aggregated: p50", 30.0, 31.0, "ms", SAME, ""),
        ("Aggregated: p95", 100.0, 130.0, "ms", REGRESSION, ""),
        ("Aggregated: p99", 200.0, 210.0, "ms", SAME, ""),
        ("bad: requests", 20, 20, "", UNJUDGED, ""),
        ("bad: RPS", 1.0, 1.0, "/s", SAME, ""),
        ("bad: p50", 5.0, 50.0, "ms", REGRESSION, ""),
        ("bad: p95", 6.0, 60.0, "ms", UNJUDGED, "fewer than 100 requests in a run"),
        ("bad: p99", 7.0, 70.0, "ms", UNJUDGED, "fewer than 500 requests in a run"),
        ("create order: requests", 980, 1170, "", UNJUDGED, ""),
        ("create order: RPS", 49.0, 58.5, "/s", BETTER, ""),
        ("create order: p50", 30.0, 31.0, "ms", SAME, ""),
        ("create order: p95", 100.0, 130.0, "ms", REGRESSION, ""),
        ("create order: p99", 200.0, 210.0, "ms", SAME, ""),
        ("get: requests", None, 10, "", UNJUDGED, ""),
        ("get: RPS", None, 0.5, "/s", UNJUDGED, ""),
        ("get: p50", None, 3.0, "ms", UNJUDGED, "fewer than 20 requests in a run"),
        ("get: p95", None, 4.0, "ms", UNJUDGED, "fewer than 100 requests in a run"),
        ("get: p99", None, 5.0, "ms", UNJUDGED, "fewer than 500 requests in a run"),
        ("error ratio", 1.0, 2.0, "%", REGRESSION, ""),
        ("cold starts", 10, 12, "", SAME, ""),
        ("init (mean)", 400.0, 460.0, "ms", SAME, ""),
        ("billed per invocation", 40.0, 41.0, "ms", SAME, ""),
        ("stage CPU per order", 30.0, 28.0, "ms", SAME, ""),
        ("Max Memory Used", 90, 99, "MB", SAME, ""),
        ("invariant: lost", 2, None, "", UNJUDGED, ""),
        ("invariant: duplicated", 0, 1, "", REGRESSION, ""),
        ("invariant: unqueued", None, 3, "", UNJUDGED, ""),
        ("cost per million orders", None, 2.5, "USD", UNJUDGED, "only one run records a price"),
    ]


def _without_aggregate(figures: RunFigures) -> RunFigures:
    return replace(figures, requests={n: r for n, r in figures.requests.items() if n != AGGREGATED})


@pytest.mark.parametrize(
    ("base", "new", "aggregated"),
    [
        (BASE_FIGURES, _without_aggregate(NEW_FIGURES), True),
        (_without_aggregate(BASE_FIGURES), NEW_FIGURES, True),
        (_without_aggregate(BASE_FIGURES), _without_aggregate(NEW_FIGURES), False),
    ],
    ids=["in-the-baseline-only", "in-the-new-run-only", "in-neither"],
)
def test_the_aggregate_has_rows_when_either_run_has_it(base: RunFigures, new: RunFigures, aggregated: bool) -> None:
    figures = [row.figure for row in judge(base, new).rows]

    assert ("Aggregated: p95" in figures) is aggregated
    assert figures.index("bad: requests") == (5 if aggregated else 0)


def test_the_error_ratio_and_the_breaches_are_judged_by_amount_whatever_the_baseline() -> None:
    # Given a baseline with 80 % errors and 200 orders lost, and a run with 80.7 % and 201
    base = replace(BASE_FIGURES, requests={AGGREGATED: RequestFigures(1000, 800, 50.0, 30.0, 100.0, 200.0)},
                   invariants={"lost": 200})  # fmt: skip
    new = replace(BASE_FIGURES, requests={AGGREGATED: RequestFigures(1000, 807, 50.0, 30.0, 100.0, 200.0)},
                  invariants={"lost": 201})  # fmt: skip
    # When judged
    verdicts = _verdicts(judge(base, new))
    # Then 0.7 points more errors and one more breach are regressions, however large the baseline's
    assert (verdicts["error ratio"], verdicts["invariant: lost"]) == (REGRESSION, REGRESSION)


def test_cost_is_judged_only_where_both_runs_record_it(tmp_path: Path) -> None:
    # Given a pair where neither run records a price, one where only the baseline does, and one
    # where both do, the second dearer
    neither = _judged(tmp_path / "neither", LIKE)
    base_dir, new_dir = _pair(tmp_path / "one", LIKE, replace(LIKE, cost_per_million_orders=2.0))
    one = judge(read_run(base_dir), read_run(new_dir))
    base_dir, new_dir = _pair(
        tmp_path / "both", replace(LIKE, cost_per_million_orders=3.0), replace(LIKE, cost_per_million_orders=2.0)
    )
    both = judge(read_run(base_dir), read_run(new_dir))

    # Then the first two say so and judge nothing; the third is a regression
    def cost(comparison: Comparison) -> tuple[object, ...]:
        (row,) = [r for r in comparison.rows if r.figure == "cost per million orders"]
        return row.base, row.new, row.unit, row.verdict, row.note

    assert cost(neither) == (None, None, "USD", UNJUDGED, "neither run records a price")
    assert cost(one) == (2.0, None, "USD", UNJUDGED, "only one run records a price")
    assert cost(both) == (2.0, 3.0, "USD", REGRESSION, "")


def test_unlike_hosts_are_named_and_an_unrecorded_setup_counts_as_unlike(tmp_path: Path) -> None:
    # Given a run on a 4-core host, and a run from before the setup was recorded
    four = replace(LIKE, machine={"cores": 4, "cpu_model": "AMD EPYC", "memory_mib": 24105})
    # When each is judged against a 2-core run
    cores = _judged(tmp_path / "cores", four).unlike
    old = _judged(tmp_path / "old", replace(LIKE, machine=None, load=None)).unlike
    # Then the difference is named, and every fact the old run lacks is unlike
    assert [u.line() for u in cores] == ["host cores: 2 vs 4"]
    assert {u.fact for u in old} == {"host cores", "host CPU", "host memory MiB", "users", "shape", "run time"}


def test_two_runs_that_both_lack_a_setup_fact_are_not_like(tmp_path: Path) -> None:
    # Given two runs from before the load was recorded
    old = replace(LIKE, load=None)
    base_dir, new_dir = _pair(tmp_path, old, old)
    # When judged
    comparison = judge(read_run(base_dir), read_run(new_dir))
    # Then the facts neither records are unlike: nothing says the runs were alike
    assert [u.line() for u in comparison.unlike] == [
        "users: not recorded vs not recorded", "shape: not recorded vs not recorded",
        "run time: not recorded vs not recorded",
    ]  # fmt: skip


def test_a_saturated_host_is_a_caution_not_a_verdict(tmp_path: Path) -> None:
    # Given a run whose host was saturated while Locust ran, its figures otherwise the baseline's
    comparison = _judged(tmp_path, replace(LIKE, busy_cores=1.93))
    # Then the comparison cautions about that run, and nothing regresses or is unlike for it
    assert comparison.cautions == [
        f"the host was saturated in {NEW} (1.93 of 2 cores busy): its latency is partly the machine's"
    ]
    assert comparison.regressions == []
    assert comparison.unlike == []


# ---- the command -------------------------------------------------------------------------------


def _compare(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = runreport_main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_exits_0_on_a_clean_pair_and_writes_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a like pair with the same figures
    base_dir, new_dir = _pair(tmp_path, LIKE)
    # When compared
    code, out, _ = _compare(capsys, str(base_dir), str(new_dir))
    # Then it exits 0 and NEW holds the table and the chart
    assert code == compare_cli.NO_REGRESSION
    assert "no regression" in out.splitlines()[0]
    folder = RunFolder(new_dir)
    assert folder.compare_table.read_text().startswith(f"**{NEW} against the baseline {BASE}: no regression**")
    assert folder.compare_chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_exits_1_on_a_regression_naming_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pair whose second run is slower
    base_dir, new_dir = _pair(tmp_path, replace(LIKE, requests=_requests(p95_ms=200.0)))
    # When compared
    code, out, _ = _compare(capsys, str(base_dir), str(new_dir))
    # Then it exits 1, naming the rows, and the Markdown table marks them
    assert code == compare_cli.REGRESSED
    assert "REGRESSION in 2 rows: Aggregated: p95, create order: p95" in out
    table = RunFolder(new_dir).compare_table.read_text().splitlines()
    assert "| create order: p95 | 120 ms | 200 ms | +80 ms (+67%) | **REGRESSION** |  |" in table
    assert len({line.count(" | ") for line in table if line.startswith("| ")}) == 1  # every row has every column


def test_an_option_overrides_a_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a pair whose second run's p95 grew by 80 ms
    base_dir, new_dir = _pair(tmp_path, replace(LIKE, requests=_requests(p95_ms=200.0)))
    # When compared allowing 100 ms
    code, _, _ = _compare(capsys, str(base_dir), str(new_dir), "--latency-ms", "100")
    # Then it is no regression
    assert code == compare_cli.NO_REGRESSION


def test_unlike_hosts_are_warned_in_the_heading_and_refused_under_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pair from hosts with different cores
    four = replace(LIKE, machine={"cores": 4, "cpu_model": "AMD EPYC", "memory_mib": 24105})
    base_dir, new_dir = _pair(tmp_path, four)
    # When compared, then with --strict
    code, out, _ = _compare(capsys, str(base_dir), str(new_dir))
    strict, strict_out, strict_err = _compare(capsys, str(base_dir), str(new_dir), "--strict")
    # Then the heading warns and the verdict stands; under --strict it refuses, saying what differs
    assert code == compare_cli.NO_REGRESSION
    warning = out.splitlines()[1]
    assert warning.startswith("WARNING: unlike runs")
    assert "host cores: 2 vs 4" in warning
    assert "> WARNING: unlike runs" in RunFolder(new_dir).compare_table.read_text()
    assert not any(line.startswith("CAUTION") for line in out.splitlines())
    assert strict == compare_cli.REFUSED
    assert "host cores: 2 vs 4" in strict_err
    assert strict_out == ""


def test_latest_is_the_newest_earlier_finished_load_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an old slow run, a newer clean one, an unfinished one, a chaos run and a later run, beside NEW
    write_run(tmp_path, "20261207-090000-load", replace(LIKE, requests=_requests(p95_ms=999.0)))
    write_run(tmp_path, "20261207-100000-load", LIKE)
    (tmp_path / "20261207-103000-load").mkdir()  # killed half-way: no summary
    write_run(tmp_path, "20261207-104000-chaos", replace(LIKE, requests=_requests(p95_ms=1.0)))
    new_dir = write_run(tmp_path, NEW, LIKE)
    write_run(tmp_path, "20261207-120000-load", replace(LIKE, requests=_requests(p95_ms=1.0)))
    # When compared with latest
    code, out, _ = _compare(capsys, "latest", str(new_dir))
    # Then the baseline is the 10:00 run
    assert code == compare_cli.NO_REGRESSION
    assert f"{NEW} against the baseline 20261207-100000-load" in out


@pytest.mark.parametrize("missing", ["latest", "nothing-here"])
def test_no_baseline_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str) -> None:
    # Given a first run and no other, or a baseline that is no run folder
    new_dir = write_run(tmp_path, NEW, LIKE)
    base = missing if missing == "latest" else str(tmp_path / missing)
    # When compared
    code, _, err = _compare(capsys, base, str(new_dir))
    # Then it refuses, saying why
    assert code == compare_cli.REFUSED
    assert "refused" in err


def test_the_main_job_records_the_setup_the_comparison_reads(tmp_path: Path) -> None:
    # Given a finished run's Locust stats and stage file, and the main job's options
    folder = RunFolder(write_run(tmp_path, NEW, LIKE))
    folder.stage_file.write_text(json.dumps({"allotment": {"memory_size_mb": 512, "cpu_model": "host"}}))
    args, _ = run.arguments(["--users", "7", "--run-time", "5s", "--shape", "spike"])
    # When the main job writes its summary
    run.summarize(folder.path, AuditReport(created=1), 0, load=run.load_setup(args))
    # Then it holds this machine, the allotment in force, the load and every invariant, as the comparison reads them
    summary = json.loads(folder.summary.read_text())
    assert summary["machine"] == this_machine().as_json()
    assert set(summary["invariants"]) == set(INVARIANTS)
    setup = read_run(folder.path).setup
    assert (setup["memory size MB"], setup["CPU model"]) == (512, "host")
    assert (setup["users"], setup["shape"], setup["run time"]) == (7, "spike", "5s")
    assert setup["host cores"] == os.cpu_count()


def test_the_main_job_takes_a_baseline_and_hands_none_of_it_to_locust() -> None:
    # When the main job's options name a baseline, --strict and a threshold
    args, extra = run.arguments(["--baseline", "latest", "--strict", "--latency-ms", "30"])
    # Then they are the main job's, and Locust gets none of them
    assert (args.baseline, args.strict, compare_cli.thresholds_of(args).latency_ms) == ("latest", True, 30.0)
    assert extra == []


@pytest.mark.parametrize(
    ("passed", "compared", "status"),
    [
        (False, compare_cli.NO_REGRESSION, 1),
        (False, compare_cli.REFUSED, 1),
        (True, compare_cli.REGRESSED, 1),
        (True, compare_cli.REFUSED, 2),
        (True, compare_cli.NO_REGRESSION, 0),
        (True, None, 0),
        (False, None, 1),
    ],
)
def test_the_slo_gate_and_the_audit_judge_before_the_comparison(
    passed: bool, compared: int | None, status: int
) -> None:
    # Given whether the first judges passed the run, and the comparison's status (None: no baseline)
    # When the main job decides its exit status
    # Then a run the first judges fail exits 1 whatever the comparison said; else the comparison decides
    assert run.exit_status(passed, compared) == status


@pytest.mark.parametrize(("percentile", "needed"), [(50, 20), (95, 100), (99, 500)])
def test_a_percentile_is_judged_only_with_five_requests_beyond_it_in_both_runs(percentile: int, needed: int) -> None:
    assert requests_for(percentile, Thresholds()) == needed
    assert requests_for(percentile, Thresholds(min_beyond=1, min_requests=2)) == max(2, 100 // (100 - percentile))
