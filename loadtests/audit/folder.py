"""A run folder audited: its ledgers (and a distributed run's roster) judged against the evidence.

The folder's layout is ``harness.runfolder``'s; the report is written back to it as audit.json.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from harness.runfolder import RunFolder
from loadtests.audit.evidence import leftover_messages, read_messages, scan_orders
from loadtests.audit.judge import audit
from loadtests.ledger import read_ledgers
from loadtests.roster import Roster

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from loadtests.audit.report import AuditReport


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
