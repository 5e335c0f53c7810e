"""The client's own record of every request sent and every response received.

One JSON line per attempt, one file per Locust process (so distributed workers never share
a file). The audit reads these files back and checks them against the table and the queue.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from harness.runfolder import LedgerFolder

if TYPE_CHECKING:
    from pathlib import Path


STOPPED = "stopped before its answer"
"""The error of an attempt whose user Locust stopped mid-request: sent or not, its answer unknown.

The audit counts its key (an order it may have stored is accounted for) and judges no status of it.
"""


def transient(status: int) -> bool:
    """The client's retry rule: no answer (0), a throttle (429) or a server error is tried again with the same key.

    The Locust users retry by it, and the audit judges them by it.
    """
    return status in {0, 429} or status >= 500


@dataclass
class Attempt:
    """One request as the client saw it."""

    op: str  # create | duplicate | bad | intrude
    name: str  # what was tried, e.g. "valid order", "quantity 0"
    customer_id: str | None
    key: str | None
    attempt: int
    status: int  # 0: no HTTP response (connection error, timeout)
    expected: list[int]
    latency_ms: float
    order_id: str | None = None
    total: str | None = None
    problem_type: str | None = None
    error: str | None = None
    final: bool = True
    ts: float = field(default_factory=time.time)
    """When the request was sent (epoch seconds); the answer came ``latency_ms`` later."""
    request_id: str | None = None
    """API Gateway's id for the request (``x-amzn-RequestId``): the function logs it too."""

    @property
    def ok(self) -> bool:
        """The response was one of the expected statuses."""
        return self.status in self.expected


class Ledger:
    """Appends attempts to this process's file in ``directory`` (``LedgerFolder.process_ledger``).

    With ``shipping``, every line is also kept until :meth:`take` hands it on (a distributed
    worker sends its lines to the master; the file stays on the worker's host).
    """

    def __init__(self, directory: Path, *, shipping: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = LedgerFolder(directory).process_ledger(os.getpid())
        self._file = self.path.open("a", buffering=1)
        self._lock = threading.Lock()
        self._shipping = shipping
        self._unshipped: list[str] = []
        self.recorded = 0

    def record(self, attempt: Attempt) -> None:
        """Write one attempt (and flush it: a crash must not lose the record)."""
        line = json.dumps({**asdict(attempt), "ok": attempt.ok}, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self.recorded += 1
            if self._shipping:
                self._unshipped.append(line)

    def take(self) -> list[str]:
        """The lines recorded since the last call (shipping ledgers only)."""
        with self._lock:
            taken, self._unshipped = self._unshipped, []
        return taken

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def append_lines(path: Path, lines: list[str]) -> None:
    """Append ledger lines received from elsewhere (a worker's, at the master)."""
    with path.open("a") as ledger:
        ledger.writelines(line + "\n" for line in lines)


def read_ledgers(directory: Path) -> list[dict[str, Any]]:
    """Every attempt recorded under ``directory``, from all processes."""
    attempts: list[dict[str, Any]] = []
    for path in LedgerFolder(directory).ledgers():
        with path.open() as lines:
            attempts.extend(json.loads(line) for line in lines if line.strip())
    return attempts
