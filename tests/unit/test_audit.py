"""The audit, breach by breach: each invariant fed the smallest records that break it, and the near-misses.

Each breach test asserts that its count is 1, every other invariant 0, the audit fails and its
example names the request (scenario, customer, key, attempt, request id). The near-misses are
what a healthy run under faults looks like, and must not count.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest

from loadtests.audit import (
    INVARIANTS,
    NOT_CHECKED_WITHOUT_QUEUE,
    AuditReport,
    audit,
    derived_order_id,
    orders_of_run,
)

CUSTOMER = "cust-001"
SENT = 1_795_946_400.0  # 2026-11-29T10:00:00Z, when the orders below were created
_request_ids = itertools.count(1)


def _attempt(
    status: int = 201,
    *,
    op: str = "create",
    key: str | None = "key-1",
    customer: str = CUSTOMER,
    total: str | None = "10.00",
    attempt: int = 1,
    final: bool = True,
    expected: list[int] | None = None,
    latency_ms: float = 20.0,
    order_id: str | None = "",
) -> dict[str, Any]:
    """One ledger line as the locustfile writes it; a 201/409 carries the order the key derives."""
    if order_id == "":
        order_id = derived_order_id(customer, key) if key and status in (201, 409) else None
    return {
        "op": op,
        "name": {"create": "valid order", "bad": "quantity 0", "intrude": "no token"}.get(op, op),
        "customer_id": customer,
        "key": key,
        "attempt": attempt,
        "status": status,
        "expected": expected or [201, 409],
        "latency_ms": latency_ms,
        "order_id": order_id,
        "total": total if status in (201, 409) else None,
        "problem_type": None,
        "error": None,
        "final": final,
        "ts": SENT + attempt,
        "ok": status in (expected or [201, 409]),
        "request_id": f"req-{next(_request_ids)}",
    }


def _order(key: str | None = "key-1", *, customer: str = CUSTOMER, total: str = "10.00", order_id: str = "") -> dict:
    """One orders-table item, deserialised as the scan gives it."""
    item = {
        "id": order_id or derived_order_id(customer, str(key)),
        "customer_id": customer,
        "total": Decimal(total),
        "currency": "USD",
        "status": "pending",
        "created_at": "2026-11-29T10:00:00.000Z",
    }
    if key is not None:
        item["idempotency_key"] = key
    return item


def _message(order_id: str, message_id: str = "m-1") -> dict[str, Any]:
    """One line of the consumer's record."""
    return {"order_id": order_id, "message_id": message_id, "sent_ts": SENT + 0.5}


def _healthy(key: str = "key-1") -> tuple[list[dict], list[dict], list[dict]]:
    """One order placed, stored once and queued once: the records of a request that went well."""
    order = _order(key)
    return [_attempt(key=key)], [order], [_message(order["id"])]


def _only(report: AuditReport, invariant: str) -> None:
    counts = {name: getattr(report, name) for name in INVARIANTS}
    assert counts == {name: int(name == invariant) for name in INVARIANTS}
    assert report.passed is False
    assert [breach.invariant for breach in report.breaches] == [invariant]


def test_a_healthy_order_passes_with_every_count_zero() -> None:
    attempts, orders, messages = _healthy()

    report = audit(attempts, orders, messages)

    assert report.passed is True
    assert (report.created, report.orders_in_table, report.messages, report.logical_requests) == (1, 1, 1, 1)
    assert report.breaches == []


# --- one test per invariant -------------------------------------------------------------------------


def test_lost_an_order_answered_201_that_is_not_in_the_table() -> None:
    # Given a 201 whose order was queued but is not in the table
    attempts, _, messages = _healthy()

    report = audit(attempts, [], messages)

    _only(report, "lost")
    (example,) = report.examples["lost"]
    assert "create 'valid order' by cust-001, key key-1, attempt 1" in example
    assert attempts[0]["request_id"] in example
    assert attempts[0]["order_id"] in example


def test_lost_an_order_answered_409_that_is_not_in_the_table() -> None:
    attempts = [_attempt(409, op="duplicate")]

    report = audit(attempts, [], [_message(attempts[0]["order_id"])])

    _only(report, "lost")
    assert "duplicate" in report.examples["lost"][0]


def test_wrong_total_the_stored_total_is_not_the_one_the_client_was_shown() -> None:
    attempts, _, messages = _healthy()

    report = audit(attempts, [_order(total="12.00")], messages)

    _only(report, "wrong_total")
    (example,) = report.examples["wrong_total"]
    assert "shown 10.00, stored 12.00" in example
    assert attempts[0]["request_id"] in example


def test_duplicated_two_answers_201_for_one_key() -> None:
    # Given two attempts of one request both answered 201 (one order stored and queued)
    attempts, orders, messages = _healthy()
    attempts.append(_attempt(attempt=2))

    report = audit(attempts, orders, messages)

    _only(report, "duplicated")
    assert "2 answers 201 for one key" in report.examples["duplicated"][0]
    assert "key key-1" in report.examples["duplicated"][0]


