"""The control groups' logic on fake /proc and /sys trees: detection, the values written, the readings.

A fake tree is plain directories and files in tmp_path: a made group has no control files until
the code writes one, so a test reads back exactly what was written. What only the kernel does
(the OOM killer, throttling, removing a group) is tests/system/test_cgroups.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localstage.allotment import MIB, Allotment
from localstage.cgroups import (
    ControlGroupError,
    ControlGroups,
    Hierarchies,
    detect,
    own_groups,
    read_mounts,
    stage_group_name,
    stage_groups,
    sweep,
)

OWN = "/process_api/95c31244"
V1_MOUNTINFO = """\
31 23 0:28 / {root} rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / {root}/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / {root}/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / {root}/memory {mode},relatime - cgroup cgroup rw,memory
40 31 0:37 / {root}/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_CGROUP = f"9:name=systemd:/\n4:memory:{OWN}\n3:cpuset:/\n1:cpu:/\n0::/\n"
V2_MOUNTINFO = (
    "30 23 0:26 {mount_root} {root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
)


def _proc(tmp_path: Path, mountinfo: str, cgroup: str) -> Path:
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "mountinfo").write_text(mountinfo)
    (proc / "cgroup").write_text(cgroup)
    return proc


def _v1_host(tmp_path: Path, mode: str = "rw") -> tuple[Path, Path]:
    """This machine's layout: cgroup v1 controllers, memory under our own group, cpu at its root."""
    root = tmp_path / "sys" / "fs" / "cgroup"
    for directory in ("cpu", "cpuacct", "cpuset", f"memory{OWN}", "systemd", "unified"):
        (root / directory).mkdir(parents=True)
    (root / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    return _proc(tmp_path, V1_MOUNTINFO.format(root=root, mode=mode), V1_CGROUP), root


def _v2_host(tmp_path: Path, controllers: str = "cpuset cpu io memory hugetlb pids", own: str = "/stage.scope") -> Path:
    root = tmp_path / "sys" / "fs" / "cgroup"
    (root / own.lstrip("/")).mkdir(parents=True)
    (root / "cgroup.controllers").write_text(controllers + "\n")
    return _proc(tmp_path, V2_MOUNTINFO.format(mount_root="/", root=root), f"0::{own}\n")


def _read(path: Path) -> str:
    return path.read_text().strip()


# --- reading /proc --------------------------------------------------------------------------------


def test_mountinfo_is_read_for_each_mounts_root_point_type_and_options() -> None:
    [mount] = read_mounts(
        r"35 31 0:32 /kube\040pod /sys/fs/cgroup/memory ro,relatime shared:9 - cgroup cgroup rw,memory"
    )
    assert (mount.root, str(mount.point), mount.fstype) == ("/kube pod", "/sys/fs/cgroup/memory", "cgroup")
    assert "ro" in mount.options
    assert "memory" in mount.super_options


def test_own_groups_are_read_per_controller_with_cgroup_v2s_under_the_empty_name() -> None:
    groups = own_groups("4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/d\n")
    assert groups == {"memory": "/a/b", "cpu": "/c", "cpuacct": "/c", "": "/d"}


# --- detection ----------------------------------------------------------------------------------------


def test_cgroup_v1_is_used_where_the_unified_hierarchy_has_neither_controller(tmp_path: Path) -> None:
    # Given this machine's layout: v1 memory and cpu, a unified hierarchy with hugetlb only
    proc, root = _v1_host(tmp_path)
    # When the host is read
    found = detect(proc, "linux")
    # Then v1 is used: memory under this process's own group, cpu at its hierarchy's root
    assert found == Hierarchies(1, root / f"memory{OWN}", root / "cpu")


def test_cgroup_v2_is_used_where_the_unified_hierarchy_has_memory_and_cpu(tmp_path: Path) -> None:
    proc = _v2_host(tmp_path)
    root = tmp_path / "sys" / "fs" / "cgroup"
    assert detect(proc, "linux") == Hierarchies(2, root / "stage.scope", root / "stage.scope")


def test_a_unified_hierarchy_without_the_cpu_controller_leaves_the_limits_off(tmp_path: Path) -> None:
    found = detect(_v2_host(tmp_path, controllers="memory pids"), "linux")
    assert (found.version, found.memory, found.cpu) == (None, None, None)
    assert found.memory_off == "no cgroup v1 memory hierarchy is mounted, nor a cgroup v2 one with it"
    assert found.cpu_off == "no cgroup v1 cpu hierarchy is mounted, nor a cgroup v2 one with it"


def test_a_containers_mount_of_its_own_part_of_the_hierarchy_is_read_from_its_root(tmp_path: Path) -> None:
    # Given a container's view: the mount's root is the container's group, /proc/self/cgroup names it in full
    root = tmp_path / "sys" / "fs" / "cgroup"
    (root / "worker").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    proc = _proc(tmp_path, V2_MOUNTINFO.format(mount_root="/ci/job-7", root=root), "0::/ci/job-7/worker\n")
    # Then the group is found under the mount point
    assert detect(proc, "linux").memory == root / "worker"


def test_a_group_outside_the_mounted_part_of_the_hierarchy_leaves_the_limits_off(tmp_path: Path) -> None:
    root = tmp_path / "sys" / "fs" / "cgroup"
    root.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    proc = _proc(tmp_path, V2_MOUNTINFO.format(mount_root="/ci/job-7", root=root), "0::/ci/job-8\n")
    found = detect(proc, "linux")
    assert found.memory is None
    assert "this process's group /ci/job-8 is outside the mounted part /ci/job-7" in found.memory_off


def test_a_read_only_mount_leaves_its_controller_off_and_says_so(tmp_path: Path) -> None:
    proc, root = _v1_host(tmp_path, mode="ro")
    found = detect(proc, "linux")
    assert (found.version, found.memory, found.cpu) == (1, None, root / "cpu")
    assert found.memory_off == f"cgroup v1 memory: {root / 'memory'} is mounted read-only"


def test_a_hierarchy_this_user_may_not_write_leaves_the_limits_off_and_says_so(tmp_path: Path) -> None:
    proc, _ = _v1_host(tmp_path)
    found = detect(proc, "linux", writable=lambda _: False)
    assert found.version is None
    assert "is not writable by this user" in found.memory_off
    assert "the stage needs root here" in found.cpu_off


def test_control_groups_are_linux_only(tmp_path: Path) -> None:
    found = detect(tmp_path, "darwin")
    assert found == Hierarchies(None, None, None, *["control groups are Linux only; this host is darwin"] * 2)


def test_a_host_without_proc_leaves_the_limits_off(tmp_path: Path) -> None:
    found = detect(tmp_path / "nowhere", "linux")
    assert found.version is None
    assert found.memory_off.startswith("cannot read this process's control groups")


# --- the stage's groups and an environment's ------------------------------------------------------


@pytest.fixture
def v1(tmp_path: Path) -> Hierarchies:
    proc, _ = _v1_host(tmp_path)
    return detect(proc, "linux")


@pytest.fixture
def v2(tmp_path: Path) -> Hierarchies:
    return detect(_v2_host(tmp_path), "linux")


def test_on_cgroup_v1_an_environment_gets_its_memory_limit_and_the_inits_cpu_then_the_invokes(
    v1: Hierarchies,
) -> None:
    # Given the stage's groups at the template's 256 MB
    groups = ControlGroups.open(Allotment(), 256, v1)
    # When an environment's groups are made
    group = groups.create(7)
    # Then its memory group is limited at 256 MiB, under the stage's own group under ours
    assert group.memory_dir is not None
    assert group.cpu_dir is not None
    assert group.memory_dir.parent.parent == v1.memory
    assert _read(group.memory_dir / "memory.limit_in_bytes") == str(256 * MIB)
    # And its CPU is the init's (two vCPUs) until its invoke, then its share by memory size
    assert (_read(group.cpu_dir / "cpu.cfs_quota_us"), _read(group.cpu_dir / "cpu.cfs_period_us")) == ("40000", "20000")
    group.during_invoke()
    assert (_read(group.cpu_dir / "cpu.cfs_quota_us"), _read(group.cpu_dir / "cpu.cfs_period_us")) == ("2894", "20000")
    group.during_init()
    assert _read(group.cpu_dir / "cpu.cfs_quota_us") == "40000"
    assert groups.cpu_model == "lambda"


def test_on_cgroup_v2_the_controllers_are_handed_down_and_one_group_holds_both_limits(v2: Hierarchies) -> None:
    assert v2.memory is not None
    groups = ControlGroups.open(Allotment(memory_mb=128), 256, v2)
    group = groups.create("a")
    [directory] = group.dirs
    assert _read(v2.memory / "cgroup.subtree_control") == "+memory +cpu"
    assert _read(directory.parent / "cgroup.subtree_control") == "+memory +cpu"
    assert _read(directory / "memory.max") == str(128 * MIB)
    assert _read(directory / "cpu.max") == "40000 20000"
    group.during_invoke()
    assert _read(directory / "cpu.max") == "1447 20000"


def test_a_throttled_init_starts_at_the_invokes_share(v1: Hierarchies) -> None:
    group = ControlGroups.open(Allotment(throttle_init=True), 1769, v1).create(1)
    assert group.cpu_dir is not None
    assert _read(group.cpu_dir / "cpu.cfs_quota_us") == "20000"


def test_the_host_cpu_model_makes_no_cpu_group_and_says_it_was_asked_for(v1: Hierarchies) -> None:
    groups = ControlGroups.open(Allotment(cpu_model="host"), 256, v1)
    group = groups.create(1)
    assert group.cpu_dir is None
    assert group.memory_dir is not None
    assert groups.summary()["cpu_model"] == "host"
    assert groups.summary()["cpu_model_off"] == "asked for (--cpu-model host)"
    group.during_invoke()  # nothing to throttle: no error


def test_a_v2_group_that_cannot_hand_its_controllers_down_leaves_the_limits_off_saying_why(v2: Hierarchies) -> None:
    # Given a group whose controllers the kernel will not hand down (here: its control file cannot be written)
    assert v2.memory is not None
    (v2.memory / "cgroup.subtree_control").mkdir()
    # When the stage's groups are opened
    groups = ControlGroups.open(Allotment(), 256, v2)
    # Then nothing is limited, and both say why
    assert (groups.memory_limited, groups.cpu_model) == (False, "host")
    assert groups.memory_off.startswith("cgroup v2: cannot hand the memory and cpu controllers down from")
    assert groups.cpu_off == groups.memory_off
    assert groups.dirs == []


def test_asking_for_the_lambda_cpu_model_where_the_host_cannot_give_it_is_an_error(tmp_path: Path) -> None:
    off = detect(tmp_path, "darwin")
    with pytest.raises(ControlGroupError, match="--cpu-model lambda: control groups are Linux only"):
        ControlGroups.open(Allotment(cpu_model="lambda"), 256, off)


def test_where_the_host_allows_nothing_every_group_is_a_no_op_and_the_summary_says_why(tmp_path: Path) -> None:
    # Given a host without control groups
    groups = ControlGroups.open(Allotment(), 256, detect(tmp_path, "darwin"))
    # When an environment's group is used as the pool uses it
    group = groups.create(1)
    argv = [sys.executable, "-c", "pass"]
    group.during_invoke()
    # Then the command is unchanged, the readings are empty, and removing it does nothing
    assert group.command(argv) == argv
    assert (group.peak_memory_bytes(), group.oom_kills(), group.out_of_memory(), group.cpu_throttled_s()) == (
        None, 0, False, None,
    )  # fmt: skip
    group.remove()
    groups.close()
    assert groups.summary() == {
        "memory_size_mb": 256,
        "memory_limit": False,
        "memory_limit_off": "control groups are Linux only; this host is darwin",
        "cgroup_version": None,
        "cpu_model": "host",
        "cpu_model_off": "control groups are Linux only; this host is darwin",
        "invoke_vcpus": None,
        "init_vcpus": None,
        "host_cores_per_vcpu": 1.0,
        "throttle_init": False,
    }
    assert groups.banner() == [
        "memory         256 MB, not enforced: control groups are Linux only; this host is darwin",
        "cpu model      host: environments take what the host gives "
        "(control groups are Linux only; this host is darwin)",
    ]


def test_the_summary_and_banner_name_the_model_in_force(v1: Hierarchies) -> None:
    groups = ControlGroups.open(Allotment(memory_mb=512), 256, v1)
    summary = groups.summary()
    assert (summary["memory_size_mb"], summary["memory_limit"], summary["cgroup_version"]) == (512, True, 1)
    assert (summary["cpu_model"], summary["invoke_vcpus"], summary["init_vcpus"]) == ("lambda", 0.2894, 2.0)
    assert groups.banner()[0].startswith("memory         512 MB, a hard limit (cgroup v1)")
    assert groups.banner()[1].startswith("cpu model      lambda (cgroup v1): 0.289 host cores per INVOKE")


@pytest.mark.parametrize("environment_id", ["../up", "a/b", "", "x y"])
def test_an_environment_id_must_be_a_plain_name(v1: Hierarchies, environment_id: str) -> None:
    with pytest.raises(ValueError, match="an environment id is a plain name"):
        ControlGroups.open(Allotment(), 256, v1).create(environment_id)


def test_an_environment_id_is_given_groups_once(v1: Hierarchies) -> None:
    groups = ControlGroups.open(Allotment(), 256, v1)
    groups.create(3)
    with pytest.raises(ValueError, match="environment 3 already has its groups"):
        groups.create(3)


def test_the_command_enters_every_group_before_it_runs_as_the_same_process(v1: Hierarchies) -> None:
    # Given an environment's groups (here plain files stand for cgroup.procs)
    group = ControlGroups.open(Allotment(), 256, v1).create(1)
    # When a command is started through the group
    argv = group.command([sys.executable, "-c", "import os; print(os.getpid())"])
    ran = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    # Then the process wrote its own pid into each group's procs before it ran
    assert [_read(d / "cgroup.procs") for d in group.dirs] == [ran.stdout.strip()] * 2


def test_a_group_that_cannot_be_entered_stops_the_command(v1: Hierarchies) -> None:
    group = ControlGroups.open(Allotment(), 256, v1).create(1)
    assert group.memory_dir is not None
    (group.memory_dir / "cgroup.procs").mkdir()
    argv = group.command([sys.executable, "-c", "print('ran')"])
    ran = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert (ran.returncode, ran.stdout) == (126, "")


# --- readings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "text", "kills"),
    [
        ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", 1),
        ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", 0),
        ("memory.failcnt", "3\n", 1),  # a kernel that does not count kills: the limit was hit
        ("memory.failcnt", "0\n", 0),
    ],
)
def test_on_cgroup_v1_oom_kills_are_read_from_the_oom_control_else_the_failure_count(
    v1: Hierarchies, control: str, text: str, kills: int
) -> None:
    group = ControlGroups.open(Allotment(), 256, v1).create(1)
    assert group.memory_dir is not None
    (group.memory_dir / control).write_text(text)
    assert group.oom_kills() == kills
    assert group.out_of_memory() is bool(kills)


