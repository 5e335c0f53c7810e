"""The benchmark's verdict: targets as data, judged against rows and the end-to-end bottlenecks.

Pure functions on rows built here: no probe, no stage, no timing. ``main`` is run with its
measuring functions replaced by ones returning those rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import cpu_share, e2e, run, snapstart
from benchmarks.cpu_share import Spin
from benchmarks.targets import (
    CLOSED_P95_MS,
    CLOSED_VS_BACKEND,
    COLD_VS_FLOOR,
    COLD_VS_NAIVE,
    CPU_SHARE_HALF,
    CPU_SHARE_ONE_VCPU,
    OPEN_P95_MS,
    RSS_GROWTH_MIB,
    RSS_PEAK_MIB,
    WARM_VS_FLOOR_XRAY_OFF,
    WARM_VS_FLOOR_XRAY_ON,
    ZERO,
    Row,
    Target,
    judge,
)

CPU_BOUND = {"limit": "cpu", "verdict": "the machine's 2 cores (1.94 busy); largest consumer workers"}
ONE_PROCESS = {"limit": "moto-sqs", "verdict": "moto-sqs: one process at 97% of a core"}
UNSATURATED = {"limit": "none", "verdict": "no saturated process and 0.94 of 2 cores busy"}


def _value(value: float, target: Target | None, stage_row: str | None = None, unit: str = "ms p95") -> Row:
    return Row("a measure", "handler", value, unit, target=target, stage_row=stage_row)


def _ratio(ratio: float | None, target: Target, stage_row: str | None = None) -> Row:
    return Row("a measure", "handler", 100.0, "us", "floor", ratio, target, stage_row)


# --- Target: each comparison at and around its limit --------------------------------------------


@pytest.mark.parametrize(
    ("target", "measured"),
    [
        (Target("<=", 1.15, on="ratio"), 1.15),
        (Target("<=", 1.15, on="ratio"), 1.14),
        (Target(">=", 0.90, on="ratio"), 0.90),
        (Target(">=", 0.90, on="ratio"), 0.91),
        (Target("==", 0, on="ratio"), 0),
    ],
)
def test_a_target_holds_at_its_limit_and_on_its_side_of_it(target: Target, measured: float) -> None:
    # Given a row whose ratio is at the target's limit or inside it
    row = _ratio(measured, target)
    # Then the target holds
    assert target.holds(row)


@pytest.mark.parametrize(
    ("target", "measured"),
    [
        (Target("<=", 1.15, on="ratio"), 1.16),
        (Target(">=", 0.90, on="ratio"), 0.89),
        (Target("==", 0, on="ratio"), 0.01),
        (Target("==", 0, on="ratio"), -0.01),
    ],
)
def test_a_target_fails_just_past_its_limit(target: Target, measured: float) -> None:
    # Given a row whose ratio is just past the target's limit
    row = _ratio(measured, target)
    # Then the target fails
    assert not target.holds(row)


@pytest.mark.parametrize("measured", [1.5, 1.51, 2.0, 2.49, 2.5])
def test_a_target_within_a_tolerance_holds_on_either_side_up_to_it(measured: float) -> None:
    # Given a ratio within 25 % of 2, either side
    row = _ratio(measured, CPU_SHARE_HALF)
    # Then the target holds
    assert CPU_SHARE_HALF.holds(row)


@pytest.mark.parametrize("measured", [1.49, 2.51, 0.0, -2.0])
def test_a_target_within_a_tolerance_fails_just_past_it_on_either_side(measured: float) -> None:
    assert not CPU_SHARE_HALF.holds(_ratio(measured, CPU_SHARE_HALF))


@pytest.mark.parametrize(("op", "tolerance"), [("~=", 0.0), ("~=", -0.1), ("<=", 0.25)])
def test_a_tolerance_goes_with_the_within_comparison_alone(op: str, tolerance: float) -> None:
    with pytest.raises(ValueError, match="a tolerance is for ~= alone"):
        Target(op, 2.0, on="ratio", tolerance=tolerance)  # type: ignore[arg-type]


def test_a_ratio_target_judges_the_ratio_and_a_value_target_the_value() -> None:
    # Given a row whose value is far above 1.15 and whose ratio is below it
    row = Row("warm CPU", "handler", 784.0, "us", "floor", 1.06)
    # Then "<= 1.15" holds on its ratio and fails on its value
    assert Target("<=", 1.15, on="ratio").holds(row)
    assert not Target("<=", 1.15, on="value").holds(row)


def test_a_ratio_target_on_a_row_without_a_ratio_fails() -> None:
    # Given a row with no ratio (its reference measured nothing)
    row = _ratio(None, CLOSED_VS_BACKEND)
    # Then its ratio target cannot hold
    assert not CLOSED_VS_BACKEND.holds(row)


@pytest.mark.parametrize("field", ["op", "on", "kind"])
def test_a_target_with_an_unknown_comparison_scope_or_kind_is_refused(field: str) -> None:
    # Given a target built with an unknown op, scope or kind
    fields: dict[str, Any] = {"op": "<=", "limit": 1.0, "on": "value", "kind": "performance"} | {field: "<"}
    # Then it is refused
    with pytest.raises(ValueError, match=f"unknown target {field}"):
        Target(**fields)


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (COLD_VS_FLOOR, "<= 1.15"),
        (COLD_VS_NAIVE, "<= 0.70"),
        (WARM_VS_FLOOR_XRAY_OFF, "<= 1.15"),
        (WARM_VS_FLOOR_XRAY_ON, "<= 1.25"),
        (RSS_PEAK_MIB, "<= 60"),
        (RSS_GROWTH_MIB, "<= 1"),
        (CLOSED_VS_BACKEND, ">= 0.90"),
        (CLOSED_P95_MS, "<= 500"),
        (OPEN_P95_MS, "<= 30"),
        (CPU_SHARE_HALF, "\u22482 \u00b125%"),
        (CPU_SHARE_ONE_VCPU, "\u22480.145 \u00b125%"),
        (ZERO, "0"),
    ],
)
def test_each_target_prints_as_the_table_shows_it(target: Target, text: str) -> None:
    # Then the target's text is the table's
    assert str(target) == text


# --- the verdict ---------------------------------------------------------------------------------


def test_rows_whose_targets_hold_pass_the_run_and_rows_without_a_target_are_not_judged() -> None:
    # Given an in-process target that holds and a row with no target
    held = _ratio(1.06, WARM_VS_FLOOR_XRAY_OFF)
    verdict = judge([held, _value(5975.0, None)], {})
    # Then only the targeted row is judged, it holds, and the run passes
    assert [(j.row, j.outcome) for j in verdict.judgements] == [(held, "holds")]
    assert verdict.passed
    assert verdict.exit_code == 0
    assert verdict.lines()[-1].startswith("verdict: PASS")


@pytest.mark.parametrize(
    "row",
    [
        Row("cold start, .pyc present", "handler", 230.0, "ms over bare", "floor", 1.22, COLD_VS_FLOOR),
        Row("warm CPU per invocation, X-Ray on", "handler", 920.0, "us", "floor", 1.27, WARM_VS_FLOOR_XRAY_ON),
        Row("RSS over 10000 invocations", "handler", 61.0, "MiB peak", target=RSS_PEAK_MIB),
        Row("RSS over 10000 invocations", "handler", 4.2, "MiB growth", target=RSS_GROWTH_MIB),
    ],
)
def test_a_failing_in_process_target_fails_the_run_and_names_its_row(row: Row) -> None:
    # Given an in-process row past its target, beside one that holds, on a CPU-bound end-to-end run
    held = _ratio(1.06, WARM_VS_FLOOR_XRAY_OFF)
    # When it is judged
    verdict = judge([held, row], {"closed": CPU_BOUND, "open": CPU_BOUND})
    # Then it fails the run, by name
    assert [j.row for j in verdict.failures] == [row]
    assert verdict.exit_code == 1
    assert verdict.lines()[-1] == f"verdict: FAIL (1 of 2 targets): {row.name}"
    judgement = verdict.of(row)
    assert judgement is not None
    assert judgement.column == "fails"


@pytest.mark.parametrize(("stage_row", "limited"), [("closed", CPU_BOUND), ("open", ONE_PROCESS)])
def test_a_failing_end_to_end_speed_target_on_a_saturated_row_is_not_judged_and_names_its_limit(
    stage_row: str, limited: dict[str, str]
) -> None:
    # Given an end-to-end p95 past its target, measured while its stage row was saturated
    row = _value(980.0, CLOSED_P95_MS, stage_row=stage_row)
    # When it is judged
    verdict = judge([row], {stage_row: limited})
    # Then it does not fail the run; it says what limited it
    [judgement] = verdict.judgements
    assert judgement.outcome == "not judged"
    assert verdict.passed
    assert judgement.column == f"limited by {limited['limit']}"
    assert judgement.line().endswith(f"not judged: limited by {limited['verdict']}")


def test_a_failing_end_to_end_speed_target_on_a_row_with_nothing_saturated_fails_the_run() -> None:
    # Given the closed loop's ratio below its target while nothing on the stage was saturated
    row = _ratio(0.48, CLOSED_VS_BACKEND, stage_row="closed")
    # When it is judged
    verdict = judge([row], {"closed": UNSATURATED, "open": CPU_BOUND})
    # Then it is a regression: it fails the run
    assert [j.row for j in verdict.failures] == [row]
    assert verdict.exit_code == 1


def test_another_rows_saturation_does_not_excuse_a_failing_end_to_end_target() -> None:
    # Given the open loop's p95 past its target; only the closed loop was CPU-bound
    row = _value(5975.0, OPEN_P95_MS, stage_row="open")
    # When it is judged
    verdict = judge([row], {"closed": CPU_BOUND, "open_half": CPU_BOUND})
    # Then it fails the run
    assert [j.row for j in verdict.failures] == [row]


@pytest.mark.parametrize(
    "row",
    [
        _value(3, ZERO, stage_row="closed", unit="failed requests"),
        _value(1, ZERO, stage_row="open", unit="non-201 answers"),
        _value(2, ZERO, unit="orders missing"),
    ],
)
def test_a_failing_correctness_target_fails_the_run_even_when_the_host_is_cpu_bound(row: Row) -> None:
    # Given a count that must be zero and is not, on a run where every stage row was CPU-bound
    bottlenecks = dict.fromkeys(e2e.ROWS, CPU_BOUND)
    # When it is judged
    verdict = judge([row], bottlenecks)
    # Then it fails the run
    assert [(j.row, j.outcome) for j in verdict.failures] == [(row, "fails")]


@pytest.mark.parametrize(
    ("row", "bottlenecks"),
    [
        (_ratio(1.40, WARM_VS_FLOOR_XRAY_ON), {}),
        (_value(980.0, CLOSED_P95_MS, stage_row="closed"), {"closed": UNSATURATED}),
    ],
)
def test_a_smoke_run_reports_a_failing_performance_target_without_enforcing_it(
    row: Row, bottlenecks: dict[str, dict[str, str]]
) -> None:
    # Given a performance target past its limit in a smoke run
    verdict = judge([row], bottlenecks, smoke=True)
    # Then it is reported as failing, not enforced, and the run passes
    [judgement] = verdict.judgements
    assert judgement.outcome == "fails"
    assert judgement.column == "fails (not enforced)"
    assert verdict.passed
    assert any("performance targets are reported, not enforced" in line for line in verdict.lines())


def test_the_verdict_prints_each_outcome_s_line_and_names_every_row_that_fails_the_run() -> None:
    # Given, in a smoke run, a target that holds, a performance target past its limit, two counts
    # that must be zero and are not, and an end-to-end p95 past its target on a CPU-bound row
    held = _ratio(1.06, WARM_VS_FLOOR_XRAY_OFF)
    slow = Row("warm CPU per invocation, X-Ray on", "handler", 920.0, "us", "floor", 1.40, WARM_VS_FLOOR_XRAY_ON)
    missing = _value(2, ZERO, unit="orders missing")
    failed = _value(1, ZERO, unit="failed requests")
    limited = Row("closed loop", "100 users", 980.0, "ms p95", target=CLOSED_P95_MS, stage_row="closed")
    # When they are judged
    verdict = judge([held, slow, missing, failed, limited], {"closed": CPU_BOUND}, smoke=True)
    # Then each line says its outcome, its figure against its target, and why it does not fail the run
    assert verdict.lines() == [
        "verdict:",
        "  smoke run (tiny counts): performance targets are reported, not enforced; correctness targets are enforced",
        "  holds      a measure: handler, ratio to floor: 1.06 (target <= 1.15)",
        "  fails      warm CPU per invocation, X-Ray on: handler, ratio to floor: 1.4 (target <= 1.25): "
        "not enforced in a smoke run",
        "  fails      a measure: handler, orders missing: 2 (target 0)",
        "  fails      a measure: handler, failed requests: 1 (target 0)",
        "  not judged closed loop: 100 users, ms p95: 980.0 (target <= 500): not judged: limited by the machine's "
        "2 cores (1.94 busy); largest consumer workers",
        "verdict: FAIL (2 of 5 targets): a measure: handler, orders missing; a measure: handler, failed requests",
    ]


def test_an_unknown_comparison_is_refused_naming_the_ones_there_are() -> None:
    fields: dict[str, Any] = {"op": "<", "limit": 1.0}

    with pytest.raises(ValueError, match=r"^unknown target op '<'; one of \('<=', '>=', '==', '~='\)$"):
        Target(**fields)


def test_a_smoke_run_enforces_its_correctness_targets() -> None:
    # Given an order missing from the table in a smoke run
    row = _value(1, ZERO, unit="orders missing")
    # When it is judged
    verdict = judge([row], {}, smoke=True)
    # Then the run fails
    assert [j.row for j in verdict.failures] == [row]
    assert verdict.exit_code == 1


# --- the rows end_to_end builds go to their own stage row's bottleneck ---------------------------


def _report(bottleneck: dict[str, dict[str, str]], **overrides: Any) -> dict[str, Any]:
    """An end-to-end report shaped as e2e.measure's, with the figures of the recorded run."""
    report: dict[str, Any] = {
        "backend": {"orders_per_s": 296.7, "p95_ms": 437.95},
        "closed": {
            "rps": 141.3,
            "ratio_to_backend": 0.48,
            "p50_ms": 800,
            "p95_ms": 980,
            "p99_ms": 1100,
            "failures": 0,
        },
        "open": {"achieved_rate": 153.8, "p95_ms": 5975.25, "errors": 0},
        "open_half": {"rate": 71, "p95_ms": 11.1, "errors": 0},
        "nothing_lost": {"missing": 0},
        "bottleneck": bottleneck,
    }
    for key, figures in overrides.items():
        report[key] = report[key] | figures
    return report