def test_duplicated_two_stored_orders_for_one_customer_and_key() -> None:
    # Given the table holds a second order under the same customer and key (another id)
    attempts, orders, messages = _healthy()
    second = _order(order_id="0f0f0f0f-0000-4000-8000-000000000000")
    accounted = [*attempts, _attempt(key="key-1", order_id=second["id"], attempt=2, status=409)]

    report = audit(accounted, [*orders, second], [*messages, _message(second["id"], "m-2")])

    _only(report, "duplicated")
    assert "2 orders for cust-001 / key-1" in report.examples["duplicated"][0]


def test_orphaned_a_message_names_an_order_that_is_not_in_the_table() -> None:
    attempts, orders, messages = _healthy()
    ghost = "11111111-2222-4333-8444-555555555555"

    report = audit(attempts, orders, [*messages, _message(ghost, "m-ghost")])

    _only(report, "orphaned")
    assert report.examples["orphaned"] == [f"message m-ghost names order {ghost}, which is not in the table"]
    assert report.breaches[0].ts == SENT + 0.5


def test_unqueued_a_201_order_that_is_stored_has_no_message() -> None:
    attempts, orders, _ = _healthy()

    report = audit(attempts, orders, [])

    _only(report, "unqueued")
    (example,) = report.examples["unqueued"]
    assert "key key-1" in example
    assert attempts[0]["request_id"] in example


def test_unqueued_a_keyless_201_order_that_is_stored_has_no_message() -> None:
    order = _order(None, order_id="22222222-2222-4222-8222-222222222222")
    attempts = [_attempt(key=None, order_id=order["id"])]

    report = audit(attempts, [order], [])

    _only(report, "unqueued")


def test_unqueued_a_request_that_got_500_then_409_left_its_order_without_a_message() -> None:
    # Invariant 4: the first attempt stored the order and failed to queue it; the retry's 409 must re-queue it
    attempts = [_attempt(500, final=False), _attempt(409, attempt=2)]

    report = audit(attempts, [_order()], [])

    _only(report, "unqueued")
    assert "attempt 2" in report.examples["unqueued"][0]


def test_unrequested_an_order_no_request_of_the_ledger_can_have_created() -> None:
    attempts, orders, messages = _healthy()
    stranger = _order("key-nobody-sent", customer="cust-999")

    report = audit(attempts, [*orders, stranger], messages)

    _only(report, "unrequested")
    assert report.examples["unrequested"] == [
        f"order {stranger['id']} (cust-999, key key-nobody-sent) answers no request"
    ]


def test_stored_on_rejection_a_rejected_request_left_an_order() -> None:
    # Given a bad request answered 400 whose key's order is in the table anyway
    attempts = [_attempt(400, op="bad", key="bad-1", expected=[400])]

    report = audit(attempts, [_order("bad-1")], [])

    _only(report, "stored_on_rejection")
    (example,) = report.examples["stored_on_rejection"]
    assert "bad 'quantity 0' by cust-001, key bad-1" in example
    assert "rejected with 400" in example


def test_late_an_answer_at_api_gateway_s_29_s_limit() -> None:
    attempts, orders, messages = _healthy()
    attempts[0]["latency_ms"] = 29_000.0

    report = audit(attempts, orders, messages)

    _only(report, "late")
    assert "answered after 29000 ms" in report.examples["late"][0]
    assert report.breaches[0].ts == SENT + 1 + 29.0  # when the answer arrived


def test_late_counts_a_client_timeout_with_no_answer() -> None:
    attempts = [_attempt(0, latency_ms=35_000.0, final=False), _attempt(201, attempt=2)]

    report = audit(attempts, [_order()], [_message(_order()["id"])])

    _only(report, "late")


def test_wrong_status_an_intruder_not_refused_with_its_status() -> None:
    attempts = [_attempt(403, op="intrude", key="intr-1", expected=[401])]

    report = audit(attempts, [], [])

    _only(report, "wrong_status")
    (example,) = report.examples["wrong_status"]
    assert "intrude 'no token' by cust-001, key intr-1" in example
    assert "expected [401], got 403" in example


def test_wrong_status_bad_input_answered_500_after_its_retries() -> None:
    attempts = [_attempt(500, op="bad", key="bad-2", expected=[400])]

    report = audit(attempts, [], [])

    _only(report, "wrong_status")


def test_wrong_status_a_valid_order_refused_with_a_4xx() -> None:
    attempts = [_attempt(400, key="key-7")]

    report = audit(attempts, [], [])

    _only(report, "wrong_status")


# --- near-misses: what must not count ---------------------------------------------------------------


