"""The chaos report and its verdict: requests and breaches counted on the faults' own clock, phases named."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.inject import journal_line, read_journal
from chaos.plan import FaultPlan
from chaos.report import ChaosReport, FaultClock, PhaseReport, chaos_report
from loadtests.audit.report import Breach

ZERO = 1_000.0
PLAN = FaultPlan.from_dict(
    {
        "phase": [
            {"name": "steady", "start_s": 0, "end_s": 20},
            {"name": "dynamodb throttling", "start_s": 20, "end_s": 40},
            {"name": "sqs outage", "start_s": 40, "end_s": 55},
            {"name": "recovery", "start_s": 55, "end_s": 80},
        ],
        "rule": [
            {"service": "dynamodb", "kind": "error", "code": "ThrottlingException", "start_s": 20, "end_s": 40},
            {"service": "sqs", "kind": "error", "code": "ServiceUnavailable", "start_s": 40, "end_s": 55},
        ],
    }
)


def _attempt(sent_s: float, status: int = 201, *, latency_ms: float = 10.0, attempt: int = 1, rid: str = "") -> dict:
    return {
        "op": "create",
        "ts": ZERO + sent_s,
        "status": status,
        "latency_ms": latency_ms,
        "attempt": attempt,
        "request_id": rid or f"req-{sent_s}-{attempt}",
    }


def _fault(at_s: float, request_id: str) -> dict:
    return {"ts": ZERO + at_s, "service": "sqs", "operation": "SendMessage", "kind": "error", "request_id": request_id}


def _phase(report: ChaosReport, name: str) -> PhaseReport:
    (phase,) = [p for p in report.phases if p.name == name]
    return phase


def test_a_request_sent_before_a_window_that_met_its_fault_inside_counts_in_the_fault_s_phase() -> None:
    # Given a request sent at 19.7 s (steady) whose PutItem was throttled at 20.1 s, answered 500 at 21.2 s
    faulted = _attempt(19.7, 500, latency_ms=1500, rid="req-throttled")
    calm = _attempt(10.0)
    clock = FaultClock.from_journal(ZERO, [_fault(20.1, "req-throttled")])

    report = chaos_report([faulted, calm], PLAN, clock)

    # Then the 500 is the throttling phase's, not steady's
    assert _phase(report, "steady").statuses == {"201": 1}
    assert _phase(report, "dynamodb throttling").statuses == {"500": 1}
    assert _phase(report, "dynamodb throttling").faulted == 1
    assert _phase(report, "steady").faulted == 0


def test_a_request_that_met_two_faults_counts_where_it_met_the_last() -> None:
    # Given a request throttled at 39.8 s and then failed by the SQS outage at 40.3 s
    attempt = _attempt(39.5, 500, latency_ms=900, rid="req-both")
    clock = FaultClock.from_journal(ZERO, [_fault(40.3, "req-both"), _fault(39.8, "req-both")])

    report = chaos_report([attempt], PLAN, clock)

    assert _phase(report, "sqs outage").statuses == {"500": 1}
    assert _phase(report, "dynamodb throttling").requests == 0


def test_a_request_without_a_fault_counts_when_its_answer_came() -> None:
    # Given a request sent at 39.9 s and answered at 40.4 s with no fault journaled
    report = chaos_report([_attempt(39.9, 201, latency_ms=500)], PLAN, FaultClock(ZERO, {}))

    assert _phase(report, "sqs outage").requests == 1
    assert _phase(report, "dynamodb throttling").requests == 0


def test_phase_report_counts_errors_retries_and_recovery() -> None:
    plan = FaultPlan.from_dict(
        {
            "phase": [
                {"name": "steady", "start_s": 0, "end_s": 10},
                {"name": "outage", "start_s": 10, "end_s": 20},
                {"name": "recovery", "start_s": 20, "end_s": 40},
            ],
            "rule": [{"service": "sqs", "kind": "connection", "start_s": 10, "end_s": 20}],
        }
    )
    attempts = [_attempt(t, 201) for t in range(10)]
    attempts += [_attempt(t + 0.5, 500, attempt=2) for t in range(10, 20)]
    attempts += [_attempt(t, 500 if t < 23 else 201) for t in range(20, 40)]

    steady, outage, recovery = chaos_report(attempts, plan, FaultClock(ZERO, {})).phases

    assert (steady.requests, steady.error_ratio, steady.recovered_after_s) == (10, 0.0, None)
    assert (outage.requests, outage.error_ratio, outage.retries) == (10, 1.0, 10)
    assert outage.recovered_after_s == 3.0
    assert recovery.statuses == {"201": 17, "500": 3}


def test_only_customers_orders_are_counted_in_the_phases() -> None:
    bad = {**_attempt(5.0, 400), "op": "bad"}

    report = chaos_report([bad], PLAN, FaultClock(ZERO, {}))

    assert sum(p.requests for p in report.phases) == 0


def test_a_run_with_no_breach_passes() -> None:
    report = chaos_report([_attempt(5.0)], PLAN, FaultClock(ZERO, {}))

    assert report.passed is True
    assert report.verdict() == "chaos: PASS"
    assert report.table().endswith("chaos: PASS")


def test_a_breach_in_one_phase_fails_the_verdict_and_names_that_phase() -> None:
    # Given an order left unqueued by a request whose fault was injected at 45 s (the SQS outage)
    breach = Breach("unqueued", "order x is stored and has no message", "create ...", "req-q", ts=ZERO + 47.0)
    clock = FaultClock.from_journal(ZERO, [_fault(45.0, "req-q")])

    report = chaos_report([], PLAN, clock, [breach])

    assert report.passed is False
    assert _phase(report, "sqs outage").breaches == {"unqueued": 1}
    assert all(not p.breaches for p in report.phases if p.name != "sqs outage")
    assert report.verdict() == "chaos: FAIL: phase 'sqs outage' (40-55 s) broke unqueued 1"
    assert json.loads(json.dumps(report.as_json()))["failures"] == ["phase 'sqs outage' (40-55 s) broke unqueued 1"]


def test_a_breach_without_a_fault_is_placed_at_its_own_time() -> None:
    # Given an orphaned message sent at 22 s and a lost order answered at 70 s, neither faulted
    orphan = Breach("orphaned", "message m names order o", ts=ZERO + 22.0)
    lost = Breach("lost", "201 order p is not in the table", "create ...", "req-l", ts=ZERO + 70.0)

    report = chaos_report([], PLAN, FaultClock(ZERO, {}), [orphan, lost])

    assert _phase(report, "dynamodb throttling").breaches == {"orphaned": 1}
    assert _phase(report, "recovery").breaches == {"lost": 1}
    assert len(report.failures) == 2


def test_a_breach_outside_every_phase_or_without_a_time_still_fails_the_verdict() -> None:
    late = Breach("late", "answered after 29000 ms", "create ...", "req-x", ts=ZERO + 95.0)
    unrequested = Breach("unrequested", "order z answers no request")

    report = chaos_report([], PLAN, FaultClock(ZERO, {}), [late, unrequested])

    assert all(not p.breaches for p in report.phases)
    assert report.outside == {"late": 1, "unrequested": 1}
    assert report.verdict() == "chaos: FAIL: outside the plan's phases: late 1, unrequested 1"


def test_the_journal_the_workers_write_is_read_back_with_request_ids(tmp_path: Path) -> None:
    log = tmp_path / "worker-001.log"
    fault = {"ts": 1020.5, "service": "dynamodb", "operation": "PutItem", "kind": "error"}
    log.write_text(
        '{"level":"INFO","message":"order created"}\n'
        + journal_line(fault, "req-1")
        + journal_line({**fault, "ts": 1021.0}, "req-1")
        + '{"chaos_fault": {"ts": 10'  # a line cut short by a killed environment
    )

    faults = read_journal([log])
    clock = FaultClock.from_journal(ZERO, faults)

    assert [f["request_id"] for f in faults] == ["req-1", "req-1"]
    assert clock.last_fault == {"req-1": 1021.0}


# ---- the table, the verdict and chaos.json, as written -----------------------------------------

TWO_PHASES = ChaosReport(
    [
        PhaseReport("steady", 0, 20, 10, {"500": 1, "201": 9}, 35.4, 2, 0.1, None),
        PhaseReport(
            "sqs outage", 20, 40, 5, {"503": 5}, 120.0, 5, 1.0, 3.0, faulted=5, breaches={"unqueued": 2, "lost": 1}
        ),
    ],
    outside={"late": 1},
)  # fmt: skip


def test_the_table_shows_each_phase_s_figures_statuses_and_breaches_then_the_verdict() -> None:
    # Given a calm phase and a faulted one with breaches, and a breach outside both
    # When the table is written
    table = TWO_PHASES.table()
    # Then every figure is in its column, a phase without breaches ends at its statuses, and the
    # verdict names each failure
    assert table.splitlines() == [
        "phase                   window requests faulted  errors  p95 ms retries recovered  statuses; breaches",
        "steady                 0-20  s       10       0   10.0%      35       2         -  201: 9, 500: 1",
        "sqs outage            20-40  s        5       5  100.0%     120       5       3 s  503: 5; lost 1, unqueued 2",
        "chaos: FAIL: phase 'sqs outage' (20-40 s) broke lost 1, unqueued 2; outside the plan's phases: late 1",
    ]


def test_chaos_json_holds_each_phase_the_breaches_outside_and_the_verdict() -> None:
    document = json.loads(json.dumps(TWO_PHASES.as_json()))

    assert document == {
        "phases": [
            {"name": "steady", "start_s": 0, "end_s": 20, "requests": 10, "statuses": {"500": 1, "201": 9},
             "p95_ms": 35.4, "retries": 2, "error_ratio": 0.1, "recovered_after_s": None, "faulted": 0,
             "breaches": {}},
            {"name": "sqs outage", "start_s": 20, "end_s": 40, "requests": 5, "statuses": {"503": 5},
             "p95_ms": 120.0, "retries": 5, "error_ratio": 1.0, "recovered_after_s": 3.0, "faulted": 5,
             "breaches": {"unqueued": 2, "lost": 1}},
        ],
        "outside": {"late": 1},
        "passed": False,
        "failures": ["phase 'sqs outage' (20-40 s) broke lost 1, unqueued 2", "outside the plan's phases: late 1"],
    }  # fmt: skip


# ---- where a request and a breach count ---------------------------------------------------------


def test_an_answer_and_a_breach_at_the_very_start_of_a_phase_count_in_it() -> None:
    # Given a request sent at 19.5 s answered 500 ms later, at 20 s exactly, and a breach at 20 s
    answered = _attempt(19.5, 201, latency_ms=500)
    breach = Breach("orphaned", "message m names order o", ts=ZERO + 20.0)

    report = chaos_report([answered], PLAN, FaultClock(ZERO, {}), [breach])

    # Then both are the throttling phase's (20-40 s), not steady's
    assert (_phase(report, "steady").requests, _phase(report, "dynamodb throttling").requests) == (0, 1)
    assert _phase(report, "dynamodb throttling").breaches == {"orphaned": 1}
    assert _phase(report, "steady").breaches == {}


def test_a_faulted_request_and_its_breach_count_at_the_fault_though_answered_in_the_next_phase() -> None:
    # Given a request throttled at 39 s and answered at 41 s (the SQS outage), and its order's breach at 41 s
    attempt = _attempt(38.0, 500, latency_ms=3000, rid="req-slow")
    breach = Breach("unqueued", "order y is stored and has no message", "create ...", "req-slow", ts=ZERO + 41.0)
    clock = FaultClock.from_journal(ZERO, [_fault(39.0, "req-slow")])

    report = chaos_report([attempt], PLAN, clock, [breach])

    # Then both are counted in the throttling phase, where the fault was met
    throttling = _phase(report, "dynamodb throttling")
    assert (throttling.requests, throttling.faulted, throttling.breaches) == (1, 1, {"unqueued": 1})
    assert (_phase(report, "sqs outage").requests, _phase(report, "sqs outage").breaches) == (0, {})


def test_requests_answered_at_the_same_moment_are_all_counted() -> None:
    same = [_attempt(5.0, 201, rid="a"), _attempt(5.0, 500, rid="b")]

    steady = _phase(chaos_report(same, PLAN, FaultClock(ZERO, {})), "steady")

    assert steady.statuses == {"201": 1, "500": 1}


def test_a_phase_s_retries_are_the_attempts_after_the_first_and_its_error_ratio_has_four_places() -> None:
    attempts = [_attempt(1.0, 201), _attempt(2.0, 201), _attempt(3.0, 500, attempt=2)]

    steady = _phase(chaos_report(attempts, PLAN, FaultClock(ZERO, {})), "steady")

    assert (steady.retries, steady.error_ratio) == (1, 0.3333)


def test_an_empty_phase_has_no_errors_and_no_latency() -> None:
    report = chaos_report([_attempt(5.0, 500)], PLAN, FaultClock(ZERO, {}))

    outage = _phase(report, "sqs outage")
    assert (outage.requests, outage.error_ratio, outage.p95_ms) == (0, 0.0, 0.0)


def test_p95_is_the_latency_under_which_95_percent_of_the_phase_s_requests_fall() -> None:
    # Given 20 requests of 1..20 ms in one phase, and 100 of 1..100 ms in another
    twenty = [_attempt(1 + i / 100, latency_ms=i, rid=f"t{i}") for i in range(1, 21)]
    hundred = [_attempt(21 + i / 100, latency_ms=i, rid=f"h{i}") for i in range(1, 101)]

    report = chaos_report(twenty + hundred, PLAN, FaultClock(ZERO, {}))

    # Then the slowest of 20 (19 of them under it), and the 96th of 100
    assert _phase(report, "steady").p95_ms == 20
    assert _phase(report, "dynamodb throttling").p95_ms == 96


# ---- recovery -----------------------------------------------------------------------------------


def _plan(phases: list[tuple[str, float, float]], faults: list[tuple[float, float]]) -> FaultPlan:
    return FaultPlan.from_dict(
        {
            "phase": [{"name": name, "start_s": start, "end_s": end} for name, start, end in phases],
            "rule": [{"service": "sqs", "kind": "connection", "start_s": s, "end_s": e} for s, e in faults],
        }
    )


def _each_second(first: int, last: int, status: int = 201) -> list[dict]:
    return [_attempt(t, status, latency_ms=0) for t in range(first, last + 1)]


def test_recovery_is_measured_once_after_consecutive_fault_phases_and_never_after_a_calm_one() -> None:
    # Given two fault phases back to back (10-30 s) and errors until 24 s, requests until 44 s
    plan = _plan(
        [("steady", 0, 10), ("throttled", 10, 20), ("outage", 20, 30), ("after", 30, 40)], [(10, 20), (20, 30)]
    )
    attempts = _each_second(0, 9) + _each_second(10, 24, 500) + _each_second(25, 44)

    steady, throttled, outage, after = chaos_report(attempts, plan, FaultClock(ZERO, {})).phases

    # Then only the last fault phase has a recovery time
    assert [p.recovered_after_s for p in (steady, throttled, outage, after)] == [None, None, 0.0, None]


def test_a_plan_ending_in_a_fault_phase_measures_recovery_after_it() -> None:
    plan = _plan([("steady", 0, 10), ("outage", 10, 20)], [(10, 20)])
    attempts = _each_second(0, 9) + _each_second(10, 19, 500) + _each_second(20, 29)

    _, outage = chaos_report(attempts, plan, FaultClock(ZERO, {})).phases

    assert outage.recovered_after_s == 0.0


def test_a_phase_ending_as_a_fault_window_begins_is_not_a_fault_phase() -> None:
    # Given a fault window (10-12 s) in the gap between two calm phases
    plan = _plan([("before", 0, 10), ("later", 15, 30)], [(10, 12)])

    before, later = chaos_report(_each_second(0, 29), plan, FaultClock(ZERO, {})).phases

    # Then neither phase held the fault, so no recovery is measured
    assert (before.recovered_after_s, later.recovered_after_s) == (None, None)


RECOVERY = [("steady", 0, 10), ("outage", 10, 20), ("after", 20, 60)]


def _recovered(attempts: list[dict]) -> float | None:
    outage = chaos_report(attempts, _plan(RECOVERY, [(10, 20)]), FaultClock(ZERO, {})).phases[1]
    return outage.recovered_after_s


def test_recovery_is_the_first_second_whose_next_five_seconds_are_as_clean_as_steady() -> None:
    calm_then_faulted = _each_second(0, 9) + _each_second(10, 19, 500)
    # errors until 34 s, then five clean seconds, the last requests: recovered at 35 s
    assert _recovered(calm_then_faulted + _each_second(20, 34, 500) + _each_second(35, 39)) == 15.0
    # errors until 35 s, then four clean seconds only: not recovered
    assert _recovered(calm_then_faulted + _each_second(20, 35, 500) + _each_second(36, 39)) is None
    # clean 25-29 s, an error at 30 s just after those five seconds: recovered at 25 s
    after = _each_second(20, 24, 500) + _each_second(25, 29) + _each_second(30, 30, 500) + _each_second(31, 39)
    assert _recovered(calm_then_faulted + after) == 5.0


def test_recovery_allows_the_steady_error_ratio_plus_one_point() -> None:
    # Given a steady phase with 20 % errors, and after the outage one error in every five seconds
    steady = _each_second(0, 1, 500) + _each_second(2, 9)
    after = [_attempt(t, 500 if t in {22, 27} else 201, latency_ms=0) for t in range(20, 30)]
    assert _recovered(steady + _each_second(10, 19, 500) + after) == 0.0
    # Given a clean steady phase, and one error in the 100 requests of the five seconds after the outage
    hundred = [_attempt(20 + k / 20, 500 if k == 0 else 201, latency_ms=0, rid=f"r{k}") for k in range(100)]
    assert _recovered(_each_second(0, 9) + _each_second(10, 19, 500) + hundred) == 0.0
