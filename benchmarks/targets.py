"""The benchmark's targets as data, and the verdict: which hold, which fail, which fail the run.

A ``Row`` of the table may carry a ``Target``: a comparison (``<=``, ``>=``, ``==``, or ``~=``:
within a tolerance either side) of the row's ``value`` or ``ratio`` with a limit, either a
performance target (speed, memory) or a correctness one (nothing lost, no failed request).
``judge`` turns the rows and the bottleneck report (``benchmarks.e2e_cpu.bottleneck`` per
local-stage row, and ``benchmarks.cpu_share.bottleneck`` for the CPU share rows) into a
``Verdict``, a pure function of its inputs:

- a target that holds, holds;
- a failing correctness target fails the run, whatever the host and in smoke runs too;
- a failing performance target measured on the local stage, while its stage row's bottleneck
  names a saturated resource (one process, or the machine's cores), is not judged: the figure
  measures the host, and the verdict names the limit instead;
- any other failing performance target fails the run (in-process probes; a stage row with
  nothing saturated is a real regression), except in a smoke run, whose tiny counts measure
  nothing: there it is reported and not enforced.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

Op = Literal["<=", ">=", "==", "~="]
On = Literal["value", "ratio"]
Kind = Literal["performance", "correctness"]
Outcome = Literal["holds", "fails", "not judged"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}
"""The one-sided comparisons; ``~=`` is ``Target.holds``'s own."""
NOT_SATURATED = "none"
"""``benchmarks.e2e_cpu.bottleneck``'s ``limit`` when neither one process nor the machine was saturated."""


@dataclass(frozen=True)
class Target:
    """A limit on one row's ``value`` or ``ratio``.

    Attributes:
        op: how the measured figure compares with the limit.
        limit: the limit, in the row's unit (``value``) or as a plain ratio (``ratio``).
        on: which figure of the row the target applies to.
        kind: ``performance`` (may be excused by a saturated host, not enforced in a smoke
            run) or ``correctness`` (always enforced).
        tolerance: for ``~=`` only: how far from the limit either way, as a fraction of it.
    """

    op: Op
    limit: float
    on: On = "value"
    kind: Kind = "performance"
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        for name, allowed in (("op", Op), ("on", On), ("kind", Kind)):
            if getattr(self, name) not in get_args(allowed):
                raise ValueError(f"unknown target {name} {getattr(self, name)!r}; one of {get_args(allowed)}")
        if (self.op == "~=") != (self.tolerance > 0):
            raise ValueError(f"a tolerance is for ~= alone, and ~= needs one: {self.op} with {self.tolerance}")

    def measured(self, row: Row) -> float | None:
        """The figure of ``row`` this target judges (None when the row has no ratio)."""
        return row.ratio if self.on == "ratio" else row.value

    def holds(self, row: Row) -> bool:
        """Whether ``row``'s figure meets the limit; a ratio target on a row without a ratio does not."""
        measured = self.measured(row)
        if measured is None:
            return False
        if self.op == "~=":
            return abs(measured - self.limit) <= self.tolerance * abs(self.limit)
        return _COMPARE[self.op](measured, self.limit)

    def __str__(self) -> str:
        if self.op == "~=":
            return f"\u2248{self.limit:.3g} \u00b1{self.tolerance:.0%}"
        if self.op == "==":
            return f"{self.limit:g}"
        return f"{self.op} {self.limit:.2f}" if self.on == "ratio" else f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Row:
    """One line of the table.

    Attributes:
        measure: what was measured (the row's group).
        variant: what it was measured on.
        value: the figure, in ``unit``.
        unit: the figure's unit.
        reference: the variant ``ratio`` compares with, if any.
        ratio: ``value`` over the reference's value.
        target: the limit this row is held to, if any.
        stage_row: for a figure measured on the local stage, the end-to-end row (a key of
            ``benchmarks.e2e_cpu``'s bottleneck report: ``backend``, ``closed``, ``open``,
            ``open_half``) whose saturated resource limits it; for the CPU share rows,
            ``benchmarks.cpu_share.ROW``, limited when the host kept its child waiting for a
            core; None for in-process figures and for figures no saturation excuses.
    """

    measure: str
    variant: str
    value: float
    unit: str
    reference: str = ""
    ratio: float | None = None
    target: Target | None = None
    stage_row: str | None = None

    @property
    def name(self) -> str:
        """The row's name in verdict lines: what it measured, and the figure its target judges."""
        on_ratio = self.target is not None and self.target.on == "ratio"
        return f"{self.measure}: {self.variant}, {f'ratio to {self.reference}' if on_ratio else self.unit}"


