"""The post-run audit: the client's ledger against the orders table and the queue's messages.

It proves the invariants of docs/contract.md §3 request by request and prints lost, duplicated and
orphaned counts (and the rest); any non-zero count fails the run. Each breach names the
request it concerns (operation, customer, key, attempt, the gateway's request id), so a person
can find it in the function's logs; ``audit`` is a pure function of its three inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import boto3
from boto3.dynamodb.types import TypeDeserializer

from create_order.logic import order_id_for
from harness.runfolder import RunFolder
from loadtests.ledger import STOPPED, read_ledgers, transient
from loadtests.roster import Roster

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

API_GATEWAY_LIMIT_MS = 29_000
# Counts that must be zero for the run to pass.
INVARIANTS = (
    "lost",
    "wrong_total",
    "duplicated",
    "orphaned",
    "unqueued",
    "unrequested",
    "stored_on_rejection",
    "late",
    "wrong_status",
)
EXAMPLES_KEPT = 5
"""Breaches of one invariant kept in ``examples`` and in audit.json (all are counted)."""
NOT_CHECKED_WITHOUT_QUEUE = ("unqueued (invariants 2 and 4)", "orphaned (invariant 2)")
_REJECTING_OPS = ("bad", "intrude")


class _Where(TypedDict):
    """The request a breach concerns, as :class:`Breach`'s keyword arguments."""

    request: str
    request_id: str | None
    ts: float | None


@dataclass(frozen=True)
class Breach:
    """One broken invariant, with the request it concerns (empty when no request does)."""

    invariant: str
    detail: str
    request: str = ""
    request_id: str | None = None
    ts: float | None = None
    """When it happened, as epoch seconds: the answer's arrival for a request, else the evidence's own time."""

    def __str__(self) -> str:
        return f"{self.request}: {self.detail}" if self.request else self.detail


