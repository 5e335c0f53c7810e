"""The host over a window: how many cores were busy, and whose processes kept them busy.

``cpu_sample`` reads (``harness.readings``) the machine's busy CPU time and that of each process in named
groups (the main job's: the stage, and Locust); ``host_load`` turns two samples into a
``HostLoad``: cores busy, each group's CPU time, and what no group accounts for — processes
outside the run, and the kernel's own work.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.readings import cpu_s, machine_busy_s

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SATURATED = 0.85
"""A resource busy this share of the time or more is saturated (a process: of one core; the machine: of its cores)."""
STAGE = "stage"
"""The main job's group: this process (the gateway, the consumer), the environments, the moto servers."""
LOCUST = "Locust"
"""The main job's group: the Locust processes that make the load."""
OTHER = "other"
"""The name of the CPU time no group accounts for."""


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds at one moment: the machine's busy time, and each watched process's, by group."""

    at: float
    machine_s: float
    groups: dict[str, dict[int, float]]


def cpu_sample(groups: Mapping[str, Iterable[int]]) -> CpuSample:
    """The machine's busy CPU seconds and those of every process of ``groups`` now (a gone process is left out).

    A process named in two groups counts in the first.
    """
    seen: set[int] = set()
    figures: dict[str, dict[int, float]] = {}
    for name, pids in groups.items():
        figures[name] = {}
        for pid in pids:
            if pid not in seen and (seconds := cpu_s(pid)) is not None:
                figures[name][pid] = seconds
                seen.add(pid)
    return CpuSample(time.monotonic(), machine_busy_s(), figures)


@dataclass(frozen=True)
class HostLoad:
    """Cores busy over a window, and the CPU seconds of each group of processes in it.

    Attributes:
        wall_s: the window's length.
        cores: the machine's cores.
        busy_s: CPU seconds the machine's cores spent busy in the window (any process, and the kernel).
        groups_s: CPU seconds of each group's processes in the window.
    """

    wall_s: float
    cores: int
    busy_s: float
    groups_s: dict[str, float]

    @property
    def busy_cores(self) -> float:
        """Cores busy on average over the window."""
        return self.busy_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def saturated(self) -> bool:
        """Whether the machine's cores were busy ``SATURATED`` of the time or more."""
        return self.busy_cores >= SATURATED * self.cores

    @property
    def other_s(self) -> float:
        """Busy CPU seconds no group accounts for: processes outside the run, the kernel's own work."""
        return max(0.0, self.busy_s - sum(self.groups_s.values()))

    def share(self, group: str) -> float:
        """The share of the machine's busy CPU time a group (or ``OTHER``) took; the shares add up to 1.

        The per-process and the per-core clocks count differently (a busy VM, whose stolen time
        the two attribute apart), so the groups can account for a little more than the machine:
        then they are shares of what they account for, and ``OTHER`` has none.
        """
        accounted = max(self.busy_s, sum(self.groups_s.values()))
        if accounted <= 0:
            return 0.0
        seconds = self.other_s if group == OTHER else self.groups_s.get(group, 0.0)
        return seconds / accounted

    def line(self) -> str:
        """Cores busy and each group's share, in words."""
        shares = ", ".join(f"{name} {self.share(name):.0%}" for name in [*self.groups_s, OTHER])
        return f"{self.busy_cores:.2f} of {self.cores} cores busy over {self.wall_s:.0f} s: {shares}"

    def as_json(self) -> dict[str, Any]:
        """The figures as written to summary.json."""
        return {
            "wall_s": round(self.wall_s, 1),
            "cores": self.cores,
            "busy_cores": round(self.busy_cores, 2),
            "saturated": self.saturated,
            "cpu_s": {name: round(s, 2) for name, s in [*self.groups_s.items(), (OTHER, self.other_s)]},
            "share": {name: round(self.share(name), 3) for name in [*self.groups_s, OTHER]},
        }


def host_load(start: CpuSample, end: CpuSample, cores: int | None = None) -> HostLoad:
    """The host between two samples; ``end``'s groups name the processes counted.

    A process in ``start`` counts from its figure there; one started in the window counts from
    zero. One that ended before ``end`` is missing from its group (and so counts as ``OTHER``).
    """
    groups_s = {
        name: sum(seconds - start.groups.get(name, {}).get(pid, 0.0) for pid, seconds in processes.items())
        for name, processes in end.groups.items()
    }
    return HostLoad(end.at - start.at, cores or os.cpu_count() or 1, end.machine_s - start.machine_s, groups_s)
