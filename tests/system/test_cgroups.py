"""The control groups on the real kernel: the OOM killer, the peak, the CPU quota, nothing left behind.

Each test makes a stage's groups (``ControlGroups.open``) and runs child processes in an
environment's group, as the pool will. Timing-free: the quota is asserted as written and as the
kernel's own throttle counter shows it; the wall-time ratios between memory sizes are a
benchmark row (``benchmarks/cpu_share.py``). Needs Linux, root and writable memory and cpu
controllers (cgroup v1 or v2); without them the tests skip saying why, and fail in CI, which has them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localstage.allotment import MIB, Allotment
from localstage.cgroups import ControlGroups, EnvironmentGroup, Hierarchies, detect, stage_groups
from tests.support.ci import cannot_run

ALLOCATE = "import sys; held = bytearray(b'\\1') * (int(sys.argv[1]) * 1024 * 1024); print('held')"
"""A child that touches every page of ``argv[1]`` MiB (a zero-filled buffer would leave pages untouched)."""
SLEEP = "import time; print('ready', flush=True); time.sleep(120)"
"""A child that says it runs (so it is in its groups), then waits to be killed."""
SPIN = "x = 0\nfor i in range(2_000_000): x += i * i"
"""A child with CPU work to do, far more than one CFS period's quota at the smallest memory size."""


@pytest.fixture(scope="module")
def hierarchies() -> Hierarchies:
    found = detect()
    if found.memory is None or found.cpu is None:
        cannot_run(f"no control groups here: {found.memory_off or found.cpu_off}", "the control group tests")
    return found


@pytest.fixture(scope="module", autouse=True)
def nothing_left(hierarchies: Hierarchies) -> Iterator[None]:
    """After the module: no group of a stage of this process is left in either hierarchy."""
    yield
    ours = f"-{os.getpid()}-"
    bases = {hierarchies.memory, hierarchies.cpu} - {None}
    assert [d for base in bases if base for d in stage_groups(base) if ours in d.name] == []


@pytest.fixture
def stage(hierarchies: Hierarchies) -> Iterator[ControlGroups]:
    """A stage's groups at 128 MB; after the test, closed, and nothing of them left."""
    groups = ControlGroups.open(Allotment(), 128, hierarchies)
    made = groups.dirs
    assert len(made) == (1 if hierarchies.version == 2 else 2)
    yield groups
    groups.close()
    assert [d for d in made if d.exists()] == []


