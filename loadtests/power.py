"""A memory sweep's rows, whichever stage they came from: the recommendation by strategy, the table, the chart.

The judge of power tuning (``loadtests.tune`` on the local stage, ``loadtests.deployed.tuning``
against a deployed stack): each size's figures (:class:`SizeResult`), the size a strategy
chooses among those whose run passed its SLO and its audit (:func:`recommend`), as AWS Lambda
Power Tuning names its strategies — ``cost`` the cheapest per million orders, ``speed`` the
shortest billed duration per invocation, ``balanced`` the least ``weight * cost / the most
costly + (1 - weight) * duration / the longest``; ties go to the smaller size — and the sweep as
a Markdown table (:func:`table`) and a picture of cost and p95 against memory (:func:`chart`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

STRATEGIES = ("cost", "speed", "balanced")


@dataclass(frozen=True)
class SizeResult:
    """One memory size's run, as the table shows it."""

    memory_mb: int
    run_dir: str
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    cold_starts: int
    billed_ms_per_invocation: float | None
    cost_per_million_orders: float | None
    slo_passed: bool
    audit_passed: bool

    @property
    def eligible(self) -> bool:
        """Whether the size may be recommended: its run passed the SLO and the audit, and was priced."""
        return self.slo_passed and self.audit_passed and self.cost_per_million_orders is not None


def recommend(results: list[SizeResult], strategy: str, weight: float = 0.5) -> SizeResult | None:
    """The size ``strategy`` chooses among the eligible ones; None when no size is eligible."""
    eligible = [r for r in results if r.eligible and r.billed_ms_per_invocation is not None]
    if not eligible:
        return None
    if strategy == "cost":
        return min(eligible, key=lambda r: (r.cost_per_million_orders, r.memory_mb))
    if strategy == "speed":
        return min(eligible, key=lambda r: (r.billed_ms_per_invocation, r.memory_mb))
    if strategy != "balanced":
        raise ValueError(f"a strategy is one of {', '.join(STRATEGIES)}, not {strategy!r}")
    most_cost = max(float(r.cost_per_million_orders or 0) for r in eligible) or 1.0
    longest = max(float(r.billed_ms_per_invocation or 0) for r in eligible) or 1.0

    def score(r: SizeResult) -> tuple[float, int]:
        cost, duration = float(r.cost_per_million_orders or 0), float(r.billed_ms_per_invocation or 0)
        return weight * cost / most_cost + (1 - weight) * duration / longest, r.memory_mb

    return min(eligible, key=score)


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(results: list[SizeResult], chosen: SizeResult | None, strategy: str) -> str:
    """The sweep as a Markdown table, then the recommendation."""
    lines = [
        "| memory MB | p50 ms | p95 ms | p99 ms | cold starts | billed ms / invocation | USD / million orders "
        "| SLO | audit |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {r.memory_mb} | {_cell(r.p50_ms, '.0f')} | {_cell(r.p95_ms, '.0f')} | {_cell(r.p99_ms, '.0f')} | "
        f"{r.cold_starts} | {_cell(r.billed_ms_per_invocation, '.1f')} | {_cell(r.cost_per_million_orders, ',.2f')} | "
        f"{'PASS' if r.slo_passed else 'FAIL'} | {'PASS' if r.audit_passed else 'FAIL'} |"
        for r in results
    ]
    if chosen is None:
        lines.append(f"\nstrategy {strategy}: no size passed its SLO and its audit; nothing to recommend")
    else:
        cost, billed = chosen.cost_per_million_orders or 0.0, chosen.billed_ms_per_invocation or 0.0
        lines.append(
            f"\nstrategy {strategy}: {chosen.memory_mb} MB (USD {cost:,.2f} per million orders, "
            f"{billed:.1f} billed ms an invocation, p95 {_cell(chosen.p95_ms, '.0f')} ms)"
        )
    return "\n".join(lines)


def chart(
    results: list[SizeResult], path: Path, title: str = "Power tuning on the local stage (Lambda CPU model)"
) -> None:
    """Cost per million orders and p95 against memory, on one picture."""
    import matplotlib as mpl  # noqa: PLC0415 - the picture's dependency only when a sweep draws it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = [r.memory_mb for r in results]
    figure, cost_axis = plt.subplots(figsize=(8, 4.5))
    costs = [r.cost_per_million_orders if r.cost_per_million_orders is not None else float("nan") for r in results]
    p95s = [r.p95_ms if r.p95_ms is not None else float("nan") for r in results]
    cost_axis.plot(sizes, costs, "o-", color="#1f77b4", label="USD per million orders")
    cost_axis.set_xscale("log", base=2)
    cost_axis.set_xticks(sizes, [str(s) for s in sizes])
    cost_axis.set_xlabel("memory size, MB")
    cost_axis.set_ylabel("USD per million orders", color="#1f77b4")
    p95_axis = cost_axis.twinx()
    p95_axis.plot(sizes, p95s, "s--", color="#d62728", label="create order p95")
    p95_axis.set_ylabel("create order p95, ms", color="#d62728")
    cost_axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
