"""The kernel's control groups that hold each execution environment to its allotment (Linux).

One ``ControlGroups`` per stage, one ``EnvironmentGroup`` per execution environment:

    groups = ControlGroups.open(allotment, template_memory_mb)   # the stage starts
    group = groups.create(index)           # before the environment's process starts
    argv = group.command(argv)             # the process enters its groups before it runs
    group.procs                            # or: where a process the stage did not start writes its own pid
    group.during_invoke()                  # its INIT is over (it asked for its first event)
    group.out_of_memory(), group.peak_memory_bytes()   # once it died; for REPORT
    group.remove()                         # the environment ends
    groups.close()                         # the stage stops: every group left is removed

An environment's memory group has a hard limit at the memory size, swap included, so one that
grows past it is killed by the kernel's OOM killer, and the group's counters say so afterwards.
Its CPU group has the CFS quota of ``localstage.allotment``: the INIT's, then the INVOKE's.

Where the groups go: under this process's own group in each hierarchy, never above it, so any
limit or accounting the host puts on the stage (a container, a CI job's group) still covers its
environments. Each stage makes one group of its own there (``stage_group_name``) and the
environments' groups inside it, so closing the stage removes them all, and the empty groups a
killed stage left are swept by the next. Which hierarchy: cgroup v2 where its unified
hierarchy has the memory and cpu controllers, else cgroup v1's memory and cpu hierarchies,
each where it is mounted writable. Where the host allows neither (not Linux, not root, a
read-only mount) every group is a no-op and ``ControlGroups.memory_off``/``cpu_off`` say why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from localstage.allotment import MIB, Allotment, CpuModel, CpuQuota

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

Version = Literal[1, 2]
STAGE_PREFIX = "localstage-"
"""A stage's own group is ``localstage-<pid namespace>-<pid>-<token>``: see ``stage_group_name``."""
_STAGE_GROUP = re.compile(rf"^{STAGE_PREFIX}(\d+)-(\d+)-[0-9a-f]+$")
_ENVIRONMENT_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_EMPTY_WAIT_S = 5.0
"""How long ``remove`` waits for a killed group's tasks to leave it before giving up."""
_ENTER = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n - 1)); done; exec "$@"'
"""A shell that writes its own pid into each group's ``cgroup.procs``, then becomes the command (same pid)."""


class ControlGroupError(RuntimeError):
    """The kernel refused a control group operation the stage needs (a group left behind, a CPU model asked for)."""


@dataclass(frozen=True)
class Mount:
    """One line of ``/proc/self/mountinfo``, as far as control groups need it."""

    root: str
    point: Path
    fstype: str
    options: frozenset[str]
    super_options: frozenset[str]


def read_mounts(text: str) -> list[Mount]:
    """The mounts of a ``mountinfo`` text (proc(5)): root, mount point, type, per-mount and super options."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        separator = fields.index("-")
        if separator < 6 or len(fields) < separator + 4:
            continue
        mounts.append(
            Mount(
                root=_unescape(fields[3]),
                point=Path(_unescape(fields[4])),
                fstype=fields[separator + 1],
                options=frozenset(fields[5].split(",")),
                super_options=frozenset(fields[separator + 3].split(",")),
            )
        )
    return mounts


def _unescape(text: str) -> str:
    """Decode mountinfo's octal escapes (a space is written as a backslash and its octal code)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), text)


def own_groups(text: str) -> dict[str, str]:
    """This process's group per controller from a ``/proc/self/cgroup`` text; cgroup v2's under ``""``."""
    groups: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


@dataclass(frozen=True)
class Hierarchies:
    """Where this host lets the stage make groups, per controller, and why not where it does not.

    Attributes:
        version: 2 (the unified hierarchy), 1, or None when neither controller is usable.
        memory: the directory of this process's own group in the memory hierarchy, or None.
        cpu: the same in the cpu hierarchy (on cgroup v2, the same directory as ``memory``).
        memory_off: why ``memory`` is None ("" when it is not).
        cpu_off: why ``cpu`` is None ("" when it is not).
    """

    version: Version | None
    memory: Path | None
    cpu: Path | None
    memory_off: str = ""
    cpu_off: str = ""


