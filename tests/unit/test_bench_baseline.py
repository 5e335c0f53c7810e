"""A benchmark run against an earlier one: ratios, memory and correctness judged; absolute times shown only."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks import baseline
from benchmarks.run import against_baseline, row_json
from benchmarks.targets import (
    CLOSED_VS_BACKEND,
    COLD_VS_FLOOR,
    CPU_SHARE_HALF,
    RSS_PEAK_MIB,
    ZERO,
    Row,
    Target,
    judge,
)
from runreport.compare import BETTER, REGRESSION, SAME, UNJUDGED

MACHINE = {"cpus": 2, "python": "3.11.7", "platform": "linux"}
ROWS = (
    Row("cold start, .pyc present", "floor: boto3 + 2 clients", 188.0, "ms over bare"),
    Row("cold start, .pyc present", "handler", 198.0, "ms over bare", "floor", 1.05, COLD_VS_FLOOR),
    Row("RSS over 10000 invocations", "handler", 47.5, "MiB peak", target=RSS_PEAK_MIB),
    Row("end to end: closed loop, 100 users", "handler via the stage", 141.3, "req/s", "backend", 0.48,
        CLOSED_VS_BACKEND, "closed"),
    Row("end to end: closed loop, 100 users", "handler via the stage", 0, "failed requests", target=ZERO),
    Row("CPU by memory size, cpu model lambda", "128 MB", 3076.5, "ms wall", "256 MB", 2.0, CPU_SHARE_HALF),
)  # fmt: skip


SATURATED = {"closed": {"limit": "cpu", "verdict": "the machine's 2 cores (1.98 busy)"}}
"""The closed loop's bottleneck: its ratio below target is the host's, not judged."""


def _verdict(rows: tuple[Row, ...]) -> Any:
    return judge(list(rows), SATURATED, smoke=False)


def _document(rows: tuple[Row, ...] = ROWS, **machine: Any) -> dict[str, Any]:
    """A run's JSON document as ``benchmarks.run`` writes it, with ``rows``."""
    verdict = _verdict(rows)
    return {"machine": MACHINE | machine, "smoke": False, "rows": [row_json(r, verdict) for r in rows], "name": "x"}


def _changed(index: int, **fields: Any) -> tuple[Row, ...]:
    return tuple(replace(row, **fields) if i == index else row for i, row in enumerate(ROWS))


def _verdicts(new_rows: tuple[Row, ...]) -> dict[str, str]:
    return {row.figure: row.verdict for row in baseline.judge(_document(), _document(new_rows)).rows}


def test_the_same_run_twice_is_no_regression_and_an_absolute_time_is_left_unjudged() -> None:
    comparison = baseline.judge(_document(), _document())

    assert comparison.regressions == []
    assert comparison.unlike == []
    verdicts = {row.figure: (row.verdict, row.note) for row in comparison.rows}
    assert verdicts["cold start, .pyc present: handler, ratio to floor"] == (SAME, "")
    assert verdicts["cold start, .pyc present: floor: boto3 + 2 clients, ms over bare"] == (
        UNJUDGED,
        "an absolute figure: it moves with the VM's speed",
    )


@pytest.mark.parametrize(
    ("index", "fields", "figure"),
    [
        (1, {"ratio": 1.20, "value": 230.0}, "cold start, .pyc present: handler, ratio to floor"),
        (2, {"value": 60.0}, "RSS over 10000 invocations: handler, MiB peak"),
        (3, {"ratio": 0.40}, "end to end: closed loop, 100 users: handler via the stage, ratio to backend"),
        (4, {"value": 1}, "end to end: closed loop, 100 users: handler via the stage, failed requests"),
        (5, {"ratio": 1.5}, "CPU by memory size, cpu model lambda: 128 MB, ratio to 256 MB"),
    ],
)
def test_each_judged_figure_moving_the_wrong_way_is_a_regression(
    index: int, fields: dict[str, Any], figure: str
) -> None:
    verdicts = _verdicts(_changed(index, **fields))

    assert [name for name, verdict in verdicts.items() if verdict == REGRESSION] == [figure]