def test_a_409_duplicate_whose_order_exists_is_fine() -> None:
    attempts, orders, messages = _healthy()
    attempts.append(_attempt(409, op="create", attempt=2))

    report = audit(attempts, orders, [*messages, _message(orders[0]["id"], "m-2")])

    assert report.passed is True
    assert (report.created, report.duplicates) == (1, 1)


def test_a_500_then_a_201_on_retry_is_fine() -> None:
    order = _order()
    attempts = [_attempt(500, final=False), _attempt(201, attempt=2)]

    report = audit(attempts, [order], [_message(order["id"])])

    assert report.passed is True
    assert report.created == 1
    assert report.statuses == {"500": 1, "201": 1}


def test_one_order_delivered_twice_is_at_least_once_delivery_not_a_duplicate() -> None:
    attempts, orders, messages = _healthy()

    report = audit(attempts, orders, [*messages, _message(orders[0]["id"], "m-again")])

    assert report.passed is True
    assert report.messages == 2


def test_a_request_abandoned_after_its_retries_with_its_order_stored_but_not_queued_is_counted_apart() -> None:
    # Given six 500s (the last final), the first of which stored the order before the queue failed
    order = _order()
    attempts = [_attempt(500, attempt=n, final=n == 6, order_id=order["id"] if n == 1 else None) for n in range(1, 7)]

    report = audit(attempts, [order], [])

    assert report.passed is True
    assert report.abandoned == 1


def test_a_request_abandoned_with_nothing_stored_is_fine() -> None:
    attempts = [_attempt(500, attempt=n, final=n == 6) for n in range(1, 7)]

    report = audit(attempts, [], [])

    assert report.passed is True
    assert report.abandoned == 0


def test_a_rejected_request_that_stored_nothing_is_fine() -> None:
    attempts = [
        _attempt(401, op="intrude", key="k-i", expected=[401]),
        _attempt(400, op="bad", key="k-b", expected=[400]),
    ]

    report = audit(attempts, [], [])

    assert report.passed is True
    assert report.logical_requests == 2


def test_without_a_view_of_the_queue_the_queue_checks_are_named_and_skipped() -> None:
    # Given a deployed stage: no messages to read, one 201 order stored
    attempts, orders, _ = _healthy()

    report = audit(attempts, orders, None)

    assert report.passed is True
    assert report.not_checked == list(NOT_CHECKED_WITHOUT_QUEUE)
    assert "not checked (no view of the queue): unqueued" in report.table()


@pytest.mark.parametrize(
    ("invariant", "records"),
    [
        ("lost", lambda: ([_attempt()], [], None)),
        ("wrong_total", lambda: ([_attempt()], [_order(total="9.99")], None)),
        ("unrequested", lambda: ([_attempt()], [_order(), _order("other")], None)),
        ("stored_on_rejection", lambda: ([_attempt(400, op="bad", expected=[400])], [_order()], None)),
    ],
)
def test_without_a_view_of_the_queue_the_table_checks_still_judge(invariant: str, records: Any) -> None:
    report = audit(*records())

    _only(report, invariant)


# --- the report itself ------------------------------------------------------------------------------


def test_the_table_lists_each_breach_with_its_request_and_says_fail() -> None:
    attempts, _, messages = _healthy()

    text = audit(attempts, [], messages).table()

    assert [line.split() for line in text.splitlines() if line.startswith("lost (must be 0)")] == [
        ["lost", "(must", "be", "0)", "1"]
    ]
    assert f"  - create 'valid order' by cust-001, key key-1, attempt 1, request {attempts[0]['request_id']}" in text
    assert text.endswith("audit: FAIL")


def test_audit_json_keeps_every_count_the_verdict_and_a_few_breaches_of_each_invariant() -> None:
    # Given eight lost orders
    attempts = [_attempt(key=f"key-{n}") for n in range(8)]

    document = audit(attempts, [], []).as_json()

    assert document["lost"] == 8
    assert document["passed"] is False
    assert len(document["breaches"]) == len(document["examples"]["lost"]) == 5
    assert json.loads(json.dumps(document))["breaches"][0]["invariant"] == "lost"


def test_a_shared_table_is_judged_over_the_run_s_customers_since_its_start() -> None:
    # Given a deployed table holding this run's order, an earlier run's and another customer's
    attempts, orders, _ = _healthy()
    earlier = {**_order("key-old"), "created_at": "2026-11-29T09:00:00.000Z"}
    someone_else = _order("key-x", customer="real-customer")
    table = [*orders, earlier, someone_else]

    mine = orders_of_run(table, attempts)
    report = audit(attempts, mine, None)

    # Then only this run's order is judged, and neither of the others counts as unrequested
    assert mine == orders
    assert report.passed is True
    # ... while the whole table, unscoped, would have been
    assert audit(attempts, table, None).unrequested == 2
