"""What the audit found: each breach, every count, the verdict, and the two forms it is read in.

``AuditReport.as_json`` is audit.json (the run's dashboard and a later reader take it from
there); ``AuditReport.table`` is the text printed at the end of a run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

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
