"""A distributed run's audit: one judgement over every worker's ledger, and a vanished worker named.

The roster (``workers.json``, written by the master) says which customers each worker played
and whether its ledger arrived whole. The audit of a run whose worker vanished must fail and
name that worker, and count its customers' requests and orders as unknown, never as lost,
unrequested or fine; the same evidence without the roster is a breach, which shows the roster
is what changes the verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.runfolder import LedgerFolder
from loadtests.audit.folder import audit_ledgers
from loadtests.audit.judge import audit
from loadtests.ledger import append_lines, read_ledgers
from loadtests.roster import Roster, WorkerEntry, customer_slice
from tests.unit.test_audit import _attempt, _message, _order

CUSTOMERS = [f"cust-{n:03d}" for n in range(10)]


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 10])
def test_the_workers_slices_are_disjoint_and_cover_every_customer(workers: int) -> None:
    slices = [customer_slice(CUSTOMERS, index, workers) for index in range(workers)]

    assert sorted(customer for mine in slices for customer in mine) == CUSTOMERS
    assert all(slices)


def test_a_worker_index_past_the_expected_count_wraps_and_too_few_customers_are_shared() -> None:
    assert customer_slice(CUSTOMERS, 5, 3) == customer_slice(CUSTOMERS, 2, 3)
    assert customer_slice(CUSTOMERS[:2], 3, 4) == ["cust-001"]
    with pytest.raises(ValueError, match="0 workers"):
        customer_slice(CUSTOMERS, 0, 0)


def _run(tmp_path: Path, *, second_complete: bool) -> Path:
    """Two workers' ledgers as the master writes them: each ordered once for its first customer."""
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    roster = Roster(expected=2)
    for index in (0, 1):
        mine = customer_slice(CUSTOMERS, index, 2)
        line = json.dumps(_attempt(customer=mine[0], key=f"k-{index}"))
        append_lines(LedgerFolder(ledger).worker_ledger(index), [line])
        recorded = 1 if index == 0 or second_complete else None
        roster.workers[index] = WorkerEntry(index, f"client-{index}", mine, lines=1, recorded=recorded)
    roster.save(ledger)
    return ledger


def _evidence() -> tuple[list[dict], list[dict]]:
    """The table and queue after both orders, plus one order of worker 1's that its lost records explain."""
    orders = [
        _order("k-0", customer="cust-000"),
        _order("k-1", customer="cust-001"),
        _order("k-late", customer="cust-003"),
    ]
    return orders, [_message(order["id"], f"m-{n}") for n, order in enumerate(orders)]


def test_a_complete_distributed_run_is_judged_over_every_worker_s_ledger(tmp_path: Path) -> None:
    ledger = _run(tmp_path, second_complete=True)
    orders, messages = _evidence()

    report = audit_ledgers(ledger, orders[:2], messages[:2])

    assert report.passed
    assert (report.attempts, report.created, report.unknown) == (2, 2, 0)
    assert report.incomplete_workers == []


def test_attempts_its_caller_already_read_are_the_ones_judged(tmp_path: Path) -> None:
    # Given the caller read the folder's ledgers and passes them on, less one attempt
    ledger = _run(tmp_path, second_complete=True)
    orders, messages = _evidence()
    attempts = read_ledgers(ledger)[:1]

    report = audit_ledgers(ledger, orders[:2], messages[:2], attempts)

    # Then those are judged, not a second reading of the folder: one order answers no request
    assert report.attempts == 1
    assert report.unrequested == 1


def test_a_vanished_worker_fails_the_audit_by_name_and_its_requests_are_unknown_not_breaches(tmp_path: Path) -> None:
    # Given worker 1 vanished: one line of its ledger arrived, its end never did, and one order
    # of its customers was created by a request whose record was lost with it
    ledger = _run(tmp_path, second_complete=False)
    orders, messages = _evidence()

    report = audit_ledgers(ledger, orders, messages)

    # Then the audit fails, naming the worker; its request and both its customers' orders are unknown
    assert not report.passed
    assert report.incomplete_workers == ["worker 1 (client-1): 1 ledger lines arrived, it never sent its end"]
    assert (report.unknown, report.unknown_orders) == (1, 2)
    assert report.unrequested == report.lost == 0
    assert report.created == 1  # worker 0's order, judged
    assert "incomplete: 1 attempts and 2 orders unknown, from:" in report.table()
    # ... and without the roster the same order is a breach: the roster is what makes it unknown
    (ledger / "workers.json").unlink()
    assert audit_ledgers(ledger, orders, messages).unrequested == 1


def test_a_worker_whose_end_counts_more_lines_than_arrived_is_incomplete(tmp_path: Path) -> None:
    ledger = _run(tmp_path, second_complete=True)
    roster = Roster.load(ledger)
    assert roster is not None
    roster.workers[1].recorded = 2  # it recorded two; one arrived
    roster.save(ledger)
    orders, messages = _evidence()

    report = audit_ledgers(ledger, orders[:2], messages[:2])

    assert report.incomplete_workers == ["worker 1 (client-1): 1 ledger lines arrived, it recorded 2"]
    assert not report.passed


def test_unknown_customers_are_not_judged_but_others_still_are() -> None:
    lost = _attempt(customer="cust-000", key="k-0")  # 201, order missing: a real loss
    unknown = _attempt(customer="cust-001", key="k-1")  # 201, order missing, but its worker vanished

    report = audit([lost, unknown], [], [], frozenset({"cust-001"}))

    assert (report.lost, report.unknown) == (1, 1)
    assert report.breaches[0].request.startswith("create 'valid order' by cust-000")
