"""The SLO gate's verdict: the valid traffic's figures in Locust against the endpoint's objectives.

A pure function of four numbers, so that every way it can fail is shown failing in tests; the
locustfile's ``quitting`` listener feeds it Locust's statistics and sets the exit code from it.
"""

from __future__ import annotations

from dataclasses import dataclass


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