def _writable_by_us(path: Path) -> bool:
    return os.access(path, os.W_OK)


def detect(
    proc_self: Path = Path("/proc/self"),
    platform: str = sys.platform,
    writable: Callable[[Path], bool] = _writable_by_us,
) -> Hierarchies:
    """Which control groups this host lets the stage use, read from ``proc_self`` (mountinfo and cgroup).

    Args:
        proc_self: ``/proc/self``, or a fake one in tests.
        platform: ``sys.platform``; control groups are Linux's.
        writable: whether this process may make groups in a directory (``os.access``; a test hands in its own).
    """
    if not platform.startswith("linux"):
        why = f"control groups are Linux only; this host is {platform}"
        return Hierarchies(None, None, None, why, why)
    try:
        mounts = read_mounts((proc_self / "mountinfo").read_text())
        own = own_groups((proc_self / "cgroup").read_text())
    except OSError as exc:
        why = f"cannot read this process's control groups ({exc})"
        return Hierarchies(None, None, None, why, why)
    unified = next((m for m in mounts if m.fstype == "cgroup2" and {"memory", "cpu"} <= _controllers(m.point)), None)
    if unified is not None:
        base, why = _usable(unified, own.get(""), writable, "cgroup v2")
        return Hierarchies(2 if base else None, base, base, why, why)
    found: dict[str, tuple[Path | None, str]] = {}
    for controller in ("memory", "cpu"):
        mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.super_options), None)
        if mount is None:
            found[controller] = (None, f"no cgroup v1 {controller} hierarchy is mounted, nor a cgroup v2 one with it")
        else:
            found[controller] = _usable(mount, own.get(controller), writable, f"cgroup v1 {controller}")
    (memory, memory_off), (cpu, cpu_off) = found["memory"], found["cpu"]
    return Hierarchies(1 if memory or cpu else None, memory, cpu, memory_off, cpu_off)


