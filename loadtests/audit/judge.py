"""The audit's judgement: a run's client ledger against the orders table and the queue's messages.

It proves the invariants of docs/contract.md §3 request by request and counts lost, duplicated and
orphaned orders (and the rest); any non-zero count fails the run. Each breach names the
request it concerns (operation, customer, key, attempt, the gateway's request id), so a person
can find it in the function's logs. ``audit`` is a pure function of its inputs: no AWS, no files
(those are ``loadtests.audit.evidence`` and ``loadtests.audit.folder``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from create_order.logic import order_id_for
from loadtests.audit.report import AuditReport, Breach
from loadtests.ledger import STOPPED, transient

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

API_GATEWAY_LIMIT_MS = 29_000
NOT_CHECKED_WITHOUT_QUEUE = ("unqueued (invariants 2 and 4)", "orphaned (invariant 2)")
_REJECTING_OPS = ("bad", "intrude")


class _Where(TypedDict):
    """The request a breach concerns, as :class:`Breach`'s keyword arguments."""

    request: str
    request_id: str | None
    ts: float | None


def derived_order_id(customer_id: str, key: str) -> str:
    """The id the function gives an order with this key (its own code, so the two never drift)."""
    return order_id_for(customer_id, key)


def request_name(attempt: Mapping[str, Any]) -> str:
    """How a breach names the request: scenario, customer, key, attempt and the gateway's request id."""
    name = f"{attempt['op']} '{attempt['name']}' by {attempt['customer_id']}, key {attempt['key']}"
    name += f", attempt {attempt['attempt']}"
    if attempt.get("request_id"):
        name += f", request {attempt['request_id']}"
    return name


def answered_at(attempt: Mapping[str, Any]) -> float:
    """When the attempt's answer (or its failure) reached the client, as epoch seconds."""
    return float(attempt["ts"]) + float(attempt["latency_ms"]) / 1000


def audit(
    attempts: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    messages: list[dict[str, Any]] | None,
    unknown_customers: frozenset[str] = frozenset(),
) -> AuditReport:
    """Check every invariant over one run's records.

    ``messages=None`` means the queue could not be observed (a deployed stack has its own
    consumers): the checks that need it are skipped and named in ``not_checked``.
    ``unknown_customers`` are those whose client's record did not fully arrive (a distributed
    worker that vanished): their attempts are counted as ``unknown``, not judged, and their
    orders that no judged request accounts for as ``unknown_orders``, not as unrequested.
    """
    report = AuditReport(attempts=len(attempts), orders_in_table=len(orders), messages=len(messages or []))
    report.statuses = dict(Counter(str(a["status"]) for a in attempts))
    judged = [attempt for attempt in attempts if attempt["customer_id"] not in unknown_customers]
    report.unknown = len(attempts) - len(judged)
    attempts = judged
    by_id = {order["id"]: order for order in orders}
    queued = None if messages is None else Counter(message["order_id"] for message in messages)
    if queued is None:
        report.not_checked = list(NOT_CHECKED_WITHOUT_QUEUE)
    answered = _check_responses(report, attempts, by_id, queued)
    requested = _check_logical_requests(report, attempts, by_id, queued)
    _check_table(report, orders, answered | requested, unknown_customers)
    _check_queue(report, messages or [], by_id, answered)
    return report


def _unqueued(queued: Counter[str] | None, order_id: str) -> bool:
    """The queue was observed and no message names the order (unobserved: nothing to judge)."""
    return queued is not None and queued[order_id] == 0


def _check_responses(
    report: AuditReport, attempts: list[dict[str, Any]], by_id: dict[str, Any], queued: Counter[str] | None
) -> set[str]:
    """Invariants 1, 2 and 5 from each response the client received; the order ids it was told."""
    told: set[str] = set()
    created: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for attempt in attempts:
        where: _Where = {
            "request": request_name(attempt),
            "request_id": attempt.get("request_id"),
            "ts": answered_at(attempt),
        }
        status = attempt["status"]
        if attempt["latency_ms"] >= API_GATEWAY_LIMIT_MS:
            report.note(Breach("late", f"answered after {attempt['latency_ms']:.0f} ms (status {status})", **where))
        rejecting = attempt["op"] in _REJECTING_OPS
        judged = attempt["final"] and attempt.get("error") != STOPPED  # a stopped user's answer is unknown
        if judged and status not in attempt["expected"] and (rejecting or not transient(status)):
            report.note(Breach("wrong_status", f"expected {attempt['expected']}, got {status}", **where))
        if status == 201:
            report.created += 1
            if attempt["key"] is not None:
                created[(attempt["customer_id"], attempt["key"])].append(attempt)
        elif status == 409:
            report.duplicates += 1
        order_id = attempt["order_id"]
        if status not in (201, 409) or not order_id:
            continue
        told.add(order_id)
        order = by_id.get(order_id)
        if order is None:
            report.note(Breach("lost", f"{status} order {order_id} is not in the table", **where))
            continue
        if attempt["total"] is not None and Decimal(attempt["total"]) != order["total"]:
            detail = f"order {order_id}: shown {attempt['total']}, stored {order['total']}"
            report.note(Breach("wrong_total", detail, **where))
        # A keyed request's message is checked once per request (invariant 4, below).
        if status == 201 and attempt["key"] is None and _unqueued(queued, order_id):
            report.note(Breach("unqueued", f"201 order {order_id} has no message", **where))
    for answers in created.values():
        if len(answers) > 1:
            first, *_ = answers
            detail = f"{len(answers)} answers 201 for one key (orders {sorted({a['order_id'] for a in answers})})"
            report.note(Breach("duplicated", detail, request_name(first), first.get("request_id"), answered_at(first)))
    return told