def test_on_cgroup_v2_oom_kills_are_read_from_the_memory_events(v2: Hierarchies) -> None:
    group = ControlGroups.open(Allotment(), 256, v2).create(1)
    [directory] = group.dirs
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n")
    assert group.out_of_memory()


@pytest.mark.parametrize(
    ("hierarchies", "peak", "stat", "throttled_s"),
    [
        ("v1", "memory.max_usage_in_bytes", "nr_periods 9\nnr_throttled 8\nthrottled_time 1500000000\n", 1.5),
        ("v2", "memory.peak", "usage_usec 90\nnr_throttled 8\nthrottled_usec 250000\n", 0.25),
    ],
)
def test_the_peak_memory_and_the_time_throttled_are_read_from_the_groups_counters(
    request: pytest.FixtureRequest, hierarchies: str, peak: str, stat: str, throttled_s: float
) -> None:
    group = ControlGroups.open(Allotment(), 256, request.getfixturevalue(hierarchies)).create(1)
    assert group.memory_dir is not None
    assert group.cpu_dir is not None
    (group.memory_dir / peak).write_text("59768832\n")
    (group.cpu_dir / "cpu.stat").write_text(stat)
    assert group.peak_memory_bytes() == 59768832
    assert group.cpu_throttled_s() == throttled_s


