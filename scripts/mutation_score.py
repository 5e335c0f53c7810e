"""The mutation scores of ``tox -e mutate``: verdicts per file, groups held to their targets.

Pure bookkeeping over mutmut's verdicts (``scripts/mutate.py`` reads them from ``mutants/``),
so the judge can be fed a breach in a test without running mutmut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

PACKAGE_ROOTS = ("function",)
"""Folders on the tests' ``sys.path`` (pytest's ``pythonpath``) that hold packages to mutate."""


@dataclass(frozen=True)
class Group:
    """Source files scored together against one target."""

    name: str
    prefix: str
    target: float


JUDGE_TARGET = 0.95
"""Each verdict a run can fail on other than the audit: the share of its mutants its tests must kill."""

GROUPS = (
    Group("function", "function/create_order/", 0.97),
    Group("audit", "loadtests/audit/", 0.99),
    Group("SLO gate", "loadtests/gate.py", JUDGE_TARGET),
    Group("chaos verdict", "chaos/report.py", JUDGE_TARGET),
    Group("memory judge", "loadtests/memory_judge.py", JUDGE_TARGET),
    Group("benchmark targets", "benchmarks/targets.py", JUDGE_TARGET),
    Group("run comparison", "runreport/compare.py", JUDGE_TARGET),
    Group("benchmark comparison", "benchmarks/baseline.py", JUDGE_TARGET),
)
"""Every part ``tox -e mutate`` mutates (``[tool.mutmut] source_paths`` holds the same paths), with its target."""


@dataclass
class Tally:
    """The verdicts of one file's (or one group's) mutants."""

    killed: int = 0
    survived: int = 0
    timeout: int = 0
    not_checked: int = 0
    other: dict[str, int] = field(default_factory=dict)
    """Anything else by mutmut's name for it (no tests, suspicious, segfault...)."""

    def add(self, status: str) -> None:
        """Count one mutant's verdict, by mutmut's name for it."""
        if status == "killed":
            self.killed += 1
        elif status == "survived":
            self.survived += 1
        elif status == "timeout":
            self.timeout += 1
        elif status == "not checked":
            self.not_checked += 1
        else:
            self.other[status] = self.other.get(status, 0) + 1

    def absorb(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.killed += other.killed
        self.survived += other.survived
        self.timeout += other.timeout
        self.not_checked += other.not_checked
        for status, count in other.other.items():
            self.other[status] = self.other.get(status, 0) + count

    @property
    def total(self) -> int:
        """Every mutant, checked or not."""
        return self.killed + self.survived + self.timeout + self.not_checked + sum(self.other.values())

    @property
    def score(self) -> float:
        """Killed (a timeout is a kill: the mutant hung the tests) over the mutants checked; 0 with none."""
        checked = self.total - self.not_checked
        return (self.killed + self.timeout) / checked if checked else 0.0


def module_path(path: PurePath) -> PurePath:
    """The path mutmut names a module by: relative to the package root on ``sys.path``.

    mutmut derives a mutant's module from its file's path (stripping only ``src/``), but the
    function's package is imported from ``function/`` as ``create_order``; without this the
    trampolines' names and the mutants' names never meet and every mutant is "no tests".
    """
    if len(path.parts) > 1 and path.parts[0] in PACKAGE_ROOTS:
        return PurePath(*path.parts[1:])
    return path


def mutant_globs(targets: Iterable[str]) -> list[str]:
    """Mutant names or globs for mutmut: a source path becomes the glob of its module's mutants."""
    globs = []
    for target in targets:
        if target.endswith(".py") or "/" in target:
            dotted = ".".join(module_path(PurePath(target.removesuffix(".py").rstrip("/"))).parts)
            globs.append(f"{dotted}.*")
        else:
            globs.append(target)
    return globs


def tally_files(verdicts: Mapping[str, Iterable[str]]) -> dict[str, Tally]:
    """One tally per source file, from the verdicts of its mutants."""
    tallies = {}
    for path, statuses in sorted(verdicts.items()):
        tally = Tally()
        for status in statuses:
            tally.add(status)
        tallies[path] = tally
    return tallies


def report(tallies: Mapping[str, Tally]) -> tuple[list[str], bool]:
    """The table printed after a run, and whether every fully checked group met its target."""
    lines = [f"{'file':<46} {'killed':>7} {'survived':>9} {'timeout':>8} {'other':>6} {'unchecked':>10} {'score':>7}"]
    met = True
    for group in GROUPS:
        total = Tally()
        for path, tally in tallies.items():
            if path.startswith(group.prefix) and tally.total:
                total.absorb(tally)
                lines.append(_row(path, tally))
        if not total.total:
            continue
        checked = total.not_checked == 0
        verdict = "below target" if total.score < group.target else "meets target"
        if not checked:
            verdict = f"{total.not_checked} not checked yet"
        elif total.score < group.target:
            met = False
        lines.append(_row(f"= {group.name} (target {group.target:.0%}): {verdict}", total))
    return lines, met


def _row(label: str, tally: Tally) -> str:
    other = sum(tally.other.values())
    return (
        f"{label:<46} {tally.killed:>7} {tally.survived:>9} {tally.timeout:>8} {other:>6} "
        f"{tally.not_checked:>10} {tally.score:>7.1%}"
    )