# The targets of issue 6, each applied by benchmarks.run to its row.
COLD_VS_FLOOR = Target("<=", 1.15, on="ratio")
"""Cold start over bare Python, ``.pyc`` present: the handler against boto3 + its two clients."""
COLD_VS_NAIVE = Target("<=", 0.70, on="ratio")
"""Cold start over bare Python, ``.pyc`` present: the handler against the naive baseline."""
WARM_VS_FLOOR_XRAY_OFF = Target("<=", 1.15, on="ratio")
"""Warm CPU per invocation against the floor's PutItem + SendMessage, X-Ray off."""
WARM_VS_FLOOR_XRAY_ON = Target("<=", 1.25, on="ratio")
"""Warm CPU per invocation against the floor's PutItem + SendMessage, X-Ray on."""
RSS_GROWTH_MIB = Target("<=", 1)
"""No growth over the (default 10 000) invocations beyond the allocator's noise.

Printed as "0" before it was judged, and read as "no growth" in every recorded run: the
growth there is the pages the allocator keeps, and what one invocation leaves held is not
cumulative (BENCHMARKS.md, "Targets"). A leak of that much an invocation would pass the
limit well within 10 000."""
RSS_PEAK_MIB = Target("<=", 60)
"""The handler process's peak RSS, MiB."""
CLOSED_VS_BACKEND = Target(">=", 0.90, on="ratio")
"""100 users closed loop against the backend-only capacity (orders/s)."""
CLOSED_P95_MS = Target("<=", 500)
"""100 users closed loop, p95 ms."""
OPEN_P95_MS = Target("<=", 30)
"""The 200 req/s open loop, p95 ms from each request's scheduled time."""
STAGE_CPU_VS_FLOOR = Target("<=", 13.5, on="ratio")
"""The closed loop's CPU per order, everything on the stage, in multiples of the floor's warm CPU (issue 24).

The issue's limit in milliseconds, on the VM of the recorded run, divided by that run's floor (a
warm PutItem + SendMessage, X-Ray off; BENCHMARKS.md, "Targets (issue 6) — where they stand"). A
multiple of a figure measured in the same run holds across the VM's speed, which moves both; the
milliseconds alone do not."""
RESTORED_FIRST_VS_WARM = Target("<=", 1.5, on="ratio")
"""SnapStart: a restored environment's first invocation against a warm one's duration (the priming's point)."""
CPU_SHARE_HALF = Target("~=", 2.0, on="ratio", tolerance=0.25)
"""Wall time of the same CPU-bound work at half the reference memory size against the reference (issue 24).

Half the memory, half the share of a vCPU: twice the time."""
CPU_SHARE_ONE_VCPU = Target("~=", 256 / 1769, on="ratio", tolerance=0.25)
"""Wall time of the same work at one vCPU's memory size against the reference size: the inverse of their shares."""
ZERO = Target("==", 0, kind="correctness")
"""A count that must be zero: failed requests, non-201 answers, orders missing from the table."""


