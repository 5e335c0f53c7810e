"""The judge of one run against a baseline: two runs' figures and the thresholds in, rows with verdicts out.

Pure: :func:`judge` reads no file and prints nothing (``runreport.compare_cli`` does both).
A figure regresses when it moves the wrong way by more than both its threshold's share of the
baseline and its absolute amount: a share alone would flag the noise of a fast figure, an
amount alone would miss a slow figure growing by a large share. The thresholds are data
(:class:`Thresholds`), their defaults here alone; the command line overrides each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from runreport.runfigures import AGGREGATED, SETUP_FACTS

if TYPE_CHECKING:
    from runreport.runfigures import RequestFigures, RunFigures

REGRESSION = "REGRESSION"
BETTER = "better"
SAME = "same"
UNJUDGED = "-"
"""No verdict: a count that is not a quality (requests), or a figure one run did not record."""


@dataclass(frozen=True)
class Thresholds:
    """How far each figure may move the wrong way before it is a regression (both share and amount)."""

    latency_pct: float = field(default=15.0, metadata={"help": "p50/p95/p99 growth, % of the baseline"})
    latency_ms: float = field(default=20.0, metadata={"help": "p50/p95/p99 growth, ms"})
    min_requests: int = field(
        default=20, metadata={"help": "a request name's percentiles are judged only with this many in both runs"}
    )
    min_beyond: int = field(
        default=5,
        metadata={"help": "a percentile is judged only where both runs have this many requests beyond it"},
    )
    rps_pct: float = field(default=15.0, metadata={"help": "RPS drop, % of the baseline"})
    rps: float = field(default=1.0, metadata={"help": "RPS drop, requests per second"})
    error_points: float = field(default=0.5, metadata={"help": "error ratio growth, percentage points"})
    cold_starts_pct: float = field(default=50.0, metadata={"help": "cold starts growth, % of the baseline"})
    cold_starts: float = field(default=2.0, metadata={"help": "cold starts growth, environments"})
    init_pct: float = field(default=15.0, metadata={"help": "mean init duration growth, % of the baseline"})
    init_ms: float = field(default=50.0, metadata={"help": "mean init duration growth, ms"})
    billed_pct: float = field(default=15.0, metadata={"help": "billed ms per invocation growth, % of the baseline"})
    billed_ms: float = field(default=5.0, metadata={"help": "billed ms per invocation growth, ms"})
    cpu_pct: float = field(default=20.0, metadata={"help": "the stage's CPU per order growth, % of the baseline"})
    cpu_ms: float = field(default=2.0, metadata={"help": "the stage's CPU per order growth, ms"})
    memory_pct: float = field(default=10.0, metadata={"help": "Max Memory Used growth, % of the baseline"})
    memory_mb: float = field(default=8.0, metadata={"help": "Max Memory Used growth, MB"})
    cost_pct: float = field(default=10.0, metadata={"help": "cost per million orders growth, % of the baseline"})
    cost_usd: float = field(default=0.01, metadata={"help": "cost per million orders growth, USD"})
    invariant_breaches: int = field(default=0, metadata={"help": "an invariant's breaches may grow by this many"})

    @classmethod
    def names(cls) -> list[str]:
        """Every threshold's name, in order."""
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Row:
    """One figure of both runs, and its verdict; ``note`` says why when the verdict needs it."""

    figure: str
    base: float | None
    new: float | None
    unit: str
    verdict: str
    note: str = ""


@dataclass(frozen=True)
class Unlike:
    """A setup fact the two runs do not share (``None``: not recorded by that run)."""

    fact: str
    base: object
    new: object

    def line(self) -> str:
        """The difference, in words."""
        return f"{self.fact}: {_said(self.base)} vs {_said(self.new)}"


def _said(value: object) -> str:
    return "not recorded" if value is None else str(value)


@dataclass(frozen=True)
class Comparison:
    """Every row, and what makes the runs unlike."""

    base: str
    new: str
    rows: list[Row]
    unlike: list[Unlike]
    cautions: list[str] = field(default_factory=list)
    """Conditions, not setups, that make the figures less telling (a saturated host); never refused."""

    @property
    def regressions(self) -> list[Row]:
        """The rows judged a regression."""
        return [row for row in self.rows if row.verdict == REGRESSION]


def grade(base: float | None, new: float | None, pct: float, amount: float, *, higher_is_worse: bool = True) -> str:
    """The verdict on one figure: worse (or better) by more than both ``pct`` % of ``base`` and ``amount``."""
    if base is None or new is None:
        return UNJUDGED
    worse = new - base if higher_is_worse else base - new
    share = abs(base) * pct / 100
    if worse > amount and worse > share:
        return REGRESSION
    if -worse > amount and -worse > share:
        return BETTER
    return SAME


def _figure(run: RequestFigures | None, name: str) -> float | None:
    value: float | None = getattr(run, name) if run is not None else None
    return value


def requests_for(percentile: int, t: Thresholds) -> int:
    """How many requests of a name both runs need for its ``percentile`` to be judged.

    At least ``min_requests``, and ``min_beyond`` of them beyond the percentile: 20, 100 and 500
    for p50, p95 and p99 by default.
    """
    return max(t.min_requests, math.ceil(t.min_beyond * 100 / (100 - percentile)))