def _end_to_end(monkeypatch: pytest.MonkeyPatch, report: dict[str, Any]) -> list[Row]:
    monkeypatch.setattr(e2e, "measure", lambda options: report)
    rows, _ = run.end_to_end(smoke=False)
    return rows


def test_the_recorded_cpu_bound_end_to_end_run_passes_with_each_speed_target_naming_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the recorded end-to-end figures: closed and open loop CPU-bound, half rate not
    bottlenecks = {"backend": CPU_BOUND, "closed": CPU_BOUND, "open": CPU_BOUND, "open_half": UNSATURATED}
    rows = _end_to_end(monkeypatch, _report(bottlenecks))
    # When they are judged
    verdict = judge(rows, bottlenecks)
    # Then the three speed targets are limited by the cores and the counts hold
    assert verdict.passed
    outcomes = [(j.row.unit, j.outcome) for j in verdict.judgements]
    assert outcomes == [
        ("req/s", "not judged"),
        ("ms p95", "not judged"),
        ("failed requests", "holds"),
        ("ms p95 from schedule", "not judged"),
        ("non-201 answers", "holds"),
        ("non-201 answers", "holds"),
        ("orders missing", "holds"),
    ]


def test_the_same_end_to_end_figures_with_nothing_saturated_fail_each_speed_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the recorded end-to-end figures on a stage where nothing was saturated
    bottlenecks = dict.fromkeys(e2e.ROWS, UNSATURATED)
    rows = _end_to_end(monkeypatch, _report(bottlenecks))
    # When they are judged
    verdict = judge(rows, bottlenecks)
    # Then the closed loop's ratio and p95 and the open loop's p95 fail the run
    assert [(j.row.measure, j.row.unit) for j in verdict.failures] == [
        ("end to end: closed loop, 100 users", "req/s"),
        ("end to end: closed loop, 100 users", "ms p95"),
        ("end to end: open loop, 200 req/s", "ms p95 from schedule"),
    ]


