"""The soak's memory judge: each execution environment's RSS once it has settled, and whether it stayed flat.

A pure function of the samples ``loadtests.memory``'s sampler wrote: ``memory_report`` turns
them into each environment's RSS at its first sample once it has lived the settling time (its
init and first invocations behind it, wherever in the run it started) and at its last one. An
environment is flat when it grew by at most ``limit_mib`` between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loadtests.memory import RssSample

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class EnvironmentMemory:
    """One environment's RSS at its first sample after settling and at its last (t: seconds into the run)."""

    pid: int
    start_t: float
    end_t: float
    start_mib: float
    end_mib: float
    peak_mib: float

    @property
    def growth_mib(self) -> float:
        """End minus start."""
        return self.end_mib - self.start_mib


@dataclass(frozen=True)
class MemoryReport:
    """Every environment's memory over a run, and the verdict."""

    environments: list[EnvironmentMemory]
    limit_mib: float
    settle_s: float

    @property
    def flat(self) -> bool:
        """Every environment measured, none grew by more than the limit."""
        return bool(self.environments) and all(env.growth_mib <= self.limit_mib for env in self.environments)

    def table(self) -> str:
        """The per-environment table a person reads, and the verdict."""
        lines = [
            f"memory of the execution environments (RSS, MiB; from {self.settle_s:g} s into each one's life)",
            f"  {'pid':>8}  {'from s':>7}  {'to s':>7}  {'start':>7}  {'end':>7}  {'peak':>7}  {'growth':>7}",
        ]
        lines.extend(
            f"  {env.pid:>8}  {env.start_t:>7.0f}  {env.end_t:>7.0f}  {env.start_mib:>7.1f}  "
            f"{env.end_mib:>7.1f}  {env.peak_mib:>7.1f}  {env.growth_mib:>+7.2f}"
            for env in self.environments
        )
        verdict = "PASS" if self.flat else "FAIL"
        lines.append(f"  flat: every environment grew <= {self.limit_mib:g} MiB -> {verdict}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """memory.json's content."""
        return {
            "limit_mib": self.limit_mib,
            "settle_s": self.settle_s,
            "flat": self.flat,
            "environments": [{**env.__dict__, "growth_mib": round(env.growth_mib, 3)} for env in self.environments],
        }


def memory_report(samples_path: Path, *, settle_s: float, limit_mib: float) -> MemoryReport:
    """Each environment's RSS from its first sample ``settle_s`` or more after it was first seen to its last."""
    series: dict[int, list[tuple[float, int]]] = {}
    first_seen: dict[int, float] = {}
    for sample in map(RssSample.read, samples_path.read_text().splitlines()):
        for pid, kib in sample.rss_kib.items():
            born = first_seen.setdefault(pid, sample.t)
            if sample.t - born >= settle_s:
                series.setdefault(pid, []).append((sample.t, kib))
    environments = [
        EnvironmentMemory(
            pid=pid,
            start_t=points[0][0],
            end_t=points[-1][0],
            start_mib=points[0][1] / 1024,
            end_mib=points[-1][1] / 1024,
            peak_mib=max(kib for _, kib in points) / 1024,
        )
        for pid, points in sorted(series.items())
        if len(points) >= 2
    ]
    return MemoryReport(environments, limit_mib, settle_s)
