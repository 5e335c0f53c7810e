"""The per-phase report of a chaos run and its verdict, counted on the faults' own clock.

Every time here is seconds from the plan's zero, the one moment the injectors' windows, the
network schedule and this report count from. A request is counted in the phase in which it met
its last injected fault (the injector's own timestamp, journaled with the request's id); a
request that met none, or only a network fault (the proxies cannot tell one request from
another), in the phase in which its answer came. So a fault's effect is never counted before
its window: measured by the time requests were *sent*, a request sent at 19.7 s that met the
throttling starting at 20 s was counted in "steady". The verdict fails when any phase (or a
moment outside every phase) holds a breach of an invariant, and names it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from chaos.plan import FaultPlan

ERROR_STATUSES = (0, 429)  # plus every 5xx
ROLLING_S = 5.0


class Breach(Protocol):
    """A broken invariant as the audit reports it (``loadtests.audit.report.Breach``)."""

    @property
    def invariant(self) -> str:
        """The invariant broken."""

    @property
    def request_id(self) -> str | None:
        """The request it concerns, if any."""

    @property
    def ts(self) -> float | None:
        """When it happened, as epoch seconds."""


@dataclass
class PhaseReport:
    """What the clients saw during one phase, and the invariants broken in it."""

    name: str
    start_s: float
    end_s: float
    requests: int
    statuses: dict[str, int]
    p95_ms: float
    retries: int
    error_ratio: float
    recovered_after_s: float | None  # after the faults stop: until the error rate is back to steady
    faulted: int = 0
    """Requests that met an injected fault in this phase (the injectors' journal)."""
    breaches: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultClock:
    """Places requests and breaches on the plan's time line (seconds from its zero)."""

    zero: float
    last_fault: Mapping[str, float]
    """Per request id, when the last fault it met was injected (epoch seconds)."""

    @classmethod
    def from_journal(cls, zero: float, faults: Iterable[Mapping[str, Any]]) -> FaultClock:
        """The clock of a run whose injectors journaled ``faults`` (each with ``ts`` and ``request_id``)."""
        last: dict[str, float] = {}
        for fault in faults:
            request_id = fault.get("request_id")
            if request_id:
                last[request_id] = max(last.get(request_id, fault["ts"]), fault["ts"])
        return cls(zero, last)

    def met_fault(self, request_id: str | None) -> bool:
        """The request met an injected fault."""
        return request_id is not None and request_id in self.last_fault

    def attempt(self, attempt: Mapping[str, Any]) -> float:
        """When an attempt counts: at its last fault, else when its answer came."""
        request_id = attempt.get("request_id")
        if request_id is not None and request_id in self.last_fault:
            return self.last_fault[request_id] - self.zero
        return float(attempt["ts"]) + float(attempt["latency_ms"]) / 1000 - self.zero

    def breach(self, breach: Breach) -> float | None:
        """When a breach counts: at its request's last fault, else at its own time (None: unknown)."""
        if breach.request_id is not None and breach.request_id in self.last_fault:
            return self.last_fault[breach.request_id] - self.zero
        return None if breach.ts is None else breach.ts - self.zero


@dataclass
class ChaosReport:
    """One report per phase, the breaches no phase holds, and the verdict."""

    phases: list[PhaseReport]
    outside: dict[str, int] = field(default_factory=dict)
    """Breaches at a moment outside every phase, or with no time at all."""

    @property
    def failures(self) -> list[str]:
        """Each phase that broke an invariant, in words."""
        missed = [
            f"phase '{p.name}' ({p.start_s:.0f}-{p.end_s:.0f} s) broke {_counts(p.breaches)}"
            for p in self.phases
            if p.breaches
        ]
        if self.outside:
            missed.append(f"outside the plan's phases: {_counts(self.outside)}")
        return missed

    @property
    def passed(self) -> bool:
        """No phase broke an invariant."""
        return not self.failures

    def verdict(self) -> str:
        """One line: PASS, or FAIL and where."""
        return "chaos: PASS" if self.passed else "chaos: FAIL: " + "; ".join(self.failures)

    def table(self) -> str:
        """The phases as a text table, then the verdict."""
        header = f"{'phase':<20} {'window':>9} {'requests':>8} {'faulted':>7} {'errors':>7} {'p95 ms':>7}"
        lines = [f"{header} {'retries':>7} {'recovered':>9}  statuses; breaches"]
        for r in self.phases:
            recovered = "-" if r.recovered_after_s is None else f"{r.recovered_after_s:.0f} s"
            mix = ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items()))
            broken = f"; {_counts(r.breaches)}" if r.breaches else ""
            lines.append(
                f"{r.name:<20} {r.start_s:>3.0f}-{r.end_s:<3.0f} s {r.requests:>8} {r.faulted:>7} "
                f"{r.error_ratio:>7.1%} {r.p95_ms:>7.0f} {r.retries:>7} {recovered:>9}  {mix}{broken}"
            )
        lines.append(self.verdict())
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The report, JSON-ready (chaos.json)."""
        return {
            "phases": [asdict(r) for r in self.phases],
            "outside": self.outside,
            "passed": self.passed,
            "failures": self.failures,
        }


def chaos_report(
    attempts: list[dict[str, Any]],
    plan: FaultPlan,
    clock: FaultClock,
    breaches: Sequence[Breach] = (),
) -> ChaosReport:
    """One report per phase of ``plan`` over the valid traffic (customers' orders), and the audit's breaches."""
    orders = sorted(((clock.attempt(a), a) for a in attempts if a["op"] == "create"), key=lambda pair: pair[0])
    placed = [(clock.breach(b), b) for b in breaches]
    reports = []
    steady_ratio = 0.0
    faulted = [_faulted(plan, phase) for phase in plan.phases]
    held: set[int] = set()
    for index, phase in enumerate(plan.phases):
        start, end = float(phase["start_s"]), float(phase["end_s"])
        # Recovery is measured when the faults stop: after the last of consecutive fault phases.
        ends_faults = faulted[index] and (index + 1 == len(faulted) or not faulted[index + 1])
        inside = [a for t, a in orders if start <= t < end]
        errors = sum(_is_error(a["status"]) for a in inside)
        ratio = errors / len(inside) if inside else 0.0
        if index == 0:
            steady_ratio = ratio
        here = [n for n, (t, _) in enumerate(placed) if t is not None and start <= t < end]
        held.update(here)
        reports.append(
            PhaseReport(
                name=phase["name"],
                start_s=start,
                end_s=end,
                requests=len(inside),
                statuses=dict(Counter(str(a["status"]) for a in inside)),
                p95_ms=_p95([a["latency_ms"] for a in inside]),
                retries=sum(a["attempt"] > 1 for a in inside),
                error_ratio=round(ratio, 4),
                recovered_after_s=_recovery(orders, end, steady_ratio) if ends_faults else None,
                faulted=sum(clock.met_fault(a.get("request_id")) for a in inside),
                breaches=dict(Counter(placed[n][1].invariant for n in here)),
            )
        )
    outside = Counter(b.invariant for n, (_, b) in enumerate(placed) if n not in held)
    return ChaosReport(reports, dict(outside))


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def _is_error(status: int) -> bool:
    return status in ERROR_STATUSES or status >= 500


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    # The 95th percentile by rank; 0.95 n < n, so the index is always inside the list.
    return sorted(values)[int(0.95 * len(values))]


def _faulted(plan: FaultPlan, phase: dict[str, Any]) -> bool:
    start, end = float(phase["start_s"]), float(phase["end_s"])
    return any(window_start < end and window_end > start for window_start, window_end in plan.windows())


def _recovery(orders: list[tuple[float, dict[str, Any]]], fault_end: float, steady: float) -> float | None:
    # The first second after the phase at which the errors of the following ROLLING_S seconds
    # are no worse than in the steady phase (plus one percentage point).
    last = max((t for t, _ in orders), default=fault_end)
    second = fault_end
    while second + ROLLING_S <= last + 1:
        window = [a for t, a in orders if second <= t < second + ROLLING_S]
        if window and sum(_is_error(a["status"]) for a in window) / len(window) <= steady + 0.01:
            return round(second - fault_end, 1)
        second += 1.0
    return None
