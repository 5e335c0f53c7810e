"""The SLO gate's verdict: each objective shown failing alone, at and just past its limit, and named."""

from __future__ import annotations

import pytest

from dashboards import slo
from loadtests.gate import SloVerdict


def _verdict(requests: int = 1000, p95_ms: float = 120.0, error_ratio: float = 0.0) -> SloVerdict:
    return SloVerdict("create order", requests, p95_ms, error_ratio, slo.LATENCY_P95_MS, slo.SERVER_ERROR_RATIO)


def test_a_run_within_both_objectives_passes() -> None:
    verdict = _verdict()

    assert verdict.passed is True
    assert verdict.failures == []
    assert verdict.line().endswith("-> PASS")


def test_figures_exactly_at_the_objectives_pass() -> None:
    verdict = _verdict(p95_ms=slo.LATENCY_P95_MS, error_ratio=slo.SERVER_ERROR_RATIO)

    assert verdict.passed is True


def test_a_p95_over_the_objective_fails_and_names_it() -> None:
    verdict = _verdict(p95_ms=slo.LATENCY_P95_MS + 1)

    assert verdict.passed is False
    assert verdict.failures == ["p95 501 ms is over the 500 ms objective"]
    assert verdict.line().endswith("-> FAIL: p95 501 ms is over the 500 ms objective")


def test_an_error_ratio_over_the_budget_fails_and_names_it() -> None:
    verdict = _verdict(error_ratio=0.0101)

    assert verdict.passed is False
    assert verdict.failures == ["error ratio 1.01% is over the 1.00% budget"]


def test_a_budget_of_zero_fails_on_a_single_error() -> None:
    verdict = SloVerdict("create order", 10_000, 50.0, 1 / 10_000, p95_objective_ms=500, error_budget=0.0)

    assert verdict.failures == ["error ratio 0.01% is over the 0.00% budget"]


def test_both_objectives_missed_are_both_named() -> None:
    verdict = _verdict(p95_ms=900, error_ratio=0.5)

    assert len(verdict.failures) == 2
    assert "p95 900 ms" in verdict.line()
    assert "error ratio 50.00%" in verdict.line()


@pytest.mark.parametrize("p95_ms", [0.0, 10.0])
def test_a_run_without_valid_requests_fails_whatever_its_figures(p95_ms: float) -> None:
    verdict = _verdict(requests=0, p95_ms=p95_ms)

    assert verdict.passed is False
    assert verdict.failures == ["no 'create order' request was made, so no objective can be judged"]
