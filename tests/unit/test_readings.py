"""The readings on Linux and macOS: each path that differs by platform, with the platform and psutil stubbed.

CI runs on Linux only; the macOS paths are driven here by stubbing ``sys.platform``, ``getrusage``
and psutil, and a few readings are checked for real on the platform the tests run on.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from harness import readings
from harness.readings import (
    cpu_s,
    machine_busy_s,
    own_peak_rss_kib,
    own_rss_kib,
    peak_rss_kib,
    reap,
    rss_kib,
    rusage_peak_kib,
    thread_cpu_s,
)

MIB = 1024 * 1024

# psutil.cpu_times() as each platform shapes it
LinuxTimes = namedtuple("LinuxTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
MacTimes = namedtuple("MacTimes", "user nice system idle")


def _on(
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
    *,
    ru_maxrss: int = 0,
    status: str | None = None,
    tmp_path: Path | None = None,
) -> None:
    """Pretend to run on ``platform``: getrusage answers ``ru_maxrss``, /proc/self/status holds ``status``."""
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(resource, "getrusage", lambda who: SimpleNamespace(ru_maxrss=ru_maxrss))
    path = (tmp_path or Path("/nonexistent")) / "status"
    if status is not None:
        path.write_text(status)
    monkeypatch.setattr(readings, "SELF_STATUS", path)


class _Context:
    """What ``Process.oneshot()`` returns: a context that does nothing here."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


class _Process:
    """A stand-in for ``psutil.Process``: set its figures on the class in each test."""

    gone: bool = False
    zombie: bool = False
    rss: int = 0
    user: float = 0.0
    system: float = 0.0
    threads_: list[tuple[int, float, float]] = []  # noqa: RUF012 - set per test
    error: Exception | None = None

    def __init__(self, pid: int | None = None) -> None:
        if self.gone:
            raise psutil.NoSuchProcess(pid or 0)

    def oneshot(self) -> _Context:
        return _Context()

    def status(self) -> str:
        return psutil.STATUS_ZOMBIE if self.zombie else psutil.STATUS_SLEEPING

    def memory_info(self) -> Any:
        if self.error is not None:
            raise self.error
        return SimpleNamespace(rss=self.rss)

    def cpu_times(self) -> Any:
        if self.error is not None:
            raise self.error
        return SimpleNamespace(user=self.user, system=self.system)

    def threads(self) -> list[Any]:
        return [SimpleNamespace(id=i, user_time=u, system_time=s) for i, u, s in self.threads_]


@pytest.fixture
def process(monkeypatch: pytest.MonkeyPatch) -> type[_Process]:
    """psutil.Process replaced by a fresh subclass of ``_Process`` whose figures the test sets."""
    stub = type("StubProcess", (_Process,), {"threads_": []})
    monkeypatch.setattr(psutil, "Process", stub)
    return stub


def test_getrusage_peak_is_kib_on_both_platforms_though_macos_gives_bytes_and_linux_kib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _on(monkeypatch, "darwin", ru_maxrss=200 * MIB)  # bytes
    assert rusage_peak_kib() == 200 * 1024

    _on(monkeypatch, "linux", ru_maxrss=200 * 1024)  # KiB
    assert rusage_peak_kib() == 200 * 1024


