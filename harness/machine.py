"""The machine a run ran on: its cores, its CPU's model name and its memory.

Two runs' absolute figures are comparable only on like machines, so the main job records this
in ``summary.json`` and the comparison (``runreport.compare``) holds two runs' records side by
side. Linux reads ``/proc``; elsewhere a field it cannot read is ``None`` and counts as unlike.

Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class Machine:
    """What makes one machine's figures unlike another's.

    Attributes:
        cores: the cores the OS offers (``os.cpu_count``).
        cpu_model: the first processor's ``model name`` in ``/proc/cpuinfo``.
        memory_mib: ``MemTotal`` in ``/proc/meminfo``, in MiB.
    """

    cores: int | None
    cpu_model: str | None
    memory_mib: int | None

    def as_json(self) -> dict[str, Any]:
        """The record as ``summary.json`` holds it."""
        return asdict(self)


def _field(path: Path, key: str) -> str | None:
    """The value of the first ``key : value`` line of a ``/proc`` file, or None."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def this_machine(cpuinfo: Path = CPUINFO, meminfo: Path = MEMINFO) -> Machine:
    """The machine this process runs on."""
    memory = _field(meminfo, "MemTotal")  # "24683784 kB"
    memory_mib = int(memory.split()[0]) // 1024 if memory and memory.split()[0].isdigit() else None
    return Machine(cores=os.cpu_count(), cpu_model=_field(cpuinfo, "model name"), memory_mib=memory_mib)
