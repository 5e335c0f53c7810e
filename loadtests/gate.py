"""The SLO gate's verdict: the valid traffic's figures in Locust against the endpoint's objectives.

A pure function of four numbers, so that every way it can fail is shown failing in tests; the
``quitting`` listener (``loadtests/listeners.py``) feeds it Locust's statistics and sets the
exit code from it. ``likely_cause`` reads a failed verdict beside the host's load over the run
(``loadtests.host``): the gate is as strict on a busy machine as on an idle one, and the cause
says which it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from loadtests.host import LOCUST, OTHER, STAGE

if TYPE_CHECKING:
    from loadtests.host import HostLoad

OUTSIDE_SHARE = 0.2
"""A saturated machine is blamed on processes outside the run when they took this share of its busy time."""


@dataclass(frozen=True)
class SloVerdict:
    """The valid traffic (``name``) against the p95 objective and the error budget."""

    name: str
    requests: int
    p95_ms: float
    error_ratio: float
    p95_objective_ms: float
    error_budget: float

    @property
    def failures(self) -> list[str]:
        """Each objective missed, in words; empty when the run met them all."""
        missed = []
        if self.requests == 0:
            missed.append(f"no '{self.name}' request was made, so no objective can be judged")
        if self.p95_ms > self.p95_objective_ms:
            missed.append(f"p95 {self.p95_ms:.0f} ms is over the {self.p95_objective_ms:.0f} ms objective")
        if self.error_ratio > self.error_budget:
            missed.append(f"error ratio {self.error_ratio:.2%} is over the {self.error_budget:.2%} budget")
        return missed

    @property
    def passed(self) -> bool:
        """Every objective met."""
        return not self.failures

    def line(self) -> str:
        """One line: the figures beside their objectives, the verdict, and what failed."""
        figures = (
            f"SLO {self.name}: p95 {self.p95_ms:.0f} ms (<= {self.p95_objective_ms:.0f}), "
            f"errors {self.error_ratio:.2%} (<= {self.error_budget:.2%}) over {self.requests} requests"
        )
        return f"{figures} -> PASS" if self.passed else f"{figures} -> FAIL: " + "; ".join(self.failures)

    def as_json(self) -> dict[str, Any]:
        """The verdict's figures (as ``from_json`` reads them back), its outcome and its line."""
        return {**asdict(self), "passed": self.passed, "line": self.line()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SloVerdict:
        """The verdict ``as_json`` wrote."""
        return cls(**{name: document[name] for name in cls.__dataclass_fields__})


def likely_cause(verdict: SloVerdict, host: HostLoad, cold_starts: int) -> str | None:
    """One line naming what most likely failed a verdict: the machine, the run's own load, or the function/stage.

    - a machine saturated (``loadtests.host.SATURATED`` of its cores busy) with processes outside
      the run taking ``OUTSIDE_SHARE`` of its busy time or more: the machine;
    - a machine saturated by the run itself (the stage and Locust): more load than its cores carry;
    - a machine with cores to spare: the function or the stage.

    Args:
        verdict: the SLO gate's verdict.
        host: the host's load over the run.
        cold_starts: execution environments started in the SLO window (while Locust ran).

    Returns:
        The line, or None when the verdict passed.
    """
    if verdict.passed:
        return None
    busy = f"{host.busy_cores:.2f} of {host.cores} cores busy"
    outside = f"{host.share(OTHER):.0%} outside the {STAGE} and {LOCUST}"
    if host.saturated and host.share(OTHER) >= OUTSIDE_SHARE:
        return f"the machine was saturated: {busy}, {outside} -- rerun idle or with fewer users"
    if host.saturated:
        return (f"the run saturated the machine itself: {busy}, the {STAGE} {host.share(STAGE):.0%}, "
                f"{LOCUST} {host.share(LOCUST):.0%}, {outside} -- more load than these cores carry: "
                "rerun with fewer users or on more cores")  # fmt: skip
    return (f"not the machine ({busy}, {outside}): the function or the {STAGE} -- {cold_starts} cold starts "
            "in the SLO window; see the workers' REPORT lines and logs")  # fmt: skip
