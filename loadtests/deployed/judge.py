"""The audit of a run from its saved ledgers, against the stack's orders table, now or later."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loadtests.audit.evidence import scan_orders
from loadtests.audit.folder import audit_ledgers
from loadtests.audit.judge import orders_of_run
from loadtests.deployed.errors import DeployedInputError
from loadtests.ledger import read_ledgers

if TYPE_CHECKING:
    from loadtests.audit.report import AuditReport
    from loadtests.deployed.runs import RunFolder


def audit_saved(folder: RunFolder, orders_table: str) -> AuditReport:
    """Judge the run's ledgers against the orders the run can have created; writes audit.json.

    A deployed queue has its own consumers, so the checks that need the queue are reported as
    not made. A distributed run's roster is honoured: a worker whose ledger did not arrive whole
    fails the audit by name.
    """
    attempts = read_ledgers(folder.ledger_dir)
    if not attempts:
        raise DeployedInputError(f"no saved ledgers in {folder.ledger_dir} (run {folder.run_id} sent nothing)")
    report = audit_ledgers(folder.ledger_dir, orders_of_run(scan_orders(orders_table), attempts), None, attempts)
    folder.audit.write_text(json.dumps(report.as_json(), indent=2))
    return report