@pytest.mark.parametrize(
    ("saturated", "excused"),
    [
        ("backend", []),
        ("closed", [("end to end: closed loop, 100 users", "req/s"), ("end to end: closed loop, 100 users", "ms p95")]),
        ("open", [("end to end: open loop, 200 req/s", "ms p95 from schedule")]),
        ("open_half", []),
    ],
)
def test_only_its_own_stage_rows_saturation_excuses_an_end_to_end_speed_target(
    monkeypatch: pytest.MonkeyPatch, saturated: str, excused: list[tuple[str, str]]
) -> None:
    # Given the recorded end-to-end figures, one stage row CPU-bound and the others not
    bottlenecks = dict.fromkeys(e2e.ROWS, UNSATURATED) | {saturated: CPU_BOUND}
    rows = _end_to_end(monkeypatch, _report(bottlenecks))
    # When they are judged
    verdict = judge(rows, bottlenecks)
    # Then exactly the speed targets measured in that row are not judged
    assert [(j.row.measure, j.row.unit) for j in verdict.judgements if j.outcome == "not judged"] == excused


def test_a_non_201_answer_at_half_rate_fails_the_run_although_its_row_is_cpu_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given one non-201 answer in the half-rate open loop, every stage row CPU-bound
    bottlenecks = dict.fromkeys(e2e.ROWS, CPU_BOUND)
    rows = _end_to_end(monkeypatch, _report(bottlenecks, open_half={"errors": 1}))
    # When they are judged
    verdict = judge(rows, bottlenecks)
    # Then that row fails the run
    assert [(j.row.measure, j.row.unit) for j in verdict.failures] == [
        ("end to end: open loop, 71 req/s", "non-201 answers")
    ]


