"""The SLO gate's verdict: each objective shown failing alone, at and just past its limit, and named; a failed
verdict's likely cause: the machine, the run's own load, or the function and the stage."""

from __future__ import annotations

import json

import pytest

from harness import slo
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


def test_the_line_gives_every_figure_beside_its_objective_and_each_failure_after_fail() -> None:
    passed = _verdict(p95_ms=123.4, error_ratio=0.0012)
    failed = _verdict(p95_ms=900, error_ratio=0.5)

    assert passed.line() == (
        "SLO create order: p95 123 ms (<= 500), errors 0.12% (<= 1.00%) over 1000 requests -> PASS"
    )
    assert failed.line() == (
        "SLO create order: p95 900 ms (<= 500), errors 50.00% (<= 1.00%) over 1000 requests -> FAIL: "
        "p95 900 ms is over the 500 ms objective; error ratio 50.00% is over the 1.00% budget"
    )


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
MACHINE = ("the machine was saturated: {} of 2 cores busy, {} outside the stage and Locust "
           "-- rerun idle or with fewer users")  # fmt: skip
FUNCTION = ("not the machine ({} of 2 cores busy, {} outside the stage and Locust): the function or the stage "
            "-- 14 cold starts in the SLO window; see the workers' REPORT lines and logs")  # fmt: skip
RUN = ("the run saturated the machine itself: {} of 2 cores busy, the stage {}, Locust {}, {} outside the stage "
       "and Locust -- more load than these cores carry: rerun with fewer users or on more cores")  # fmt: skip


@pytest.mark.parametrize(
    ("verdict", "host", "cause"),
    [
        # 1.97 of 2 cores busy, 31 % of it outside the stage and Locust: the machine
        pytest.param(SLOW, _host(1.97, 1.03, 0.33), MACHINE.format("1.97", "31%"), id="saturated-from-outside"),
        # under one core busy, nearly all of it the run's: not the machine
        pytest.param(SLOW, _host(0.9, 0.7, 0.17), FUNCTION.format("0.90", "3%"), id="idle"),
        pytest.param(_verdict(error_ratio=0.05), _host(0.5, 0.4, 0.1), FUNCTION.format("0.50", "0%"), id="idle-errors"),
        # just short of SATURATED, however much of it others took: not the machine
        pytest.param(SLOW, _host(SATURATED * 2 - 0.01, 0.5, 0.1), FUNCTION.format("1.69", "64%"), id="unsaturated"),
        # 1.96 of 2 cores busy, 5 % of it outside the run: the run's own load
        pytest.param(SLOW, _host(1.96, 1.36, 0.5), RUN.format("1.96", "69%", "26%", "5%"), id="saturated-by-the-run"),
        # others' share at the threshold blames the machine; just under it, the run
        pytest.param(SLOW, _host(2.0, 2 * (1 - OUTSIDE_SHARE), 0), MACHINE.format("2.00", "20%"), id="at-threshold"),
        pytest.param(SLOW, _host(2.0, 1.62, 0.0), RUN.format("2.00", "81%", "0%", "19%"), id="under-threshold"),
    ],
)  # fmt: skip
def test_a_failed_verdict_names_its_likely_cause_from_the_host(verdict: SloVerdict, host: HostLoad, cause: str) -> None:
    assert likely_cause(verdict, host, cold_starts=14) == cause


@pytest.mark.parametrize("host", [_host(1.97, 1.03, 0.33), _host(0.9, 0.7, 0.17), _host(1.96, 1.36, 0.5)])
def test_a_passed_verdict_has_no_cause_line_whatever_the_host(host: HostLoad) -> None:
    assert likely_cause(_verdict(), host, cold_starts=40) is None


def test_a_verdict_written_as_json_reads_back_equal_with_its_outcome_and_line() -> None:
    written = json.loads(json.dumps(SLOW.as_json()))

    assert SloVerdict.from_json(written) == SLOW
    assert written["passed"] is False
    assert written["line"] == SLOW.line()
