"""Lambda's platform records for one function: what the platform writes beside each environment's own lines.

Into an environment's log: ``INIT_START`` when it starts, ``INIT_REPORT`` for an init that
failed or ran ahead of any request (provisioned concurrency, a SnapStart snapshot's),
``RESTORE_START`` and ``RESTORE_REPORT`` for an environment resumed from a SnapStart snapshot,
``START`` per invocation, and ``REPORT`` when an invocation ends, in the template's log format
(``harness.platform_log``).
Into the run's billing ledger: each REPORT's bill, one line per request id (``harness.billing``).

The worker pool (``localstage.workers``) decides what happened; this module only writes it down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from harness import platform_log
from harness.billing import Bill

if TYPE_CHECKING:
    from pathlib import Path

    from harness.platform_log import InitReport, Report, RestoreReport
    from localstage.function_config import FunctionConfig


@dataclass
class PlatformRecords:
    """The platform's writer for ``function``'s environments, and its ledger at ``billing`` (none when ``None``)."""

    function: FunctionConfig
    billing: Path | None = None
    _ledger: IO[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def init_start(self, log: IO[str], initialization_type: str, memory_mb: int) -> None:
        """An environment's ``INIT_START``: it is about to start."""
        function = self.function
        log.write(
            platform_log.init_start(
                function.log_format,
                function_name=function.name,
                runtime=function.runtime,
                memory_mb=memory_mb,
                initialization_type=initialization_type,
            )
        )

    def init_report(self, log: IO[str], report: InitReport) -> None:
        """An ``INIT_REPORT``: an init that failed, or one that belongs to no request."""
        log.write(platform_log.init_report(self.function.log_format, report))

    def restore_start(self, log: IO[str], memory_mb: int) -> None:
        """A restored environment's ``RESTORE_START``: it is about to be resumed from the snapshot."""
        function = self.function
        log.write(
            platform_log.restore_start(
                function.log_format, function_name=function.name, runtime=function.runtime, memory_mb=memory_mb
            )
        )

    def restore_report(self, log: IO[str], report: RestoreReport) -> None:
        """A ``RESTORE_REPORT``: the restore is over (its runtime asked for its first event), or it failed."""
        log.write(platform_log.restore_report(self.function.log_format, report))

    def start(self, log: IO[str], request_id: str) -> None:
        """An invocation's ``START``."""
        log.write(platform_log.start(self.function.log_format, request_id, self.function.arn))

    def report(self, log: IO[str], entry: Report) -> None:
        """An invocation's ``REPORT``, and its bill in the ledger."""
        log.write(platform_log.report(self.function.log_format, entry))
        if self.billing is None:
            return
        with self._lock:
            if self._ledger is None:
                self._ledger = self.billing.open("a", buffering=1)
            self._ledger.write(Bill.of(entry).line())

    def close(self) -> None:
        """Close the ledger (a later bill opens it again)."""
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None
