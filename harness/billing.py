"""The run's billing ledger: what Lambda bills each request for, one JSON line per request id.

Written by the local stage as each invocation ends (``localstage/workers.py``, beside the
REPORT line it is read from); read by a cost report (:func:`read_bills`). The figures are
Lambda's own (:mod:`harness.platform_log`): the billed milliseconds, a cold start's billed init
included, and the GB-seconds they make at the function's memory size.

Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from harness.platform_log import Report


@dataclass(frozen=True)
class Bill:
    """One request's Lambda duration charge."""

    request_id: str
    billed_ms: int
    """The REPORT's ``Billed Duration``: a cold start's init included where Lambda bills it."""
    memory_mb: int
    gb_seconds: float
    init_billed: bool = False
    """Whether ``billed_ms`` includes an init (an on-demand cold start)."""

    @classmethod
    def of(cls, report: Report) -> Bill:
        """The bill of the invocation ``report`` reports."""
        return cls(
            request_id=report.request_id,
            billed_ms=report.billed_ms,
            memory_mb=report.memory_mb,
            gb_seconds=round(report.gb_seconds, 9),
            init_billed=report.init_ms is not None,
        )

    def line(self) -> str:
        """The bill as the ledger holds it: one JSON line."""
        # Its fields are scalars: vars() is asdict() without the deep copy, written for every REPORT.
        return json.dumps(vars(self), separators=(",", ":")) + "\n"


def read_bills(path: Path) -> list[Bill]:
    """Every bill in the ledger ``path``, in the order written (none when there is no ledger)."""
    if not path.exists():
        return []
    return [Bill(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
