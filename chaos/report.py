"""The per-phase report of a chaos run, from the client's ledger."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.plan import FaultPlan

ERROR_STATUSES = (0, 429)  # plus every 5xx
ROLLING_S = 5.0


@dataclass
class PhaseReport:
    """What the clients saw during one phase."""

    name: str
    start_s: float
    end_s: float
    requests: int
    statuses: dict[str, int]
    p95_ms: float
    retries: int
    error_ratio: float
    recovered_after_s: float | None  # after the faults stop: until the error rate is back to steady


def _is_error(status: int) -> bool:
    return status in ERROR_STATUSES or status >= 500


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def phase_reports(attempts: list[dict[str, Any]], plan: FaultPlan, started_at: float) -> list[PhaseReport]:
    """One report per phase of ``plan`` over the valid traffic (customers' orders)."""
    orders = [a for a in attempts if a["op"] == "create"]
    reports = []
    steady_ratio = 0.0
    faulted = [_faulted(plan, phase) for phase in plan.phases]
    for index, phase in enumerate(plan.phases):
        start, end = float(phase["start_s"]), float(phase["end_s"])
        # Recovery is measured when the faults stop: after the last of consecutive fault phases.
        ends_faults = faulted[index] and (index + 1 == len(faulted) or not faulted[index + 1])
        inside = [a for a in orders if start <= a["ts"] - started_at < end]
        errors = sum(_is_error(a["status"]) for a in inside)
        ratio = errors / len(inside) if inside else 0.0
        if index == 0:
            steady_ratio = ratio
        recovered = _recovery(orders, started_at, end, steady_ratio) if ends_faults else None
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
                recovered_after_s=recovered,
            )
        )
    return reports


def _faulted(plan: FaultPlan, phase: dict[str, Any]) -> bool:
    start, end = float(phase["start_s"]), float(phase["end_s"])
    return any(window_start < end and window_end > start for window_start, window_end in plan.windows())


def _recovery(orders: list[dict[str, Any]], started_at: float, fault_end: float, steady: float) -> float | None:
    # The first second after the phase at which the errors of the following ROLLING_S seconds
    # are no worse than in the steady phase (plus one percentage point).
    last = max((a["ts"] - started_at for a in orders), default=fault_end)
    second = fault_end
    while second + ROLLING_S <= last + 1:
        window = [a for a in orders if second <= a["ts"] - started_at < second + ROLLING_S]
        if window and sum(_is_error(a["status"]) for a in window) / len(window) <= steady + 0.01:
            return round(second - fault_end, 1)
        second += 1.0
    return None


def table(reports: list[PhaseReport]) -> str:
    """The reports as a text table."""
    header = f"{'phase':<20} {'window':>9} {'requests':>8} {'errors':>7} {'p95 ms':>7} {'retries':>7}"
    lines = [f"{header} {'recovered':>9}  statuses"]
    for r in reports:
        recovered = "-" if r.recovered_after_s is None else f"{r.recovered_after_s:.0f} s"
        mix = ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items()))
        lines.append(
            f"{r.name:<20} {r.start_s:>3.0f}-{r.end_s:<3.0f} s {r.requests:>8} {r.error_ratio:>7.1%} "
            f"{r.p95_ms:>7.0f} {r.retries:>7} {recovered:>9}  {mix}"
        )
    return "\n".join(lines)


def as_json(reports: list[PhaseReport]) -> list[dict[str, Any]]:
    """The reports, JSON-ready."""
    return [asdict(r) for r in reports]