# --- groups left behind ----------------------------------------------------------------------------


def test_a_stage_that_was_killed_leaves_groups_the_next_one_sweeps(v1: Hierarchies) -> None:
    # Given the groups of a stage whose process is gone, of one still running (this one), of a stage
    # in another pid namespace, and a group that is no stage's
    assert v1.memory is not None
    namespace = os.stat("/proc/self/ns/pid").st_ino
    dead = v1.memory / f"localstage-{namespace}-{_gone_pid()}-0bad"
    (dead / "env-1").mkdir(parents=True)
    live = v1.memory / f"localstage-{namespace}-{os.getpid()}-0ace"
    elsewhere = v1.memory / f"localstage-{namespace + 1}-{_gone_pid()}-0fa1"
    for directory in (live, elsewhere, v1.memory / "someone-else"):
        directory.mkdir()
    # When the next stage sweeps
    removed = sweep(v1.memory)
    # Then only the dead stage's groups are gone
    assert removed == [dead]
    assert set(stage_groups(v1.memory)) == {elsewhere, live}
    assert (v1.memory / "someone-else").is_dir()


def test_a_stage_groups_name_carries_its_pid_namespace_and_pid() -> None:
    namespace, pid, token = stage_group_name().removeprefix("localstage-").split("-")
    assert (int(namespace), int(pid), len(token)) == (os.stat("/proc/self/ns/pid").st_ino, os.getpid(), 8)


def _gone_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
