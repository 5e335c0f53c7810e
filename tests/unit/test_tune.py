"""Power tuning's judge (``loadtests.tune``): each strategy's choice on made-up figures, the table, the run folders.

The same six sizes give three different recommendations under the three strategies; a size
that failed its SLO or its audit is never recommended, however cheap; a sweep with no such size
recommends nothing (exit 1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from loadtests import power, tune


def _size(memory: int, cost: float, billed_ms: float, *, slo: bool = True, audit: bool = True) -> power.SizeResult:
    return power.SizeResult(memory, f"reports/{memory}", 20.0, 50.0 + billed_ms, 90.0, 3, billed_ms, cost, slo, audit)


SWEEP = [
    _size(128, 9.0, 120.0),  # cheapest per order, slowest
    _size(256, 9.5, 60.0),
    _size(512, 10.5, 28.0),  # the balanced compromise: 10.5/14 / 2 + 28/120 / 2 = 0.4917
    _size(1024, 12.5, 16.0),
    _size(1769, 14.0, 9.0),  # fastest
    _size(3008, 8.0, 8.5, slo=False),  # cheaper and faster still, but it failed its SLO
]


@pytest.mark.parametrize(("strategy", "memory"), [("cost", 128), ("speed", 1769), ("balanced", 512)])
def test_each_strategy_chooses_its_own_size_among_those_that_passed(strategy: str, memory: int) -> None:
    chosen = power.recommend(SWEEP, strategy)
    assert chosen is not None
    assert chosen.memory_mb == memory


def test_the_balanced_weight_moves_the_choice_towards_cost_or_speed() -> None:
    assert power.recommend(SWEEP, "balanced", weight=1.0).memory_mb == 128  # type: ignore[union-attr]
    assert power.recommend(SWEEP, "balanced", weight=0.0).memory_mb == 1769  # type: ignore[union-attr]


def test_a_size_that_failed_its_audit_or_was_not_priced_is_never_recommended_and_ties_go_to_the_smaller() -> None:
    failed_audit = [_size(128, 1.0, 1.0, audit=False), _size(256, 5.0, 5.0), _size(512, 5.0, 5.0)]
    assert power.recommend(failed_audit, "cost").memory_mb == 256  # type: ignore[union-attr]
    unpriced = [power.SizeResult(128, "r", 1.0, 1.0, 1.0, 0, 1.0, None, True, True), _size(256, 5.0, 5.0)]
    assert power.recommend(unpriced, "speed").memory_mb == 256  # type: ignore[union-attr]
    assert power.recommend([_size(128, 1.0, 1.0, slo=False)], "cost") is None
    with pytest.raises(ValueError, match="a strategy is one of cost, speed, balanced, not 'cheapest'"):
        power.recommend(SWEEP, "cheapest")


def test_the_table_shows_every_size_and_the_recommendation() -> None:
    text = power.table(SWEEP, power.recommend(SWEEP, "balanced"), "balanced")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[0] for row in rows] == [f"| {s.memory_mb}" for s in SWEEP]
    assert "| 3008 | 20 | 58 | 90 | 3 | 8.5 | 8.00 | FAIL | PASS |" in text
    assert text.endswith(
        "strategy balanced: 512 MB (USD 10.50 per million orders, 28.0 billed ms an invocation, p95 78 ms)"
    )
    assert power.table(SWEEP[-1:], None, "cost").endswith("no size passed its SLO and its audit; nothing to recommend")


def test_a_sizes_figures_come_from_its_run_folders_summary(tmp_path: Path) -> None:
    summary = {
        "create order": {"p50_ms": 20.0, "p95_ms": 50.0, "p99_ms": 180.0},
        "cold_starts": 10, "audit_passed": True, "slo": {"passed": True},
        "cost": {"per_million_orders": 8.27, "consumption": {"invocations": 4, "billed_ms": 400}},
    }  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))

    result = tune.result_of(256, tmp_path)

    # 400 billed ms over 4 invocations: 100 ms each
    assert result == power.SizeResult(256, str(tmp_path), 20.0, 50.0, 180.0, 10, 100.0, 8.27, True, True)
    assert result.eligible


def test_the_sizes_are_lambdas_each_once_and_in_order() -> None:
    assert tune.parser().parse_args(["--memory", "1024,128,256"]).memory == [128, 256, 1024]
    for bad in ("127", "128,128", "11000"):
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            tune._memory_list(bad)


def test_the_chart_is_drawn(tmp_path: Path) -> None:
    power.chart(SWEEP, tmp_path / "tune.png")
    assert (tmp_path / "tune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