# --- main: the verdict is its exit code -----------------------------------------------------------

IN_PROCESS_HOLDING = [
    Row("cold start, .pyc present", "handler", 198.1, "ms over bare", "floor", 1.05, COLD_VS_FLOOR),
    Row("warm CPU per invocation, X-Ray off", "handler", 783.8, "us", "floor", 1.06, WARM_VS_FLOOR_XRAY_OFF),
    Row("RSS over 10000 invocations", "handler", 47.5, "MiB peak", target=RSS_PEAK_MIB),
]
WARM_FAILING = Row("warm CPU per invocation, X-Ray on", "handler", 940.0, "us", "floor", 1.30, WARM_VS_FLOOR_XRAY_ON)


def _measured(monkeypatch: pytest.MonkeyPatch, rows: list[Row], report: dict[str, Any] | None = None) -> None:
    """Replace main's measuring functions: cold start gives ``rows``, the others nothing, the stage ``report``."""
    monkeypatch.setattr(run, "cold_start", lambda *args: list(rows))
    monkeypatch.setattr(run, "warm_cpu", lambda *args, **kwargs: [])
    monkeypatch.setattr(run, "memory", lambda *args: [])
    monkeypatch.setattr(cpu_share, "section", lambda smoke: ([], {}))
    monkeypatch.setattr(snapstart, "section", lambda smoke: [])
    if report is not None:
        monkeypatch.setattr(e2e, "measure", lambda options: report)


