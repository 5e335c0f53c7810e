"""The post-run audit: the client's ledger against the orders table and the queue's messages.

It proves the invariants of DESIGN.md §3 request by request and prints lost, duplicated and
orphaned counts (and the rest); any non-zero count fails the run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from loadtests.ledger import read_ledgers

if TYPE_CHECKING:
    from collections.abc import Sequence

API_GATEWAY_LIMIT_MS = 29_000
_FUNCTION_DIR = Path(__file__).resolve().parents[1] / "function"
# Counts that must be zero for the run to pass.
INVARIANTS = (
    "lost",
    "wrong_total",
    "duplicated",
    "orphaned",
    "unqueued",
    "stored_on_rejection",
    "late",
    "wrong_status",
)


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
    stored_on_rejection: int = 0
    late: int = 0
    wrong_status: int = 0
    abandoned: int = 0
    left_in_queues: int = 0
    not_checked: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """All invariants hold."""
        return all(getattr(self, name) == 0 for name in INVARIANTS)

    def note(self, invariant: str, example: str) -> None:
        """Count one breach and keep a few examples of it."""
        setattr(self, invariant, getattr(self, invariant) + 1)
        self.examples.setdefault(invariant, [])
        if len(self.examples[invariant]) < 5:
            self.examples[invariant].append(example)

    def table(self) -> str:
        """The report as a small text table."""
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
        lines.append(f"audit: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)


def derived_order_id(customer_id: str, key: str) -> str:
    """The id the function gives an order with this key (its own code, so the two never drift)."""
    if str(_FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(_FUNCTION_DIR))
    from create_order.logic import order_id_for  # noqa: PLC0415 - the Lambda package, found on its own path

    return order_id_for(customer_id, key)


def audit(
    attempts: list[dict[str, Any]], orders: list[dict[str, Any]], messages: list[dict[str, Any]] | None
) -> AuditReport:
    """Check every invariant over one run's records.

    ``messages=None`` means the queue could not be observed (a deployed stage has its own
    consumers): the checks that need it are skipped and named in ``not_checked``.
    """
    report = AuditReport(attempts=len(attempts), orders_in_table=len(orders), messages=len(messages or []))
    report.statuses = dict(Counter(str(a["status"]) for a in attempts))
    by_id = {order["id"]: order for order in orders}
    if messages is None:
        report.not_checked = ["unqueued (invariants 2 and 4)", "orphaned (invariant 2)"]
        # Every order counts as queued, so only the table-side checks can fail.
        queued: Counter[str] = Counter(dict.fromkeys(by_id, 1))
    else:
        queued = Counter(message["order_id"] for message in messages)
    _check_responses(report, attempts, by_id, queued)
    _check_table_and_queue(report, orders, by_id, queued)
    _check_logical_requests(report, attempts, by_id, queued)
    return report


def _check_responses(
    report: AuditReport, attempts: list[dict[str, Any]], by_id: dict[str, Any], queued: Counter[str]
) -> None:
    """Invariants 1, 2 and 5 from each response the client received."""
    created_per_key: Counter[tuple[str, str]] = Counter()
    for attempt in attempts:
        if attempt["latency_ms"] >= API_GATEWAY_LIMIT_MS:
            report.note("late", f"{attempt['op']} {attempt['key']} took {attempt['latency_ms']} ms")
        if attempt["final"] and not attempt["ok"] and attempt["op"] in ("bad", "intrude"):
            expected, got = attempt["expected"], attempt["status"]
            report.note("wrong_status", f"{attempt['name']}: expected {expected}, got {got}")
        if attempt["status"] == 201:
            report.created += 1
            created_per_key[(attempt["customer_id"], attempt["key"])] += 1
        elif attempt["status"] == 409:
            report.duplicates += 1
        if attempt["status"] not in (201, 409) or not attempt["order_id"]:
            continue
        order = by_id.get(attempt["order_id"])
        if order is None:
            report.note("lost", f"{attempt['status']} order {attempt['order_id']} is not in the table")
        elif attempt["total"] is not None and Decimal(attempt["total"]) != order["total"]:
            report.note("wrong_total", f"order {order['id']}: shown {attempt['total']}, stored {order['total']}")
        if attempt["status"] == 201 and queued[attempt["order_id"]] == 0:
            report.note("unqueued", f"201 order {attempt['order_id']} has no message")
    for (customer_id, key), count in created_per_key.items():
        if key is not None and count > 1:
            report.note("duplicated", f"{count} x 201 for {customer_id} / {key}")


def _check_table_and_queue(
    report: AuditReport, orders: list[dict[str, Any]], by_id: dict[str, Any], queued: Counter[str]
) -> None:
    """Invariants 2 and 3 from the table and the queue themselves."""
    per_key = Counter((o["customer_id"], o["idempotency_key"]) for o in orders if o.get("idempotency_key"))
    for (customer_id, key), count in per_key.items():
        if count > 1:
            report.note("duplicated", f"{count} orders for {customer_id} / {key}")
    for order_id in queued:
        if order_id not in by_id:
            report.note("orphaned", f"message names order {order_id}, which is not in the table")


def _check_logical_requests(
    report: AuditReport, attempts: list[dict[str, Any]], by_id: dict[str, Any], queued: Counter[str]
) -> None:
    """Invariant 4, and nothing stored for a rejected request, per (customer, key)."""
    logical: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for attempt in attempts:
        if attempt["key"] is not None:
            logical[(attempt["op"], attempt["customer_id"], attempt["key"])].append(attempt)
    report.logical_requests = len(logical)
    for (op, customer_id, key), tries in logical.items():
        statuses = {t["status"] for t in tries if t["final"]}
        order_id = derived_order_id(customer_id, key)
        stored = order_id in by_id
        if op in ("bad", "intrude"):
            if stored:
                report.note("stored_on_rejection", f"{op} request {key} left order {order_id}")
        elif stored and queued[order_id] == 0:
            if statuses & {201, 409}:
                report.note("unqueued", f"order {order_id} ({customer_id} / {key}) has no message")
            else:
                report.abandoned += 1


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
        for message in batch:
            body = json.loads(message["Body"], parse_float=Decimal)
            found.append({"order_id": body.get("order_id"), "message_id": message["MessageId"], "source": queue_url})


def audit_run(run_dir: Path, orders_table: str, queues: Sequence[str] = ()) -> AuditReport:
    """Audit a run folder (ledger/, messages.jsonl) against the table; writes audit.json.

    ``queues`` are read for messages nobody consumed (the processing queue and its DLQ).
    """
    left = [message for queue in queues for message in leftover_messages(queue)]
    messages = read_messages(run_dir / "messages.jsonl") + left
    report = audit(read_ledgers(run_dir / "ledger"), scan_orders(orders_table), messages)
    report.left_in_queues = len(left)
    (run_dir / "audit.json").write_text(json.dumps({**asdict(report), "passed": report.passed}, indent=2))
    return report


def main() -> int:
    """Audit a finished run against a stage that is still up (``--stage-file``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage-file", type=Path, required=True)
    args = parser.parse_args()
    stage = json.loads(args.stage_file.read_text())
    import os  # noqa: PLC0415

    os.environ.update(stage["aws_env"])
    report = audit_run(args.stage_file.parent, stage["physical"]["OrdersTable"])
    print(report.table())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
