"""Readings of /proc: a process's memory and its own peak, the CPU time of a process and of the machine.

Standard library only: the stage's execution environments import it for their REPORT lines.
"""

from __future__ import annotations

import os
from pathlib import Path

CLK_TICK = os.sysconf("SC_CLK_TCK")
"""The unit of /proc's CPU times (clock ticks a second)."""


def status_kib(field: str, pid: int | str = "self") -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``, ...), or None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    prefix = f"{field}:"
    for line in status.splitlines():
        if line.startswith(prefix):
            return int(line.split()[1])
    return None  # a zombie has no memory fields left


def rss_kib(pid: int | str = "self") -> int | None:
    """The process's resident set size now (VmRSS, KiB), or None once it is gone."""
    return status_kib("VmRSS", pid)


def peak_rss_kib(pid: int | str = "self") -> int | None:
    """The process's own peak resident set size (VmHWM, KiB), or None once it is gone.

    Not ``getrusage``'s ``ru_maxrss``: Linux keeps the larger of a process's peak and the peak
    of the memory it replaced at ``exec``, which after a fork is its parent's. A fresh
    interpreter started by a 120 MiB harness reports 120 MiB there however little it uses;
    VmHWM belongs to the process's own address space, which ``exec`` starts anew.
    """
    return status_kib("VmHWM", pid)


def cpu_s(pid: int | str = "self", thread: int | None = None) -> float | None:
    """User + system CPU seconds of a process (or of one of its threads), or None once it is gone.

    Its own only: children it has reaped are not counted. A process that has exited and not yet
    been reaped (a zombie) still shows its final figure.
    """
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        with open(path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TICK  # utime and stime: fields 14 and 15 of proc(5)


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``; idle and iowait excluded)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TICK