@dataclass
class AuditReport:
    """What the audit found; every name in ``INVARIANTS`` must be 0."""

    attempts: int = 0
    logical_requests: int = 0
    created: int = 0
    duplicates: int = 0
    orders_in_table: int = 0
    messages: int = 0
    lost: int = 0
    wrong_total: int = 0
    duplicated: int = 0
    orphaned: int = 0
    unqueued: int = 0
    unrequested: int = 0
    stored_on_rejection: int = 0
    late: int = 0
    wrong_status: int = 0
    abandoned: int = 0
    left_in_queues: int = 0
    unknown: int = 0
    """Attempts of customers whose client record is incomplete (a vanished worker's): not judged."""
    unknown_orders: int = 0
    """Orders of those customers that no judged request accounts for: neither unrequested nor fine."""
    incomplete_workers: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    breaches: list[Breach] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """All invariants hold, over every client's complete record."""
        return all(getattr(self, name) == 0 for name in INVARIANTS) and not self.incomplete_workers

    @property
    def examples(self) -> dict[str, list[str]]:
        """The first few breaches of each invariant, as text."""
        kept: dict[str, list[str]] = defaultdict(list)
        for breach in self.breaches:
            if len(kept[breach.invariant]) < EXAMPLES_KEPT:
                kept[breach.invariant].append(str(breach))
        return dict(kept)

    def note(self, breach: Breach) -> None:
        """Count one breach and keep it."""
        setattr(self, breach.invariant, getattr(self, breach.invariant) + 1)
        self.breaches.append(breach)

    def as_json(self) -> dict[str, Any]:
        """The report as audit.json holds it: every count, the verdict, a few breaches per invariant."""
        document = asdict(self)
        kept: Counter[str] = Counter()
        document["breaches"] = []
        for breach in self.breaches:
            kept[breach.invariant] += 1
            if kept[breach.invariant] <= EXAMPLES_KEPT:
                document["breaches"].append(asdict(breach))
        document["examples"] = self.examples
        document["passed"] = self.passed
        return document

    def table(self) -> str:
        """The report as a small text table, each breach found listed with its request."""
        rows = [
            ("attempts sent", self.attempts),
            ("logical requests", self.logical_requests),
            ("201 created", self.created),
            ("409 duplicate/reuse", self.duplicates),
            ("orders in table", self.orders_in_table),
            ("messages received", self.messages),
            ("abandoned after retries", self.abandoned),
            ("left in queue or DLQ", self.left_in_queues),
            *((f"{name} (must be 0)", getattr(self, name)) for name in INVARIANTS),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value:>8}" for name, value in rows]
        lines.append("status mix: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())))
        if self.not_checked:
            lines.append("not checked (no view of the queue): " + ", ".join(self.not_checked))
        if self.incomplete_workers:
            lines.append(f"incomplete: {self.unknown} attempts and {self.unknown_orders} orders unknown, from:")
            lines.extend(f"  - {worker}" for worker in self.incomplete_workers)
        for invariant, examples in self.examples.items():
            shown = f"first {len(examples)} of {getattr(self, invariant)}"
            lines.append(f"{invariant} ({shown}):")
            lines.extend(f"  - {example}" for example in examples)
        lines.append(f"audit: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)


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


def scan_orders(table: str) -> list[dict[str, Any]]:
    """Every item of the orders table, deserialised (numbers as Decimal)."""
    deserialize = TypeDeserializer().deserialize
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend({k: deserialize(v) for k, v in item.items()} for item in page["Items"])
    return items


def read_messages(path: Path) -> list[dict[str, Any]]:
    """The consumer's record of received messages."""
    if not path.exists():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def leftover_messages(queue_url: str) -> list[dict[str, Any]]:
    """Messages still in a queue (not deleted: they stay for whoever looks next)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300)
        batch = response.get("Messages", [])
        if not batch:
            return found
        found.extend({"order_id": json.loads(m["Body"]).get("order_id"), "message_id": m["MessageId"]} for m in batch)


def audit_run(run_dir: Path, orders_table: str, queues: Sequence[str] = ()) -> AuditReport:
    """Audit a run folder (ledger/, messages.jsonl) against the table; writes audit.json.

    ``queues`` are read for messages nobody consumed (the processing queue and its DLQ).
    """
    folder = RunFolder(run_dir)
    left = [message for queue in queues for message in leftover_messages(queue)]
    messages = read_messages(folder.messages) + left
    report = audit_ledgers(folder.ledger_dir, scan_orders(orders_table), messages)
    report.left_in_queues = len(left)
    folder.audit.write_text(json.dumps(report.as_json(), indent=2))
    return report


def audit_ledgers(
    ledger_dir: Path,
    orders: list[dict[str, Any]],
    messages: list[dict[str, Any]] | None,
    attempts: list[dict[str, Any]] | None = None,
) -> AuditReport:
    """:func:`audit` over a ledger folder: one process's, or every worker's of a distributed run.

    ``attempts`` are the folder's ledgers when the caller has read them already
    (:func:`read_ledgers`); otherwise they are read here. A distributed run's roster names each
    worker and its customers; a worker whose ledger did not fully reach the master makes the
    audit incomplete (it fails, naming the worker), and its customers' requests are unknown
    rather than lost or fine.
    """
    roster = Roster.load(ledger_dir)
    incomplete = roster.incomplete if roster is not None else []
    unknown = frozenset(customer for entry in incomplete for customer in entry.customers)
    report = audit(read_ledgers(ledger_dir) if attempts is None else attempts, orders, messages, unknown)
    report.incomplete_workers = [
        f"worker {entry.index} ({entry.client_id}): {entry.lines} ledger lines arrived, "
        + ("it never sent its end" if entry.recorded is None else f"it recorded {entry.recorded}")
        for entry in incomplete
    ]
    return report


def audit_stage(run_dir: Path, physical: Mapping[str, str]) -> AuditReport:
    """The main job's audit of a local stage's run: its table, its consumer's record and both queues."""
    return audit_run(run_dir, physical["OrdersTable"], [physical["ProcessingQueue"], physical["ProcessingDLQ"]])


def parser() -> argparse.ArgumentParser:
    """The audit command's options: the stage file of a run whose stage is still up."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--stage-file", type=Path, required=True)
    return options


def main(argv: list[str] | None = None) -> int:
    """Audit a finished run against a stage that is still up (``--stage-file``), as the main job does."""
    args = parser().parse_args(argv)
    stage = json.loads(args.stage_file.read_text())
    os.environ.update(stage["aws_env"])
    report = audit_stage(args.stage_file.parent, stage["physical"])
    print(report.table())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