def _run(group: EnvironmentGroup, code: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    argv = group.command([sys.executable, "-c", code, *arguments])
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


def _running(group: EnvironmentGroup) -> subprocess.Popen[str]:
    """A process started in ``group`` that has said it runs."""
    process = subprocess.Popen(group.command([sys.executable, "-c", SLEEP]), stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def _quota(group: EnvironmentGroup) -> tuple[int, int]:
    assert group.cpu_dir is not None
    if group.version == 2:
        quota, period = (group.cpu_dir / "cpu.max").read_text().split()
        return int(quota), int(period)
    return int((group.cpu_dir / "cpu.cfs_quota_us").read_text()), int((group.cpu_dir / "cpu.cfs_period_us").read_text())


def test_an_environment_that_grows_past_its_memory_size_is_killed_and_reported_out_of_memory(
    stage: ControlGroups,
) -> None:
    # Given an environment at 128 MB
    group = stage.create(1)
    # When its process holds twice that
    ran = _run(group, ALLOCATE, "256")
    # Then the kernel killed it, and the group says it was the OOM killer
    assert ran.returncode == -signal.SIGKILL
    assert ran.stdout == ""
    assert group.out_of_memory()
    assert group.oom_kills() == 1
    # And its peak is the limit it hit
    peak = group.peak_memory_bytes()
    assert peak is not None
    assert 120 * MIB <= peak <= 128 * MIB


def test_an_environment_under_its_memory_size_lives_and_its_peak_is_read(stage: ControlGroups) -> None:
    # Given an environment at 128 MB
    group = stage.create(1)
    # When its process holds 48 MiB and ends
    ran = _run(group, ALLOCATE, "48")
    # Then it ran to its end, no OOM kill is counted, and its peak covers what it held
    assert (ran.returncode, ran.stdout.strip()) == (0, "held")
    assert not group.out_of_memory()
    peak = group.peak_memory_bytes()
    assert peak is not None
    assert 48 * MIB <= peak < 128 * MIB


def test_the_command_puts_the_process_in_its_groups_before_it_runs(stage: ControlGroups) -> None:
    group = stage.create("entered")
    ran = _run(group, "print(open('/proc/self/cgroup').read())")
    listed = {line.split(":", 2)[2] for line in ran.stdout.split()}
    assert {f"/{d.relative_to(_mount_of(d))}" for d in group.dirs} <= listed


def _mount_of(directory: Path) -> Path:
    """The hierarchy's mount point above a group (the first ancestor that is a mount)."""
    while not directory.is_mount():
        directory = directory.parent
    return directory


@pytest.mark.parametrize(("memory_mb", "invoke"), [(128, (1447, 20000)), (256, (2894, 20000)), (1769, (20000, 20000))])
def test_the_kernel_takes_the_inits_quota_then_the_invokes(
    hierarchies: Hierarchies, memory_mb: int, invoke: tuple[int, int]
) -> None:
    with ControlGroups.open(Allotment(), memory_mb, hierarchies) as groups:
        group = groups.create(1)
        assert _quota(group) == (40000, 20000)  # up to two vCPUs during INIT
        group.during_invoke()
        assert _quota(group) == invoke


def test_a_process_over_its_invoke_share_is_throttled_by_the_kernel(stage: ControlGroups) -> None:
    # Given an environment at 128 MB, past its INIT
    group = stage.create(1)
    group.during_invoke()
    # When its process does more CPU work than its quota allows per period
    ran = _run(group, SPIN)
    # Then the kernel held it back for its quota
    assert ran.returncode == 0
    throttled = group.cpu_throttled_s()
    assert throttled is not None
    assert throttled > 0


def test_removing_an_environment_ends_what_still_runs_in_it_and_leaves_no_group(stage: ControlGroups) -> None:
    # Given an environment whose process is still running
    group = stage.create(1)
    process = _running(group)
    try:
        # When its groups are removed
        group.remove()
        # Then the process was killed, and the groups are gone
        assert process.wait(timeout=10) == -signal.SIGKILL
        assert [d for d in group.dirs if d.exists()] == []
    finally:
        process.kill()
        process.communicate()


def test_closing_the_stage_removes_every_environments_group_even_with_processes_in_them(
    hierarchies: Hierarchies,
) -> None:
    # Given a stage with three environments, one still running
    groups = ControlGroups.open(Allotment(), 256, hierarchies)
    made = [groups.create(n) for n in range(3)]
    process = _running(made[0])
    parents = groups.dirs
    try:
        # When the stage closes
        groups.close()
        # Then every group is gone, the stage's own with them
        assert process.wait(timeout=10) == -signal.SIGKILL
        assert [d for group in made for d in group.dirs if d.exists()] == []
        assert [d for d in parents if d.exists()] == []
    finally:
        process.kill()
        process.communicate()


def test_the_groups_of_a_stage_that_was_killed_are_swept_by_the_next(hierarchies: Hierarchies) -> None:
    # Given a stage killed before it could close (its process gone, its groups left)
    left = subprocess.run(
        [sys.executable, "-c", "from localstage.allotment import Allotment\n"
         "from localstage.cgroups import ControlGroups\n"
         "groups = ControlGroups.open(Allotment(), 256)\n"
         "groups.create(1)\nprint(*groups.dirs)"],
        capture_output=True, text=True, check=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    ).stdout.split()  # fmt: skip
    assert left
    assert all(Path(d).is_dir() for d in left)
    # When the next stage opens
    with ControlGroups.open(Allotment(), 256, hierarchies):
        # Then the killed stage's groups are gone
        assert [d for d in left if Path(d).exists()] == []
    assert all(Path(d) not in stage_groups(Path(d).parent) for d in left)