def test_main_exits_non_zero_and_names_the_row_when_an_in_process_target_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given measurements where the warm CPU with X-Ray on is past its target
    _measured(monkeypatch, [*IN_PROCESS_HOLDING, WARM_FAILING])
    # When the suite runs
    code = run.main(["--no-e2e", "--json", str(tmp_path / "bench.json")])
    # Then it exits 1, says which row failed, and writes the verdict
    out = capsys.readouterr().out
    assert code == 1
    assert f"verdict: FAIL (1 of 4 targets): {WARM_FAILING.name}" in out
    document = json.loads((tmp_path / "bench.json").read_text())
    assert document["verdict"] == {"passed": False, "failures": [WARM_FAILING.name]}
    assert [row["judgement"]["outcome"] for row in document["rows"]] == ["holds", "holds", "holds", "fails"]


def test_main_exits_zero_when_every_in_process_target_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given measurements within every target
    _measured(monkeypatch, IN_PROCESS_HOLDING)
    # When the suite runs
    code = run.main(["--no-e2e", "--json", str(tmp_path / "bench.json")])
    # Then it exits 0 and says so
    assert code == 0
    assert "verdict: PASS (3 targets; none failed the run)" in capsys.readouterr().out


def test_main_exits_zero_on_the_recorded_cpu_bound_end_to_end_run_and_prints_each_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given holding in-process figures and the recorded CPU-bound end-to-end run
    bottlenecks = {"backend": CPU_BOUND, "closed": CPU_BOUND, "open": CPU_BOUND, "open_half": UNSATURATED}
    _measured(monkeypatch, IN_PROCESS_HOLDING, _report(bottlenecks))
    # When the suite runs with its end-to-end section
    code = run.main(["--json", str(tmp_path / "bench.json")])
    # Then it exits 0; each end-to-end speed target says what limited it
    out = capsys.readouterr().out
    assert code == 0
    assert out.count(f"not judged: limited by {CPU_BOUND['verdict']}") == 3
    assert out.count("limited by cpu") == 3


