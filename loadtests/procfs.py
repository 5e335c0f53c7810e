"""Readings of /proc: a process's resident memory and its own peak.

Standard library only: the stage's execution environments import it for their REPORT lines.
"""

from __future__ import annotations

from pathlib import Path


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