@dataclass(frozen=True)
class Judgement:
    """What the verdict says of one targeted row.

    Attributes:
        row: the row judged.
        outcome: ``holds``, ``fails`` or ``not judged`` (a stage figure limited by a saturated host).
        fails_run: whether this judgement makes the run fail.
        why: the reason a failing target does not fail the run, or what limits the row.
        limit: the short name of what limits a row that is not judged (a process, ``cpu``).
    """

    row: Row
    outcome: Outcome
    fails_run: bool = False
    why: str = ""
    limit: str = ""

    @property
    def column(self) -> str:
        """The table's verdict column for the row."""
        if self.outcome == "not judged":
            return f"limited by {self.limit}"
        if self.outcome == "fails" and not self.fails_run:
            return "fails (not enforced)"
        return self.outcome

    def line(self) -> str:
        """One verdict line: outcome, row, figure against target, and why when it does not fail the run."""
        target = self.row.target
        figure = target.measured(self.row) if target is not None else None
        text = f"{self.outcome:<10} {self.row.name}: {figure} (target {target})"
        if self.outcome == "not judged":
            return f"{text}: not judged: {self.why}"
        if self.outcome == "fails" and not self.fails_run:
            return f"{text}: {self.why}"
        return text


@dataclass(frozen=True)
class Verdict:
    """Every targeted row's judgement; the run fails when any judgement fails it."""

    judgements: tuple[Judgement, ...]
    smoke: bool = False

    @property
    def failures(self) -> tuple[Judgement, ...]:
        """The judgements that fail the run."""
        return tuple(j for j in self.judgements if j.fails_run)

    @property
    def passed(self) -> bool:
        """Whether no judgement fails the run."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when the run passed, else 1."""
        return 0 if self.passed else 1

    def of(self, row: Row) -> Judgement | None:
        """The judgement of ``row``, or None when it has no target."""
        return next((j for j in self.judgements if j.row is row), None)

    def lines(self) -> list[str]:
        """The verdict as printed: one line per target, then the run's outcome."""
        lines = ["verdict:"]
        if self.smoke:
            lines.append("  smoke run (tiny counts): performance targets are reported, not enforced; "
                         "correctness targets are enforced")  # fmt: skip
        lines += [f"  {j.line()}" for j in self.judgements]
        if self.passed:
            lines.append(f"verdict: PASS ({len(self.judgements)} targets; none failed the run)")
        else:
            names = "; ".join(j.row.name for j in self.failures)
            lines.append(f"verdict: FAIL ({len(self.failures)} of {len(self.judgements)} targets): {names}")
        return lines


def judge(rows: Iterable[Row], bottlenecks: Mapping[str, Mapping[str, Any]], *, smoke: bool = False) -> Verdict:
    """Judge every targeted row (see the module's docstring for the rules).

    Args:
        rows: the table's rows; those without a target are skipped.
        bottlenecks: ``benchmarks.e2e_cpu``'s bottleneck report, per stage row: ``limit`` (a
            process name, ``cpu`` or ``none``) and ``verdict`` (the sentence naming it); empty
            when the stage did not run. A stage row missing from it was not shown saturated.
        smoke: a smoke run (tiny counts): performance targets are not enforced.

    Returns:
        The verdict, one judgement per targeted row in the rows' order.
    """
    return Verdict(tuple(_judge(row, row.target, bottlenecks, smoke) for row in rows if row.target), smoke)


def _judge(row: Row, target: Target, bottlenecks: Mapping[str, Mapping[str, Any]], smoke: bool) -> Judgement:
    if target.holds(row):
        return Judgement(row, "holds")
    if target.kind == "correctness":
        return Judgement(row, "fails", fails_run=True)
    limited = bottlenecks.get(row.stage_row, {}) if row.stage_row is not None else {}
    if limited.get("limit", NOT_SATURATED) != NOT_SATURATED:
        return Judgement(row, "not judged", why=f"limited by {limited['verdict']}", limit=str(limited["limit"]))
    if smoke:
        return Judgement(row, "fails", why="not enforced in a smoke run")
    return Judgement(row, "fails", fails_run=True)
