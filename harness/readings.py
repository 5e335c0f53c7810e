"""Readings of processes and of the machine, on Linux and macOS: memory now and at its peak, CPU time.

Another process's figures and the machine's come from psutil. A process's own memory does not:
psutil has no peak, and a process that loads it to read itself measures psutil too (which
the benchmark's probe would count against the function). So psutil is imported where it
is used, never at the top: the benchmark's probe and the tests' handlers import this module in an
execution environment, which must hold nothing of the harness.

Where the platforms differ, the choice is one small function below, driven by ``sys.platform``
read at each call (the unit tests stub it).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

SELF_STATUS = Path("/proc/self/status")
"""Linux: this process's status, its own memory in ``kB`` fields (``VmRSS``, ``VmHWM``)."""
BUSY = ("user", "nice", "system", "irq", "softirq", "steal")
"""The fields of ``psutil.cpu_times()`` that count as busy where present (macOS has the first three)."""


def _platform() -> str:
    """``sys.platform`` now (a call, so that mypy checks every platform's branch)."""
    return sys.platform


def ru_maxrss_kib(ru_maxrss: int, platform: str) -> int:
    """``getrusage``'s ``ru_maxrss`` in KiB: Linux gives KiB, macOS bytes."""
    return ru_maxrss // 1024 if platform == "darwin" else ru_maxrss


def rusage_peak_kib(who: int = resource.RUSAGE_SELF) -> int:
    """``getrusage(who).ru_maxrss`` in KiB on every platform."""
    return ru_maxrss_kib(resource.getrusage(who).ru_maxrss, _platform())


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of this process's ``/proc/self/status`` (Linux), or None when it has none."""
    try:
        status = SELF_STATUS.read_text()
    except OSError:
        return None
    prefix = f"{field}:"
    for line in status.splitlines():
        if line.startswith(prefix):
            return int(line.split()[1])
    return None


def own_peak_rss_kib() -> int | None:
    """This process's own peak resident set size (KiB), or None where it cannot be read.

    Linux: VmHWM. Not ``getrusage``'s ``ru_maxrss``: Linux keeps the larger of a process's peak
    and the peak of the memory it replaced at ``exec``, which after a fork is its parent's. A
    fresh interpreter started by a large harness reports the harness's peak there however little it uses;
    VmHWM belongs to the process's own address space, which ``exec`` starts anew.

    macOS: ``ru_maxrss`` (bytes there), the kernel's resident maximum of the process's task,
    which ``exec`` makes anew (tests/system/test_workers.py holds the REPORT line to the
    environment's own peak on the platform it runs on).
    """
    platform = _platform()
    if platform == "linux":
        return _status_kib("VmHWM")
    if platform == "darwin":
        return rusage_peak_kib()
    return None


def peak_rss_kib(pid: int) -> int | None:
    """Another process's peak resident set size (KiB) so far, or None where it cannot be read (or it is gone).

    Linux: its VmHWM, the peak of its own address space (see :func:`own_peak_rss_kib`), read from
    ``/proc`` without psutil: the local stage reads it for every REPORT line. Elsewhere there is no
    peak to read from outside: its resident set size now, a lower bound.
    """
    if _platform() == "linux":
        return _proc_status_kib(pid, b"VmHWM:")
    return rss_kib(pid)


def _proc_status_kib(pid: int, key: bytes) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` read in one system call, none of ``pathlib``'s text machinery.

    Read for every REPORT line by the stage's own threads: the plain reading cost several times more.
    """
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 1 << 14)
    except OSError:
        return None
    finally:
        os.close(fd)
    at = data.find(key)
    end = data.find(b"kB", at)
    if at < 0 or end < 0:
        return None
    return int(data[at + len(key) : end])


def own_rss_kib() -> int | None:
    """This process's resident set size now (KiB), or None where it cannot be read.

    Linux: VmRSS, read without psutil. Elsewhere psutil's, which the process then holds.
    """
    if _platform() == "linux":
        return _status_kib("VmRSS")
    return rss_kib(os.getpid())


def rss_kib(pid: int) -> int | None:
    """A process's resident set size now (KiB), or None once it is gone (a zombie holds no memory)."""
    import psutil  # noqa: PLC0415 - see the module's docstring

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process.memory_info().rss // 1024
    except psutil.Error:
        return None


def cpu_s(pid: int | None = None) -> float | None:
    """User + system CPU seconds of a process (None: this one), or None once it is gone.

    Its own only: children it has reaped are not counted. A process that has exited and not yet
    been reaped (a zombie) still shows its final figure on Linux, none on macOS: ``reap`` reads
    a child's on both.
    """
    import psutil  # noqa: PLC0415 - see the module's docstring

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def thread_cpu_s() -> dict[int, float]:
    """User + system CPU seconds of each of this process's threads, by native id (``Thread.native_id``).

    Linux only: empty elsewhere (psutil numbers a macOS process's threads by their place in the
    list, not by their native ids).
    """
    if _platform() != "linux":
        return {}
    import psutil  # noqa: PLC0415 - see the module's docstring

    return {thread.id: thread.user_time + thread.system_time for thread in psutil.Process().threads()}


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy since boot; idle and iowait excluded.

    Linux: user, nice, system, irq, softirq and steal (guest time is already in user and nice).
    macOS has user, nice, system and idle only.
    """
    import psutil  # noqa: PLC0415 - see the module's docstring

    times = psutil.cpu_times()
    return sum(float(getattr(times, name, 0.0)) for name in BUSY)


def reap(process: subprocess.Popen[Any], timeout_s: float | None = None) -> tuple[int, float]:
    """Wait for a child to exit (past ``timeout_s``, kill it), reap it: its exit code and CPU seconds to its end.

    The CPU from ``wait4``'s resource usage: user + system, with that of the children it reaped
    itself. Portable where a zombie's figure is not: macOS shows none (``cpu_s``). Sets
    ``process.returncode``, as ``Popen.wait`` would.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(process.pid, 0 if deadline is None else os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() >= deadline:
            process.kill()
            deadline = None  # killed: wait for it
        else:
            time.sleep(0.05)
    process.returncode = code = os.waitstatus_to_exitcode(status)
    return code, usage.ru_utime + usage.ru_stime