def _request_rows(name: str, base: RequestFigures | None, new: RequestFigures | None, t: Thresholds) -> list[Row]:
    rps_before, rps_after = _figure(base, "rps"), _figure(new, "rps")
    rows = [
        Row(f"{name}: requests", _figure(base, "requests"), _figure(new, "requests"), "", UNJUDGED),
        Row(
            f"{name}: RPS",
            rps_before,
            rps_after,
            "/s",
            grade(rps_before, rps_after, t.rps_pct, t.rps, higher_is_worse=False),
        ),
    ]
    fewest = 0 if base is None or new is None else min(base.requests, new.requests)
    for q in ("p50", "p95", "p99"):
        before, after = _figure(base, f"{q}_ms"), _figure(new, f"{q}_ms")
        needed = requests_for(int(q[1:]), t)
        if fewest < needed:
            # A p99 of fifty requests is their slowest one: two runs of one build differ there by chance.
            note = f"fewer than {needed} requests in a run"
            rows.append(Row(f"{name}: {q}", before, after, "ms", UNJUDGED, note))
        else:
            rows.append(Row(f"{name}: {q}", before, after, "ms", grade(before, after, t.latency_pct, t.latency_ms)))
    return rows


def _error_row(base: RunFigures, new: RunFigures, t: Thresholds) -> Row:
    before, after = (run.requests.get(AGGREGATED) for run in (base, new))
    ratio_before = 100 * before.error_ratio if before else None
    ratio_after = 100 * after.error_ratio if after else None
    # Points, not a share: from a run without errors any growth is an infinite share.
    return Row("error ratio", ratio_before, ratio_after, "%", grade(ratio_before, ratio_after, 0.0, t.error_points))


def _cost_row(base: RunFigures, new: RunFigures, t: Thresholds) -> Row:
    before, after = base.cost_per_million_orders, new.cost_per_million_orders
    if before is None or after is None:
        # A run folder from before runs were priced (runreport.cost) has none: a cost is never made up here.
        recorded = "neither run records" if before is None and after is None else "only one run records"
        return Row("cost per million orders", before, after, "USD", UNJUDGED, f"{recorded} a price")
    return Row("cost per million orders", before, after, "USD", grade(before, after, t.cost_pct, t.cost_usd))


def _invariant_rows(base: RunFigures, new: RunFigures, t: Thresholds) -> list[Row]:
    rows = []
    for name in [*base.invariants, *(n for n in new.invariants if n not in base.invariants)]:
        before, after = base.invariants.get(name), new.invariants.get(name)
        verdict = grade(before, after, 0.0, t.invariant_breaches)
        if verdict == BETTER and after:
            verdict = SAME  # fewer breaches is not yet good: the audit fails the run on any
        rows.append(Row(f"invariant: {name}", before, after, "", verdict))
    return rows


def unlike(base: RunFigures, new: RunFigures) -> list[Unlike]:
    """The setup facts the two runs do not share; one not recorded by either counts as unlike."""
    return [
        Unlike(fact, base.setup.get(fact), new.setup.get(fact))
        for fact in SETUP_FACTS
        if base.setup.get(fact) is None or base.setup.get(fact) != new.setup.get(fact)
    ]


def cautions(base: RunFigures, new: RunFigures) -> list[str]:
    """A run whose host was saturated while Locust ran: its latency is partly the machine's queueing."""
    return [
        f"the host was saturated in {run.name} ({run.host_line}): its latency is partly the machine's"
        for run in (base, new)
        if run.host_line is not None
    ]


def judge(base: RunFigures, new: RunFigures, thresholds: Thresholds | None = None) -> Comparison:
    """Every row of ``new`` against ``base``, under ``thresholds`` (the defaults when None)."""
    t = thresholds or Thresholds()
    names = [AGGREGATED] if AGGREGATED in base.requests or AGGREGATED in new.requests else []
    names += sorted((set(base.requests) | set(new.requests)) - {AGGREGATED})
    rows = [row for name in names for row in _request_rows(name, base.requests.get(name), new.requests.get(name), t)]
    rows += [
        _error_row(base, new, t),
        Row(
            "cold starts", base.cold_starts, new.cold_starts, "",
            grade(base.cold_starts, new.cold_starts, t.cold_starts_pct, t.cold_starts),
        ),
        Row("init (mean)", base.init_ms, new.init_ms, "ms", grade(base.init_ms, new.init_ms, t.init_pct, t.init_ms)),
        Row(
            "billed per invocation", base.billed_ms, new.billed_ms, "ms",
            grade(base.billed_ms, new.billed_ms, t.billed_pct, t.billed_ms),
        ),
        Row(
            "stage CPU per order", base.stage_cpu_ms_per_order, new.stage_cpu_ms_per_order, "ms",
            grade(base.stage_cpu_ms_per_order, new.stage_cpu_ms_per_order, t.cpu_pct, t.cpu_ms),
        ),
        Row(
            "Max Memory Used", base.max_memory_mb, new.max_memory_mb, "MB",
            grade(base.max_memory_mb, new.max_memory_mb, t.memory_pct, t.memory_mb),
        ),
        *_invariant_rows(base, new, t),
        _cost_row(base, new, t),
    ]  # fmt: skip
    return Comparison(base.name, new.name, rows, unlike(base, new), cautions(base, new))
