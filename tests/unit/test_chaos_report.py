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