def test_own_peak_on_linux_is_vmhwm_not_getrusage_which_carries_the_starter_s_peak(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status = "Name:\tpython\nVmPeak:\t 900000 kB\nVmHWM:\t   70000 kB\nVmRSS:\t   50000 kB\n"
    _on(monkeypatch, "linux", ru_maxrss=300_000, status=status, tmp_path=tmp_path)

    assert own_peak_rss_kib() == 70_000
    assert own_rss_kib() == 50_000


def test_own_memory_on_linux_is_none_when_status_cannot_be_read_or_has_no_memory_fields(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _on(monkeypatch, "linux", ru_maxrss=300_000)  # no status file
    assert own_peak_rss_kib() is None
    assert own_rss_kib() is None

    _on(monkeypatch, "linux", ru_maxrss=300_000, status="Name:\tpython\nState:\tZ (zombie)\n", tmp_path=tmp_path)
    assert own_peak_rss_kib() is None


def test_own_memory_on_macos_is_getrusage_s_bytes_for_the_peak_and_psutil_s_for_now(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, process: type[_Process]
) -> None:
    # Given macOS, where /proc does not exist (a status file here would be Linux's: it must not be read)
    _on(monkeypatch, "darwin", ru_maxrss=70 * MIB, status="VmHWM:\t 1 kB\nVmRSS:\t 1 kB\n", tmp_path=tmp_path)
    process.rss = 50 * MIB

    assert own_peak_rss_kib() == 70 * 1024
    assert own_rss_kib() == 50 * 1024


def test_own_peak_is_none_on_a_platform_neither_linux_nor_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    _on(monkeypatch, "win32", ru_maxrss=70 * MIB)

    assert own_peak_rss_kib() is None


def test_rss_of_a_process_is_psutil_s_bytes_in_kib_and_none_once_gone_a_zombie_or_denied(
    process: type[_Process],
) -> None:
    process.rss = 64 * MIB + 1023
    assert rss_kib(1234) == 64 * 1024

    process.zombie = True  # Linux reads a zombie's memory as 0: it holds none, so no figure
    assert rss_kib(1234) is None

    process.zombie, process.error = False, psutil.AccessDenied(1234)
    assert rss_kib(1234) is None

    process.error, process.gone = None, True
    assert rss_kib(1234) is None


def test_cpu_of_a_process_is_user_plus_system_and_none_once_gone_or_a_macos_zombie(
    process: type[_Process],
) -> None:
    process.user, process.system = 1.5, 0.25
    assert cpu_s(1234) == 1.75

    process.error = psutil.ZombieProcess(1234)  # macOS: an exited, unreaped process shows no CPU time
    assert cpu_s(1234) is None

    process.error, process.gone = None, True
    assert cpu_s(1234) is None


def test_machine_busy_time_counts_what_each_platform_has_and_leaves_out_idle_iowait_and_guest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Linux: guest time is already inside user and nice; idle and iowait are not busy
    linux = LinuxTimes(
        user=100, nice=10, system=50, idle=1000, iowait=70, irq=3, softirq=4, steal=5, guest=30, guest_nice=2
    )
    monkeypatch.setattr(psutil, "cpu_times", lambda: linux)
    assert machine_busy_s() == 100 + 10 + 50 + 3 + 4 + 5

    # macOS: user, nice, system and idle only
    monkeypatch.setattr(psutil, "cpu_times", lambda: MacTimes(user=100, nice=10, system=50, idle=1000))
    assert machine_busy_s() == 100 + 10 + 50


def test_thread_cpu_is_by_native_id_on_linux_and_empty_on_macos_where_psutil_numbers_threads(
    monkeypatch: pytest.MonkeyPatch, process: type[_Process]
) -> None:
    process.threads_ = [(4981, 1.0, 0.5), (4990, 0.25, 0.0)]

    monkeypatch.setattr(sys, "platform", "linux")
    assert thread_cpu_s() == {4981: 1.5, 4990: 0.25}

    # macOS: ids 1, 2, ... are places in a list, which no Thread.native_id matches
    process.threads_ = [(1, 1.0, 0.5), (2, 0.25, 0.0)]
    monkeypatch.setattr(sys, "platform", "darwin")
    assert thread_cpu_s() == {}


# Burns at least 0.2 s of CPU (10 s of waiting at most), then exits 3
BURN = """
import sys, time
deadline = time.monotonic() + 10
while time.process_time() < 0.2 and time.monotonic() < deadline:
    pass
sys.exit(3)
"""


def test_reaping_a_child_gives_its_exit_code_and_its_cpu_to_its_end_on_any_platform() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURN])
    try:
        code, cpu = reap(child)
    finally:
        if child.returncode is None:
            child.kill()
            child.wait()

    assert code == 3
    assert cpu >= 0.2
    assert child.returncode == 3
    assert child.wait() == 3  # Popen knows it is reaped: no second wait


def test_reaping_a_child_past_its_timeout_kills_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        code, _ = reap(child, timeout_s=0.2)
    finally:
        if child.returncode is None:
            child.kill()
            child.wait()

    assert code == -signal.SIGKILL
    assert child.returncode == -signal.SIGKILL


def test_the_readings_of_this_process_agree_with_each_other_on_the_platform_that_runs_the_tests() -> None:
    # Unstubbed: a unit read wrong (bytes as KiB or KiB as bytes) breaks the order of these figures
    now, peak, rusage_peak = own_rss_kib(), own_peak_rss_kib(), rusage_peak_kib()
    assert now is not None
    assert peak is not None
    # RSS now <= own peak <= getrusage's (which may also hold the starter's; Linux updates it a few
    # pages late), all of an interpreter's size: a unit read wrong is 1024 times off
    assert 4 * 1024 <= now <= peak <= rusage_peak + 16 * 1024
    assert rusage_peak < 8 * 1024 * 1024
    assert rss_kib(os.getpid()) == pytest.approx(now, rel=0.5)


def test_another_process_s_peak_is_its_own_vmhwm_and_none_once_it_is_gone() -> None:
    if sys.platform != "linux":
        pytest.skip("read from /proc on Linux only; elsewhere the RSS now (stubbed below)")
    # Given a child that wrote 48 MiB and freed it, then waits
    child = subprocess.Popen(
        [sys.executable, "-c", "b = b'\\x01' * (48 * 1024 * 1024); del b; import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while (peak_rss_kib(child.pid) or 0) < 48 * 1024 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Then its peak holds the 48 MiB it no longer holds, far above what it holds now
        peak = peak_rss_kib(child.pid)
        assert peak is not None
        assert peak >= 48 * 1024
        now = rss_kib(child.pid)
        assert now is not None
        assert now < peak - 32 * 1024
    finally:
        child.communicate(b"")
    # And a process that is gone has none
    assert peak_rss_kib(child.pid) is None


def test_another_process_s_peak_off_linux_is_its_rss_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readings, "_platform", lambda: "darwin")
    monkeypatch.setattr(readings, "rss_kib", lambda pid: 4096 if pid == 7 else None)

    assert (peak_rss_kib(7), peak_rss_kib(8)) == (4096, None)