@pytest.mark.parametrize(
    ("index", "fields"),
    [
        (1, {"ratio": 1.07}),  # +0.02: under both the 10 % and the 0.03
        (2, {"value": 48.4}),  # +0.9 MiB: under 1 MiB
        (5, {"ratio": 2.15}),  # 0.15 from 2: within 10 % of the limit
        (0, {"value": 400.0}),  # an absolute time, doubled: the VM's
    ],
)
def test_a_move_within_the_thresholds_is_not_a_regression(index: int, fields: dict[str, Any]) -> None:
    assert REGRESSION not in _verdicts(_changed(index, **fields)).values()


def test_a_ratio_held_under_its_limit_that_falls_is_better_and_one_held_above_that_rises_is_better() -> None:
    verdicts = _verdicts(_changed(1, ratio=0.90))
    assert verdicts["cold start, .pyc present: handler, ratio to floor"] == BETTER
    verdicts = _verdicts(_changed(3, ratio=0.60))
    assert verdicts["end to end: closed loop, 100 users: handler via the stage, ratio to backend"] == BETTER


def test_a_row_in_one_run_only_is_shown_unjudged() -> None:
    comparison = baseline.judge(_document(ROWS[:-1]), _document())

    [row] = [row for row in comparison.rows if row.figure.startswith("CPU by memory size")]
    assert (row.base, row.new, row.verdict, row.note) == (None, 2.0, UNJUDGED, "in one run only")


def test_every_row_holds_both_runs_figures_its_unit_its_verdict_and_why_when_unjudged() -> None:
    # Given a run whose every figure moved a little, and a baseline with a row the run no longer has
    moved = tuple(replace(r, value=r.value + 1, ratio=None if r.ratio is None else r.ratio + 0.01) for r in ROWS)
    growth = Row("RSS over 10000 invocations", "handler", 0.4, "MiB growth")
    # When judged
    rows = baseline.judge(_document((*ROWS, growth)), _document(moved)).rows
    # Then a ratio is shown as one ("x"), any other figure in its unit; the run's rows come first,
    # then the baseline's row it lacks
    assert [(r.figure, r.base, r.new, r.unit, r.verdict, r.note) for r in rows] == [
        ("cold start, .pyc present: floor: boto3 + 2 clients, ms over bare", 188.0, 189.0, "ms over bare", UNJUDGED,
         "an absolute figure: it moves with the VM's speed"),
        ("cold start, .pyc present: handler, ratio to floor", 1.05, 1.06, "x", SAME, ""),
        ("RSS over 10000 invocations: handler, MiB peak", 47.5, 48.5, "MiB peak", SAME, ""),
        ("end to end: closed loop, 100 users: handler via the stage, ratio to backend", 0.48, 0.49, "x", SAME, ""),
        ("end to end: closed loop, 100 users: handler via the stage, failed requests", 0, 1, "failed requests",
         REGRESSION, ""),
        ("CPU by memory size, cpu model lambda: 128 MB, ratio to 256 MB", 2.0, 2.01, "x", SAME,
         "judged by its distance from 2"),
        ("RSS over 10000 invocations: handler, MiB growth", 0.4, None, "MiB growth", UNJUDGED, "in one run only"),
    ]  # fmt: skip


def _ratio_row(unit: str, ratio: float, target: Target | None = None) -> Row:
    return Row("a measure", "handler", 100.0, unit, "reference", ratio, target)


@pytest.mark.parametrize(
    ("unit", "target", "verdict"),
    [
        ("req/s", None, BETTER),
        ("orders/s", None, BETTER),
        ("us", None, REGRESSION),
        ("req/s", Target("<=", 1.2, on="ratio"), REGRESSION),  # the target's side wins over the unit's
    ],
)
def test_a_rising_ratio_is_better_for_a_rate_and_worse_for_anything_else_unless_its_target_says(
    unit: str, target: Target | None, verdict: str
) -> None:
    base, new = (_document((_ratio_row(unit, ratio, target),)) for ratio in (1.0, 1.1))

    [row] = baseline.judge(base, new).rows

    assert row.verdict == verdict


