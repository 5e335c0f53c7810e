"""Locust's distributed mode for the harness: who logs in as whom, and every ledger at the master.

Master and workers may run on separate hosts; nothing but Locust's own message channel joins
them. When a worker connects, the master sends it what it needs to play its part (the stage's
customers, app client, catalog and SDK settings) restricted to its own slice of the customers,
chosen by Locust's worker index, so no two workers log in as the same customer. Each worker
ships its ledger lines with its stats reports as it goes, and the rest when the master, stopping,
asks for them; the master writes one ledger file per worker and a roster (``workers.json``):
each worker's customers, the lines that arrived, and whether its ledger is complete. A worker
that vanished leaves an incomplete entry, which the audit names (its customers' requests are
counted as unknown).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from locust.runners import STATE_MISSING

from harness.runfolder import LedgerFolder
from loadtests.ledger import Ledger, append_lines
from loadtests.roster import Roster, WorkerEntry, customer_slice

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from locust.env import Environment
    from locust.runners import MasterRunner, WorkerRunner

HELLO = "create-order:hello"
"""Worker to master: send me my part (repeated until it comes: either side may be listening late)."""
HARNESS = "create-order:harness"
"""Master to worker: the worker's part (its customers, the app client, catalog, SDK settings)."""
HELLO_EVERY_S = 1.0
HELLO_FOR_S = 120.0
FLUSH = "create-order:flush-ledger"
"""Master to worker: stop your users and send the rest of your ledger."""
END = "create-order:ledger-end"
"""Worker to master: the last ledger lines and how many the worker recorded in all."""
REPORT_KEY = "create_order_ledger"
"""Where a worker's stats report carries its new ledger lines."""
FLUSH_GRACE_S = 30.0
"""How long past the stop timeout the master waits for the workers' last lines."""


class LedgerCollector:
    """The master's side: hands out parts, writes the workers' ledgers, waits for their ends."""

    def __init__(self, environment: Environment, directory: Path, part: dict[str, Any], workers: int) -> None:
        self.environment = environment
        self.runner: MasterRunner = environment.runner  # type: ignore[assignment]
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.part = part
        self.roster = Roster(workers)
        self.roster.save(directory)
        environment.events.worker_report.add_listener(self._report)
        environment.events.test_stop.add_listener(self._collect)
        self.runner.register_message(HELLO, self._hello)
        self.runner.register_message(END, self._end)

    def _entry(self, client_id: str) -> WorkerEntry | None:
        return self.roster.workers.get(self.runner.get_worker_index(client_id))

    def _hello(self, environment: Environment, msg: Any, **_: Any) -> None:
        client_id = msg.node_id
        index = self.runner.get_worker_index(client_id)
        mine = customer_slice(self.part["customers"], index, self.roster.expected)
        if index not in self.roster.workers:
            self.roster.workers[index] = WorkerEntry(index, client_id, [c["customer_id"] for c in mine])
            self.roster.save(self.directory)
        self.runner.send_message(HARNESS, {**self.part, "customers": mine, "index": index}, client_id)

    def _append(self, client_id: str, lines: list[str]) -> WorkerEntry | None:
        entry = self._entry(client_id)
        if entry is not None and lines:
            append_lines(LedgerFolder(self.directory).worker_ledger(entry.index), lines)
            entry.lines += len(lines)
        return entry

    def _report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        self._append(client_id, data.get(REPORT_KEY) or [])

    def _end(self, environment: Environment, msg: Any, **_: Any) -> None:
        entry = self._append(msg.node_id, msg.data["lines"])
        if entry is not None:
            entry.recorded = int(msg.data["recorded"])
            self.roster.save(self.directory)

    def _awaited(self) -> list[WorkerEntry]:
        """Incomplete workers still connected and alive: their ends may still come."""
        alive = {client.id for client in self.runner.clients.all if client.state != STATE_MISSING}
        return [entry for entry in self.roster.incomplete if entry.client_id in alive]

    def _collect(self, **_: Any) -> None:
        for entry in self._awaited():
            self.runner.send_message(FLUSH, None, entry.client_id)
        deadline = time.monotonic() + (self.environment.stop_timeout or 0) + FLUSH_GRACE_S
        while self._awaited() and time.monotonic() < deadline:
            gevent.sleep(0.2)
        self.roster.save(self.directory)


class LedgerShipper:
    """A worker's side: takes its part from the master, ships its ledger lines there."""

    def __init__(self, environment: Environment, take_part: Callable[[dict[str, Any]], Ledger]) -> None:
        self.environment = environment
        self.runner: WorkerRunner = environment.runner  # type: ignore[assignment]
        self.take_part = take_part
        self.ledger: Ledger | None = None
        self.has_part = gevent.event.Event()
        self.runner.register_message(HARNESS, self._harness)
        self.runner.register_message(FLUSH, self._flush, concurrent=True)
        environment.events.report_to_master.add_listener(self._report)
        gevent.spawn(self._ask)

    def _ask(self) -> None:
        deadline = time.monotonic() + HELLO_FOR_S
        while not self.has_part.is_set() and time.monotonic() < deadline:
            self.runner.send_message(HELLO)
            self.has_part.wait(HELLO_EVERY_S)

    def _harness(self, environment: Environment, msg: Any, **_: Any) -> None:
        if self.ledger is None:  # the same part again (an answer to a repeated hello): keep the first
            self.ledger = self.take_part(msg.data)
            self.has_part.set()

    def _report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if self.ledger is not None:
            lines = self.ledger.take()
            if lines:
                data[REPORT_KEY] = lines

    def _flush(self, environment: Environment, msg: Any, **_: Any) -> None:
        self.runner.stop()  # no request after the end: the users finish (stop timeout) first
        ledger = self.ledger
        lines = ledger.take() if ledger is not None else []
        recorded = ledger.recorded if ledger is not None else 0
        self.runner.send_message(END, {"lines": lines, "recorded": recorded})
