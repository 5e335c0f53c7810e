"""The execution environments' memory over a run: RSS sampled (``harness.readings``), and whether it stayed flat.

A sampler thread writes one JSON line per interval to ``memory.jsonl`` in the run folder
(``{"t": seconds from the start, "rss_kib": {pid: RSS in KiB}}``); ``memory_report`` turns the samples
into each environment's RSS at its first sample once it has lived the settling time (its init
and first invocations behind it, wherever in the run it started) and at its last one. An
environment is flat when it grew by at most ``limit_mib`` between the two.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.readings import rss_kib

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path


@dataclass
class RssSampler:
    """Samples the RSS of the processes ``pids()`` names every ``interval_s`` into ``path``."""

    pids: Callable[[], Iterable[int]]
    path: Path
    interval_s: float = 15.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def start(self) -> RssSampler:
        """Take a sample now and every ``interval_s`` after, in a daemon thread."""
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def sample(self) -> None:
        """Append one sample now."""
        rss = {str(pid): kib for pid in self.pids() if (kib := rss_kib(pid)) is not None}
        line = {"t": round(time.monotonic() - self._started, 1), "rss_kib": rss}
        with self.path.open("a") as out:
            out.write(json.dumps(line) + "\n")

    def stop(self) -> None:
        """Stop sampling, after one last sample."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self.interval_s):
            self.sample()


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
    for line in samples_path.read_text().splitlines():
        sample = json.loads(line)
        t = float(sample["t"])
        for pid, kib in sample["rss_kib"].items():
            born = first_seen.setdefault(int(pid), t)
            if t - born >= settle_s:
                series.setdefault(int(pid), []).append((t, int(kib)))
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
