"""This benchmark run against an earlier one (``tox -e bench -- --baseline FILE``): a verdict per row.

Pure: :func:`judge` takes two runs' JSON documents (``benchmarks.run`` writes them) and the
thresholds, and gives a ``runreport.compare.Comparison``, printed and exited on as a load run's
comparison is. What is judged is what two runs on one machine can tell apart from the VM's mood:

- every ratio (the handler against its floor or the naive baseline, the closed loop against the
  backend, a memory size's wall time against another's): both sides are measured in the same run,
  so a slower VM moves both;
- memory (MiB peak and growth, bytes and blocks per invocation): it does not move with CPU speed;
- correctness (failed requests, non-201 answers, orders missing): any growth.

An absolute time or rate is shown beside its baseline and left unjudged: the same build measured
on two days of one VM moved by half (BENCHMARKS.md, "One run"). A figure
regresses when it moves the wrong way by more than both its share and its amount
(``runreport.compare.grade``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runreport.compare import UNJUDGED, Comparison, Row, Unlike, grade

if TYPE_CHECKING:
    from pathlib import Path

MEMORY_UNITS = frozenset({"MiB growth", "MiB peak", "bytes at peak", "blocks kept", "bytes kept"})
"""Row units that count memory: judged on their value."""
CORRECTNESS_UNITS = frozenset({"failed requests", "non-201 answers", "orders missing"})
"""Row units that count failures: any growth is a regression."""
HIGHER_IS_BETTER = frozenset({">="})
"""Target operators under which a larger figure is the better one."""
MACHINE_FACTS = ("cpus", "python", "platform", "smoke")
"""What makes two benchmark runs like: the machine's cores, the interpreter, the platform, a smoke run or not."""


@dataclass(frozen=True)
class BenchThresholds:
    """How far a benchmark figure may move the wrong way before it is a regression (both share and amount)."""

    ratio_pct: float = 10.0
    """A ratio's worsening, % of the baseline's ratio."""
    ratio: float = 0.03
    """A ratio's worsening, absolute."""
    memory_pct: float = 10.0
    """A memory figure's growth, % of the baseline's."""
    memory: float = 1.0
    """A memory figure's growth, in its unit (MiB; bytes and blocks are far above it)."""
    held_band: float = 0.5
    """A ratio held near a value: how much further from it, as a share of its target's tolerance band.

    The band is the run-to-run spread the target allows; half of it keeps the noise of one idle
    machine (a share moved by about a tenth of its value between two idle runs) unflagged."""


_RATE = re.compile(r"\b\d+ req/s\b")


def _key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """What names a row in both runs: the half-rate open loop's rate (each run's own) left out of it."""
    return _RATE.sub("N req/s", row["measure"]), row["variant"], row["unit"], row["reference"]


def _higher_is_worse(row: dict[str, Any]) -> bool:
    spec = row.get("target_spec")
    if spec is not None:
        return spec["op"] not in HIGHER_IS_BETTER
    return not row["unit"].startswith(("req/s", "orders/s"))


def _row(either: dict[str, Any], base: dict[str, Any] | None, new: dict[str, Any] | None, t: BenchThresholds) -> Row:
    """One figure of both runs (``either`` the one that has it): the ratio where it has one, else its value."""
    measure, variant, unit, reference = _key(either)
    on_ratio = either["ratio"] is not None
    figure = f"{measure}: {variant}, " + (f"ratio to {reference}" if on_ratio else unit)  # as the verdict names it
    name = "ratio" if on_ratio else "value"
    shown_unit = "x" if on_ratio else unit
    if base is None or new is None:
        only_before = base[name] if base is not None else None
        only_after = new[name] if new is not None else None
        return Row(figure, only_before, only_after, shown_unit, UNJUDGED, "in one run only")
    before, after = base[name], new[name]
    worse = _higher_is_worse(either)
    target_spec = either.get("target_spec") or {}
    if on_ratio and target_spec.get("op") == "~=":
        # A ratio held near a value (Lambda's CPU shares): worse is further from it.
        limit = float(target_spec["limit"])
        distance_before, distance_after = abs(before - limit), abs(after - limit)
        band = float(target_spec["tolerance"]) * abs(limit)
        verdict = grade(distance_before, distance_after, 0.0, t.held_band * band)
        return Row(figure, before, after, shown_unit, verdict, f"judged by its distance from {limit:.3g}")
    if on_ratio:
        return Row(figure, before, after, shown_unit, grade(before, after, t.ratio_pct, t.ratio, higher_is_worse=worse))
    if unit in CORRECTNESS_UNITS:
        return Row(figure, before, after, shown_unit, grade(before, after, 0.0, 0.0))
    if unit in MEMORY_UNITS:
        return Row(figure, before, after, shown_unit, grade(before, after, t.memory_pct, t.memory))
    return Row(figure, before, after, shown_unit, UNJUDGED, "an absolute figure: it moves with the VM's speed")


def judge(base: dict[str, Any], new: dict[str, Any], thresholds: BenchThresholds | None = None) -> Comparison:
    """Every row of the ``new`` run's document against the ``base`` run's, in ``new``'s order."""
    t = thresholds or BenchThresholds()
    base_rows = {_key(row): row for row in base["rows"]}
    new_rows = {_key(row): row for row in new["rows"]}
    keys = [*new_rows, *(key for key in base_rows if key not in new_rows)]
    rows = [_row(new_rows.get(key) or base_rows[key], base_rows.get(key), new_rows.get(key), t) for key in keys]
    facts = [(fact, _fact(base, fact), _fact(new, fact)) for fact in MACHINE_FACTS]
    unlike = [Unlike(fact, before, after) for fact, before, after in facts if before is None or before != after]
    return Comparison(str(base.get("name", "baseline")), str(new.get("name", "this run")), rows, unlike)


def _fact(document: dict[str, Any], fact: str) -> object:
    if fact == "smoke":
        return document.get("smoke")
    return (document.get("machine") or {}).get(fact)


def load(path: Path) -> dict[str, Any]:
    """A benchmark run's JSON document, named by its file."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document | {"name": path.name}
