"""The roster of a distributed run: which worker played which customers, and whose ledger arrived.

Standard library only: the audit reads it in processes that must not import Locust (which
patches the standard library for gevent when imported).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, TypeVar

from harness.runfolder import LedgerFolder

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

T = TypeVar("T")


def customer_slice(customers: Sequence[T], index: int, workers: int) -> list[T]:
    """Worker ``index``'s own customers: every ``workers``-th one, starting at its index.

    Disjoint for indexes ``0 .. workers-1``; a later index (a worker that joined as another
    left) takes the slice of ``index % workers``.
    """
    if workers < 1 or not customers:
        raise ValueError(f"cannot share {len(customers)} customers among {workers} workers")
    mine = list(customers[index % workers :: workers])
    return mine or [customers[index % len(customers)]]  # more workers than customers: shared


@dataclass
class WorkerEntry:
    """One worker as the master saw it."""

    index: int
    client_id: str
    customers: list[str]
    lines: int = 0
    recorded: int | None = None
    """How many lines the worker says it recorded (known once it has sent its end)."""

    @property
    def complete(self) -> bool:
        """Every line the worker recorded reached the master."""
        return self.recorded is not None and self.recorded == self.lines


@dataclass
class Roster:
    """The workers of one run (``workers.json`` beside their ledgers)."""

    expected: int
    workers: dict[int, WorkerEntry] = field(default_factory=dict)

    @property
    def incomplete(self) -> list[WorkerEntry]:
        """Workers whose ledger did not fully arrive."""
        return [entry for _, entry in sorted(self.workers.items()) if not entry.complete]

    def save(self, directory: Path) -> None:
        """Write the roster."""
        document = {"expected": self.expected, "workers": [asdict(e) for _, e in sorted(self.workers.items())]}
        LedgerFolder(directory).roster.write_text(json.dumps(document, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Roster | None:
        """The roster of a distributed run's ledger folder; ``None`` for a run of one process."""
        path = LedgerFolder(directory).roster
        if not path.exists():
            return None
        document = json.loads(path.read_text())
        workers = {entry["index"]: WorkerEntry(**entry) for entry in document["workers"]}
        return cls(int(document["expected"]), workers)