def test_main_smoke_exits_non_zero_when_an_order_is_missing_but_not_on_a_slow_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a smoke run whose warm CPU is past its target and whose audit found an order missing
    bottlenecks = dict.fromkeys(e2e.ROWS, UNSATURATED)
    _measured(monkeypatch, [WARM_FAILING], _report(bottlenecks, nothing_lost={"missing": 1}))
    # When the suite runs
    code = run.main(["--smoke", "--json", str(tmp_path / "bench.json")])
    # Then the missing order alone fails it
    document = json.loads((tmp_path / "bench.json").read_text())
    assert code == 1
    assert document["verdict"]["failures"] == ["end to end: every 201 in the table: orders table, orders missing"]


# --- the CPU share rows: Lambda's shares by memory size, judged unless the host kept the work waiting ---


def _spins(half: float, one_vcpu: float, waited: float = 0.0) -> dict[int, Spin]:
    """Wall times ``half`` and ``one_vcpu`` times the reference's; the one-vCPU spin waited ``waited`` of its wall.

    The rest of a wall time is the CPU time and the time throttled (none at one vCPU).
    """
    reference = 1.5
    walls = {128: half * reference, 256: reference, 1769: one_vcpu * reference}
    spins = {size: Spin(size, wall, 0.2, wall - 0.2) for size, wall in walls.items()}
    one = walls[1769]
    return spins | {1769: Spin(1769, one, one * (1 - waited), 0.0)}


def test_cpu_share_rows_at_lambdas_shares_hold() -> None:
    # Given wall times in the inverse of the memory sizes, nothing waiting for a core
    spins = _spins(2.0, 256 / 1769)
    rows = cpu_share.rows(spins)
    # When they are judged
    verdict = judge(rows, {cpu_share.ROW: cpu_share.bottleneck(spins)})
    # Then both ratios hold
    assert [(j.row.variant, j.outcome) for j in verdict.judgements] == [("128 MB", "holds"), ("1769 MB", "holds")]
    assert verdict.passed


@pytest.mark.parametrize(
    ("half", "one_vcpu", "failing"),
    [
        (1.0, 256 / 1769, ["128 MB"]),  # the quota at 128 MB not applied: as fast as at 256 MB
        (2.0, 0.5, ["1769 MB"]),  # one vCPU got half of what it should
        (2.6, 0.1, ["128 MB", "1769 MB"]),
    ],
)
def test_a_cpu_share_ratio_off_lambdas_fails_the_run_when_no_size_waited_for_a_core(
    half: float, one_vcpu: float, failing: list[str]
) -> None:
    spins = _spins(half, one_vcpu)
    verdict = judge(cpu_share.rows(spins), {cpu_share.ROW: cpu_share.bottleneck(spins)})
    assert [j.row.variant for j in verdict.failures] == failing
    assert verdict.exit_code == 1