def _controllers(point: Path) -> set[str]:
    try:
        return set((point / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def _usable(mount: Mount, own: str | None, writable: Callable[[Path], bool], name: str) -> tuple[Path | None, str]:
    """This process's group in ``mount`` if the stage may make groups in it, else None and why not."""
    if own is None:
        return None, f"{name}: this process is in no group of the hierarchy at {mount.point}"
    root = mount.root.rstrip("/")
    if own != root and not own.startswith(f"{root}/"):
        return None, f"{name}: this process's group {own} is outside the mounted part {mount.root}"
    base = mount.point / own[len(root) :].lstrip("/")
    if "ro" in mount.options:
        return None, f"{name}: {mount.point} is mounted read-only"
    if not base.is_dir():
        return None, f"{name}: this process's group {base} is not there"
    if not writable(base):
        return None, f"{name}: {base} is not writable by this user (uid {os.geteuid()}; the stage needs root here)"
    return base, ""


@dataclass
class EnvironmentGroup:
    """One execution environment's groups: its memory limit and CPU quota, its readings, its removal.

    Every method is a no-op (and every reading None or False) for a controller the host does not
    allow, so the pool calls them alike everywhere.
    """

    name: str
    version: Version | None
    memory_dir: Path | None
    cpu_dir: Path | None
    init: CpuQuota | None
    invoke: CpuQuota | None
    _forget: Callable[[EnvironmentGroup], None] = field(repr=False, default=lambda _: None)

    @property
    def dirs(self) -> list[Path]:
        """The group's directories, one per hierarchy (one on cgroup v2)."""
        return list(dict.fromkeys(d for d in (self.memory_dir, self.cpu_dir) if d is not None))

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` started inside this group: a shell enters the groups, then ``exec``s it (same pid).

        What a process allocates is charged to the group it is in then; entering before the
        interpreter starts charges the whole environment to its own group, which ``attach``
        after the start cannot.
        """
        procs = self.procs
        if not procs:
            return list(argv)
        return ["/bin/sh", "-c", _ENTER, "sh", str(len(procs)), *procs, *argv]

    @property
    def procs(self) -> list[str]:
        """The group's ``cgroup.procs`` files, one per hierarchy: a process that writes its own pid into each is in it.

        What a process the stage does not start itself needs (one restored from a SnapStart
        snapshot, forked by the snapshot): it writes its pid there before it goes on, so that what
        it allocates from then on is charged to its own group. Empty where the host allows none.
        """
        return [str(d / "cgroup.procs") for d in self.dirs]

    def attach(self, pid: int) -> None:
        """Move the running process ``pid`` into this group (what it allocated before stays charged where it was)."""
        for directory in self.dirs:
            _write(directory / "cgroup.procs", str(pid))

    def during_init(self) -> None:
        """Give the group the INIT's CPU (the allotment's init quota); where it starts."""
        self._cpu(self.init)

    def during_invoke(self) -> None:
        """Give the group the INVOKE's CPU: its share by memory size."""
        self._cpu(self.invoke)

    def _cpu(self, quota: CpuQuota | None) -> None:
        if self.cpu_dir is None or quota is None:
            return
        if self.version == 2:
            _write(self.cpu_dir / "cpu.max", f"{quota.quota_us} {quota.period_us}")
        else:
            _write(self.cpu_dir / "cpu.cfs_period_us", str(quota.period_us))
            _write(self.cpu_dir / "cpu.cfs_quota_us", str(quota.quota_us))

    def peak_memory_bytes(self) -> int | None:
        """The most memory the group ever held (its processes' pages and the page cache it was charged), or None."""
        if self.memory_dir is None:
            return None
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        text = _read_counter(f"{self.memory_dir}/{name}")
        return int(text) if text and text.strip().isdigit() else None

    def cpu_throttled_s(self) -> float | None:
        """How long the kernel has held the group's processes back for its CPU quota, in seconds, or None."""
        if self.cpu_dir is None:
            return None
        text = _read(self.cpu_dir / "cpu.stat")
        if self.version == 2:
            usec = _counter(text, "throttled_usec")
            return None if usec is None else usec / 1e6
        nsec = _counter(text, "throttled_time")
        return None if nsec is None else nsec / 1e9

    def oom_kills(self) -> int:
        """How many of the group's processes the kernel's OOM killer has killed.

        cgroup v2: ``memory.events``' ``oom_kill``. cgroup v1: ``memory.oom_control``'s
        ``oom_kill``; a kernel too old to count them gives 1 when the limit was ever hit
        (``memory.failcnt``), for the pool to confirm by how the process ended (killed).
        """
        if self.memory_dir is None:
            return 0
        if self.version == 2:
            return _counter(_read(self.memory_dir / "memory.events"), "oom_kill") or 0
        kills = _counter(_read(self.memory_dir / "memory.oom_control"), "oom_kill")
        if kills is not None:
            return kills
        failures = _read(self.memory_dir / "memory.failcnt")
        return 1 if failures and failures.strip() not in ("", "0") else 0

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group for passing its limit: ``Runtime.OutOfMemory``."""
        return self.oom_kills() > 0

    def remove(self) -> None:
        """Kill whatever still runs in the group, then remove it; safe to call twice.

        Raises:
            ControlGroupError: a directory the kernel would not remove.
        """
        try:
            for directory in self.dirs:
                _remove(directory, self.version)
        finally:
            self._forget(self)


def _limit_memory(directory: Path, version: Version, memory_mb: int) -> None:
    """A hard limit of ``memory_mb`` with no swap beside it; past it, the OOM killer."""
    limit = str(memory_mb * MIB)
    if version == 2:
        _write(directory / "memory.max", limit)
        _write_if_there(directory / "memory.swap.max", "0")
        _write_if_there(directory / "memory.oom.group", "1")  # the whole environment ends, as Lambda's
        return
    _write(directory / "memory.limit_in_bytes", limit)
    # memsw counts memory and swap together: at the same limit, no swap is left to grow into.
    if not _write_if_there(directory / "memory.memsw.limit_in_bytes", limit):
        _write_if_there(directory / "memory.swappiness", "0")


@dataclass
class ControlGroups:
    """The stage's groups: its own group in each hierarchy, and one ``EnvironmentGroup`` per environment.

    Attributes:
        allotment: the run's options.
        memory_mb: the memory size in force (the option's, else the template's).
        hierarchies: what the host allows (``detect``).
        cpu_model: the CPU model in force.
        memory_off: why environments have no memory limit ("" when they have one).
        cpu_off: why the CPU model is ``host`` ("" under ``lambda``).
    """

    allotment: Allotment
    memory_mb: int
    hierarchies: Hierarchies
    cpu_model: CpuModel
    memory_off: str = ""
    cpu_off: str = ""
    _memory_parent: Path | None = None
    _cpu_parent: Path | None = None
    _groups: dict[str, EnvironmentGroup] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls, allotment: Allotment, template_memory_mb: int, hierarchies: Hierarchies | None = None
    ) -> ControlGroups:
        """Make the stage's own groups where the host allows them (``detect`` unless ``hierarchies`` is given).

        Groups a killed stage left behind are removed first.

        Raises:
            ControlGroupError: ``--cpu-model lambda`` was asked for and the host cannot give it.
            AllotmentError: a memory size Lambda would refuse.
        """
        memory_mb = allotment.memory_for(template_memory_mb)
        found = hierarchies or detect()
        want_cpu = allotment.cpu_model != "host"
        groups = cls(allotment, memory_mb, found, "host", found.memory_off, found.cpu_off)
        if allotment.cpu_model == "host":
            groups.cpu_off = "asked for (--cpu-model host)"
        name = stage_group_name()
        for base in dict.fromkeys(b for b in (found.memory, found.cpu if want_cpu else None) if b is not None):
            sweep(base)
        try:
            if found.version == 2 and found.memory is not None:
                groups._open_unified(found.memory, name, want_cpu)
            else:
                groups._open_v1(name, want_cpu)
        except BaseException:
            groups.close()
            raise
        if groups._cpu_parent is not None:
            groups.cpu_model = "lambda"
        elif allotment.cpu_model == "lambda":
            groups.close()
            raise ControlGroupError(f"--cpu-model lambda: {groups.cpu_off}")
        return groups

    def _open_v1(self, name: str, want_cpu: bool) -> None:
        if self.hierarchies.memory is not None:
            self._memory_parent, self.memory_off = _make(self.hierarchies.memory / name, "memory")
        if want_cpu and self.hierarchies.cpu is not None:
            self._cpu_parent, self.cpu_off = _make(self.hierarchies.cpu / name, "cpu")

    def _open_unified(self, base: Path, name: str, want_cpu: bool) -> None:
        """Hand the controllers down to the stage's group (cgroup v2), or say why the host will not.

        A group's children get a controller only where the group hands it down, and a group
        holding processes (other than the root) cannot hand any down.
        """
        controllers = ["memory", *(["cpu"] if want_cpu else [])]
        enable = " ".join(f"+{c}" for c in controllers)
        parent = base / name
        try:
            if not set(controllers) <= set((_read(base / "cgroup.subtree_control") or "").split()):
                _write(base / "cgroup.subtree_control", enable)
            parent.mkdir()
            _write(parent / "cgroup.subtree_control", enable)
        except OSError as exc:
            why = (
                f"cgroup v2: cannot hand the {' and '.join(controllers)} controllers down from {base} "
                f"({exc.strerror}); run the stage in a group of its own that it may manage"
            )
            self.memory_off = why
            if want_cpu:
                self.cpu_off = why
            with contextlib.suppress(OSError):
                parent.rmdir()
            return
        self._memory_parent = parent
        self._cpu_parent = parent if want_cpu else None

    @property
    def dirs(self) -> list[Path]:
        """The stage's own groups, one per hierarchy (none where the host allows none)."""
        return list(dict.fromkeys(d for d in (self._memory_parent, self._cpu_parent) if d is not None))

    @property
    def memory_limited(self) -> bool:
        """Whether environments get a hard memory limit."""
        return self._memory_parent is not None

    def create(self, environment_id: str | int) -> EnvironmentGroup:
        """The groups of one new environment, limits written, at the INIT's CPU; empty until a process enters.

        Raises:
            ValueError: an id that is no plain name, or one already in use.
            OSError: the kernel refused a group or a limit (the half-made group is removed).
        """
        name = f"env-{environment_id}"
        if not _ENVIRONMENT_ID.match(str(environment_id)):
            raise ValueError(f"an environment id is a plain name, not {environment_id!r}")
        version = self.hierarchies.version
        memory_dir = self._memory_parent / name if self._memory_parent else None
        cpu_dir = self._cpu_parent / name if self._cpu_parent else None
        lambda_cpu = self.cpu_model == "lambda"
        group = EnvironmentGroup(
            name,
            version,
            memory_dir,
            cpu_dir,
            self.allotment.init_quota(self.memory_mb) if lambda_cpu else None,
            self.allotment.invoke_quota(self.memory_mb) if lambda_cpu else None,
            self._forget,
        )
        with self._lock:
            if name in self._groups:
                raise ValueError(f"environment {environment_id} already has its groups")
            self._groups[name] = group
        try:
            for directory in group.dirs:
                directory.mkdir()
            if memory_dir is not None and version is not None:
                _limit_memory(memory_dir, version, self.memory_mb)
            group.during_init()
        except BaseException:
            with contextlib.suppress(ControlGroupError):
                group.remove()
            raise
        return group

    def _forget(self, group: EnvironmentGroup) -> None:
        with self._lock:
            self._groups.pop(group.name, None)

    def close(self) -> None:
        """Remove every environment's group still there, then the stage's own; safe to call twice.

        Raises:
            ControlGroupError: groups the kernel would not remove (every other one is removed first).
        """
        with self._lock:
            groups = list(self._groups.values())
        left = []
        for group in groups:
            try:
                group.remove()
            except ControlGroupError as exc:
                left.append(str(exc))
        for parent in self.dirs:
            try:
                _remove_tree(parent, self.hierarchies.version)
            except ControlGroupError as exc:
                left.append(str(exc))
        self._memory_parent = self._cpu_parent = None
        if left:
            raise ControlGroupError("; ".join(left))

    def __enter__(self) -> ControlGroups:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def summary(self) -> dict[str, Any]:
        """The allotment in force, for ``summary.json`` and the run report."""
        lambda_cpu = self.cpu_model == "lambda"
        return {
            "memory_size_mb": self.memory_mb,
            "memory_limit": self.memory_limited,
            "memory_limit_off": self.memory_off if not self.memory_limited else "",
            "cgroup_version": self.hierarchies.version if self.memory_limited or lambda_cpu else None,
            "cpu_model": self.cpu_model,
            "cpu_model_off": self.cpu_off if not lambda_cpu else "",
            "invoke_vcpus": round(self.allotment.invoke_quota(self.memory_mb).vcpus, 4) if lambda_cpu else None,
            "init_vcpus": round(self.allotment.init_quota(self.memory_mb).vcpus, 4) if lambda_cpu else None,
            "host_cores_per_vcpu": self.allotment.host_cores_per_vcpu,
            "throttle_init": self.allotment.throttle_init,
        }

    def banner(self) -> list[str]:
        """What the stage does with memory and CPU, one line each, for the stage's banner."""
        version = f"cgroup v{self.hierarchies.version}"
        memory = (
            f"{self.memory_mb} MB, a hard limit ({version}): past it the environment is killed (Runtime.OutOfMemory)"
            if self.memory_limited
            else f"{self.memory_mb} MB, not enforced: {self.memory_off}"
        )
        if self.cpu_model == "lambda":
            invoke = self.allotment.invoke_quota(self.memory_mb)
            init = self.allotment.init_quota(self.memory_mb)
            cpu = (
                f"lambda ({version}): {invoke.vcpus:.3f} host cores per INVOKE, {init.vcpus:.3f} per INIT "
                f"({self.allotment.host_cores_per_vcpu:g} host cores per vCPU)"
            )
        else:
            cpu = f"host: environments take what the host gives ({self.cpu_off})"
        return [f"memory         {memory}", f"cpu model      {cpu}"]


def _make(directory: Path, controller: str) -> tuple[Path | None, str]:
    """A cgroup v1 group made, or None and why not."""
    try:
        directory.mkdir()
    except OSError as exc:
        return None, f"cgroup v1 {controller}: cannot make {directory} ({exc.strerror})"
    return directory, ""


def stage_group_name() -> str:
    """A new name for this process's stage group: its pid namespace, its pid, a random token.

    The pid tells a live stage's groups from a killed one's, and only within one pid namespace:
    a hierarchy may be shared by containers whose pids this process cannot see.
    """
    return f"{STAGE_PREFIX}{_pid_namespace()}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def sweep(base: Path) -> list[Path]:
    """Remove the empty groups under ``base`` that killed stages of this pid namespace left; the ones removed.

    A stage killed before its close leaves its groups; its pid, in their name, is gone. Only
    empty groups go: a process still in one is left alone, whoever's it is.
    """
    removed = []
    namespace = _pid_namespace()
    for directory in sorted(base.iterdir()) if base.is_dir() else []:
        match = _STAGE_GROUP.match(directory.name)
        if match is None or int(match[1]) != namespace or _alive(int(match[2])) or not directory.is_dir():
            continue
        with contextlib.suppress(ControlGroupError):
            _remove_tree(directory, None, kill=False)
            removed.append(directory)
    return removed


def stage_groups(base: Path) -> list[Path]:
    """The stages' groups under ``base``, live or left behind (for tests that nothing is left)."""
    return sorted(d for d in base.iterdir() if _STAGE_GROUP.match(d.name)) if base.is_dir() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(directory: Path, version: Version | None, kill: bool = True) -> None:
    """Remove ``directory`` and every group under it, deepest first."""
    if not directory.exists():
        return
    for child in sorted((d for d in directory.iterdir() if d.is_dir()), reverse=True):
        _remove_tree(child, version, kill)
    _remove(directory, version, kill)


def _remove(directory: Path, version: Version | None, kill: bool = True) -> None:
    """Kill the group's processes (when ``kill``), wait for them to leave, remove the group.

    Raises:
        ControlGroupError: the group still held processes, or the kernel refused (at once when
            not ``kill``, else after ``_EMPTY_WAIT_S``).
    """
    deadline = time.monotonic() + _EMPTY_WAIT_S
    while True:
        if not directory.exists():
            return
        if kill:
            _kill_all(directory, version)
        try:
            directory.rmdir()
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or not kill or time.monotonic() > deadline:
                tasks = _pids(directory)
                raise ControlGroupError(f"cannot remove {directory} ({exc.strerror}; tasks {tasks})") from exc
            time.sleep(0.01)
        else:
            return


def _kill_all(directory: Path, version: Version | None) -> None:
    # cgroup v2's cgroup.kill takes the whole group at once, new forks included.
    if version != 1 and _write_if_there(directory / "cgroup.kill", "1"):
        return
    for pid in _pids(directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _pids(directory: Path) -> list[int]:
    return [int(pid) for pid in (_read(directory / "cgroup.procs") or "").split()]


def _counter(text: str | None, name: str) -> int | None:
    """The value of ``name`` in a ``key value`` per line control file, or None when it has none."""
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _read_counter(path: str) -> bytes | None:
    """A small control file in one read(2), none of pathlib's text machinery: read for every REPORT line."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 64)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write(path: Path, value: str) -> None:
    # One write(2) per value: a control file takes each write as one whole setting.
    with path.open("w") as control:
        control.write(value)


def _write_if_there(path: Path, value: str) -> bool:
    """Write a control file the kernel may not have (older kernels, swap accounting off); whether it was there."""
    if not path.exists():
        return False
    _write(path, value)
    return True