def _check_logical_requests(
    report: AuditReport, attempts: list[dict[str, Any]], by_id: dict[str, Any], queued: Counter[str] | None
) -> set[str]:
    """Invariant 4, and nothing stored for a rejected request, per (customer, key); the ids they may create."""
    logical: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for attempt in attempts:
        if attempt["key"] is not None:
            logical[(attempt["op"], attempt["customer_id"], attempt["key"])].append(attempt)
    report.logical_requests = len(logical)
    possible: set[str] = set()
    for (op, customer_id, key), tries in logical.items():
        order_id = derived_order_id(customer_id, key)
        possible.add(order_id)
        if order_id not in by_id:
            continue
        last = max(tries, key=answered_at)
        where: _Where = {"request": request_name(last), "request_id": last.get("request_id"), "ts": answered_at(last)}
        if op in _REJECTING_OPS:
            detail = f"rejected with {last['status']}, yet order {order_id} is stored"
            report.note(Breach("stored_on_rejection", detail, **where))
        elif _unqueued(queued, order_id):
            if {t["status"] for t in tries if t["final"]} & {201, 409}:
                report.note(Breach("unqueued", f"order {order_id} is stored and has no message", **where))
            else:
                report.abandoned += 1  # given up on after its retries: the client never heard of it
    return possible


def _check_table(
    report: AuditReport, orders: list[dict[str, Any]], accounted: set[str], unknown_customers: frozenset[str]
) -> None:
    """Invariant 3, and no order that no request of the ledger can have created.

    The harness sends an ``Idempotency-Key`` with every request, so each order it causes is
    accounted for by the id an answer named or the id its key derives.
    """
    per_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        if order.get("idempotency_key"):
            per_key[(order["customer_id"], order["idempotency_key"])].append(order)
        if order["id"] not in accounted and order["customer_id"] in unknown_customers:
            report.unknown_orders += 1
        elif order["id"] not in accounted:
            detail = (
                f"order {order['id']} ({order['customer_id']}, key {order.get('idempotency_key')}) answers no request"
            )
            report.note(Breach("unrequested", detail, ts=_created_at(order)))
    for (customer_id, key), stored in per_key.items():
        if len(stored) > 1:
            detail = f"{len(stored)} orders for {customer_id} / {key}: {sorted(o['id'] for o in stored)}"
            # It happened when the second order was created.
            created = sorted(t for t in map(_created_at, stored) if t is not None)
            report.note(Breach("duplicated", detail, ts=created[1] if len(created) > 1 else None))


def _check_queue(
    report: AuditReport, messages: Iterable[dict[str, Any]], by_id: dict[str, Any], told: set[str]
) -> None:
    """Invariant 2's second half: no message names an order that is not in the table.

    An order a client was told of and that is missing is already counted as ``lost``; its
    messages are that loss, not a second breach.
    """
    seen: set[str] = set()
    for message in messages:
        order_id = message["order_id"]
        if order_id in by_id or order_id in told or order_id in seen:
            continue
        seen.add(order_id)
        detail = f"message {message.get('message_id')} names order {order_id}, which is not in the table"
        report.note(Breach("orphaned", detail, ts=message.get("sent_ts")))


def _created_at(order: Mapping[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(str(order["created_at"])).timestamp()
    except (KeyError, ValueError):
        return None


CLOCK_SLACK_S = 60.0
"""How far the function's clock (an order's ``created_at``) may run behind the client's."""


def orders_of_run(orders: list[dict[str, Any]], attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders a run can have created, out of a shared table (a deployed stack keeps every run's).

    Those of the run's customers created since its first request was sent (less ``CLOCK_SLACK_S``);
    the audit judges these, so that earlier runs and real traffic are neither lost nor unrequested.
    """
    if not attempts:
        return []
    customers = {attempt["customer_id"] for attempt in attempts}
    since = min(float(attempt["ts"]) for attempt in attempts) - CLOCK_SLACK_S
    return [o for o in orders if o["customer_id"] in customers and (_created_at(o) or since) >= since]
