"""The SLO gate's verdict: each objective shown failing alone, at and just past its limit, and named; a failed
verdict's likely cause: the machine, the run's own load, or the function and the stage."""

from __future__ import annotations

import json

import pytest

from dashboards import slo
from loadtests.gate import OUTSIDE_SHARE, SloVerdict, likely_cause
from loadtests.host import LOCUST, SATURATED, STAGE, HostLoad


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


# --- the likely cause of a failed verdict, from the host's load over the run ---------------------


def _host(busy_cores: float, stage_cores: float, locust_cores: float, cores: int = 2) -> HostLoad:
    """A 60 s window on ``cores`` cores; what the stage and Locust do not account for is other processes."""
    return HostLoad(60.0, cores, busy_cores * 60, {STAGE: stage_cores * 60, LOCUST: locust_cores * 60})


SLOW = _verdict(p95_ms=620.0)


def test_a_failed_verdict_on_a_machine_saturated_from_outside_the_run_names_the_machine() -> None:
    # Given a failed p95 while 1.97 of 2 cores were busy, 31 % of that outside the stage and Locust
    host = _host(busy_cores=1.97, stage_cores=1.03, locust_cores=0.33)

    # When the cause is judged
    cause = likely_cause(SLOW, host, cold_starts=23)

    # Then it names the machine, with the figures that show it
    assert cause is not None
    assert cause.startswith("the machine was saturated: 1.97 of 2 cores busy, 31% outside the stage and Locust")
    assert "rerun idle or with fewer users" in cause


def test_a_failed_verdict_on_an_idle_machine_names_the_function_or_the_stage_not_the_machine() -> None:
    # Given a failed p95 while under one of 2 cores was busy, nearly all of it the run's
    host = _host(busy_cores=0.9, stage_cores=0.7, locust_cores=0.17)

    cause = likely_cause(SLOW, host, cold_starts=14)

    assert cause is not None
    assert cause.startswith("not the machine (0.90 of 2 cores busy, 3% outside the stage and Locust)")
    assert "the function or the stage" in cause
    assert "14 cold starts" in cause
    assert "saturated" not in cause


def test_a_failed_error_budget_on_an_idle_machine_is_blamed_on_the_function_too() -> None:
    cause = likely_cause(_verdict(error_ratio=0.05), _host(0.5, 0.4, 0.1), cold_starts=3)

    assert cause is not None
    assert cause.startswith("not the machine")


def test_a_machine_just_under_saturation_is_not_blamed_even_with_much_outside_the_run() -> None:
    # 0.84 of a core each on average: short of SATURATED, however much of it others took
    host = _host(busy_cores=SATURATED * 2 - 0.01, stage_cores=0.5, locust_cores=0.1)

    cause = likely_cause(SLOW, host, cold_starts=10)

    assert cause is not None
    assert cause.startswith("not the machine")


def test_a_machine_saturated_by_the_run_itself_names_the_load_not_other_processes() -> None:
    # Given a failed p95 while 1.96 of 2 cores were busy, 5 % of it outside the run
    host = _host(busy_cores=1.96, stage_cores=1.36, locust_cores=0.5)

    cause = likely_cause(SLOW, host, cold_starts=20)

    assert cause is not None
    assert cause.startswith("the run saturated the machine itself: 1.96 of 2 cores busy, the stage 69%, Locust 26%")
    assert "5% outside the stage and Locust" in cause
    assert "fewer users" in cause


def test_outside_share_at_its_threshold_blames_the_machine_and_just_under_it_the_run() -> None:
    at = _host(busy_cores=2.0, stage_cores=2.0 * (1 - OUTSIDE_SHARE), locust_cores=0.0)
    under = _host(busy_cores=2.0, stage_cores=2.0 * (1 - OUTSIDE_SHARE) + 0.01, locust_cores=0.0)

    assert (likely_cause(SLOW, at, 0) or "").startswith("the machine was saturated")
    assert (likely_cause(SLOW, under, 0) or "").startswith("the run saturated the machine itself")


@pytest.mark.parametrize("host", [_host(1.97, 1.03, 0.33), _host(0.9, 0.7, 0.17), _host(1.96, 1.36, 0.5)])
def test_a_passed_verdict_has_no_cause_line_whatever_the_host(host: HostLoad) -> None:
    assert likely_cause(_verdict(), host, cold_starts=40) is None


def test_a_verdict_written_as_json_reads_back_equal_with_its_outcome_and_line() -> None:
    written = json.loads(json.dumps(SLOW.as_json()))

    assert SloVerdict.from_json(written) == SLOW
    assert written["passed"] is False
    assert written["line"] == SLOW.line()