def test_a_ratio_held_near_a_value_is_judged_by_the_amount_its_distance_grew() -> None:
    def verdict(before: float, after: float) -> str:
        base, new = (_document((replace(ROWS[5], ratio=ratio),)) for ratio in (before, after))
        return baseline.judge(base, new).rows[0].verdict

    # Half the target's band (25 % of 2, halved): 0.25; a distance grown by 0.249 is not a regression,
    # by 0.3 from far off is, however far: no share of the distance excuses it (0.3 is 0.3 % of 98)
    assert verdict(2.0, 2.249) == SAME
    assert verdict(30.0, 30.3) == REGRESSION
    assert verdict(100.0, 100.3) == REGRESSION


def test_one_more_failure_is_a_regression_however_many_the_baseline_had() -> None:
    base, new = (_document((replace(ROWS[4], value=failed),)) for failed in (200, 201))

    assert baseline.judge(base, new).rows[0].verdict == REGRESSION


def test_the_comparison_is_named_by_the_runs_files_and_a_document_without_one_by_its_role(tmp_path: Path) -> None:
    # Given two runs' JSON documents saved as files
    before, after = tmp_path / "bench-1.json", tmp_path / "bench-2.json"
    for path in (before, after):
        path.write_text(json.dumps({k: v for k, v in _document().items() if k != "name"}))
    # When loaded and judged, and judged as documents without a name
    named = baseline.judge(baseline.load(before), baseline.load(after))
    anonymous = baseline.judge(*({k: v for k, v in _document().items() if k != "name"} for _ in range(2)))
    # Then each file's name names its run; without one, the roles do
    assert (named.base, named.new) == ("bench-1.json", "bench-2.json")
    assert baseline.load(before)["rows"] == _document()["rows"]
    assert (anonymous.base, anonymous.new) == ("baseline", "this run")


def test_another_machine_is_warned_and_refused_under_strict(capsys: pytest.CaptureFixture[str]) -> None:
    base, new = _document(), _document(cpus=8)
    passed = _verdict(ROWS)

    assert [u.line() for u in baseline.judge(base, new).unlike] == ["cpus: 2 vs 8"]
    assert against_baseline(base, new, passed, strict=False) == 0
    assert "WARNING: unlike runs" in capsys.readouterr().out
    assert against_baseline(base, new, passed, strict=True) == 2
    assert "refused under --strict, the runs differ in cpus: 2 vs 8" in capsys.readouterr().out


def test_the_exit_status_is_the_targets_first_then_the_comparison_s() -> None:
    slower = _document(_changed(3, ratio=0.40))  # a regression its target does not fail (the host was saturated)
    passed = _verdict(ROWS)
    failed = _verdict(_changed(1, ratio=1.30))
    assert (passed.exit_code, failed.exit_code) == (0, 1)

    assert against_baseline(_document(), _document(), passed, strict=False) == 0
    assert against_baseline(_document(), slower, passed, strict=False) == 1
    assert against_baseline(_document(), _document(), failed, strict=True) == 1
    assert against_baseline(_document(), _document(cpus=8), failed, strict=True) == 1


def test_a_held_ratio_is_a_regression_only_past_half_its_target_s_band() -> None:
    # The half-memory share's target: 2 within 25 %; half that band is 0.25
    within = _verdicts(_changed(5, ratio=2.22))
    past = _verdicts(_changed(5, ratio=2.26))

    figure = "CPU by memory size, cpu model lambda: 128 MB, ratio to 256 MB"
    assert (within[figure], past[figure]) == (SAME, REGRESSION)


def test_the_half_rate_open_loop_is_the_same_row_in_two_runs_whatever_its_rate() -> None:
    half = Row("end to end: open loop, 34 req/s", "at half the closed loop's rate", 0, "non-201 answers", target=ZERO)
    other_rate = replace(half, measure="end to end: open loop, 84 req/s", value=1)

    [row] = baseline.judge(_document((half,)), _document((other_rate,))).rows

    assert (row.base, row.new, row.verdict) == (0, 1, REGRESSION)