def test_a_cpu_share_ratio_off_lambdas_on_a_busy_host_is_not_judged_and_names_the_wait() -> None:
    # Given one vCPU at half its share while the work waited for a core most of its wall time
    spins = _spins(2.0, 0.5, waited=0.6)
    limit = cpu_share.bottleneck(spins)
    # When it is judged
    verdict = judge(cpu_share.rows(spins), {cpu_share.ROW: limit})
    # Then it does not fail the run, and says what limited it
    assert limit["limit"] == "cpu"
    assert limit["verdict"].startswith("the host's cores: at 1769 MB the work waited for a core 60% of its wall time")
    assert verdict.passed
    assert [j.outcome for j in verdict.judgements] == ["holds", "not judged"]


def test_main_exits_non_zero_when_a_cpu_share_ratio_fails_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given holding in-process figures and a CPU share at 128 MB as fast as at 256 MB
    _measured(monkeypatch, IN_PROCESS_HOLDING)
    spins = _spins(1.0, 256 / 1769)
    report = {"bottleneck": {cpu_share.ROW: cpu_share.bottleneck(spins)}}
    monkeypatch.setattr(cpu_share, "section", lambda smoke: (cpu_share.rows(spins), report))
    # When the suite runs
    code = run.main(["--no-e2e", "--json", str(tmp_path / "bench.json")])
    # Then it fails on that row, and says nothing waited for a core
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict: FAIL (1 of 5 targets): CPU by memory size, cpu model lambda: 128 MB, ratio to 256 MB" in out
    assert "cpu share: no size waited for a core more than 10% of its wall time" in out
    assert json.loads((tmp_path / "bench.json").read_text())["cpu_share"] == report


def test_main_says_why_the_cpu_share_was_not_measured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _measured(monkeypatch, IN_PROCESS_HOLDING)
    monkeypatch.setattr(cpu_share, "section", lambda smoke: ([], {"off": "control groups are Linux only"}))
    assert run.main(["--no-e2e", "--json", str(tmp_path / "bench.json")]) == 0
    assert "cpu share: not measured: control groups are Linux only" in capsys.readouterr().out


# --- the stage's CPU per order, in multiples of the floor (issue 24) --------------------------------

FLOOR_ROW = Row("warm CPU per invocation, X-Ray off", "floor: PutItem + SendMessage", 740.0, "us")
CLOSED_ROW = Row("end to end: closed loop, 100 users", "handler via the stage", 141.3, "req/s", stage_row="closed")


@pytest.mark.parametrize(("cpu_ms", "ratio", "outcome"), [(9.99, 13.5, "holds"), (10.0, 13.51, "fails")])
def test_the_stage_s_cpu_per_order_is_judged_in_multiples_of_the_floor(
    cpu_ms: float, ratio: float, outcome: str
) -> None:
    # Given a floor of 740 us and the closed loop's CPU per order
    [row] = run.stage_cpu([FLOOR_ROW, CLOSED_ROW], {"cpu": {"cpu_ms_per_order": cpu_ms}})
    # When it is judged, the closed loop CPU-bound
    verdict = judge([row], {"closed": CPU_BOUND})
    # Then its ratio to the floor is judged against 13.5 floors, whatever saturated the loop
    assert (row.measure, row.variant, row.value, row.unit, row.reference) == (
        "end to end: closed loop, 100 users",
        "the stage's CPU per order",
        cpu_ms,
        "ms of CPU",
        "floor",
    )
    assert row.ratio == ratio
    assert [j.outcome for j in verdict.judgements] == [outcome]
    assert verdict.exit_code == (0 if outcome == "holds" else 1)


def test_without_the_floor_or_the_loop_s_cpu_no_stage_cpu_row_is_made() -> None:
    assert run.stage_cpu([CLOSED_ROW], {"cpu": {"cpu_ms_per_order": 9.0}}) == []
    assert run.stage_cpu([FLOOR_ROW, CLOSED_ROW], {}) == []
    assert run.stage_cpu([FLOOR_ROW], {"cpu": {"cpu_ms_per_order": 9.0}}) == []
