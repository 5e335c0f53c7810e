"""The Lambda CPU model held to Lambda's shares: the same CPU-bound work at three memory sizes, by wall time.

At each of ``SIZES`` an execution environment's groups are made as the stage makes them
(``localstage.cgroups``), a child (``benchmarks.spin``) starts in them at the INIT's CPU, the
group is switched to the INVOKE's, and the child runs a fixed loop. Its wall time should follow
the inverse of the memory size: twice the reference's at half the reference's memory, and the
reference's times ``REFERENCE_MB / VCPU_MEMORY_MB`` at one vCPU (the targets
``CPU_SHARE_HALF`` and ``CPU_SHARE_ONE_VCPU``).

A busy host stretches a wall time beside the quota: the child waits for a core. Its wall time
less its CPU time less the time the kernel throttled it is that wait; where it is more than
``CONTENDED`` of some size's wall time, the section's bottleneck names the host's cores and the
ratios are not judged, as an end-to-end row on a saturated host is not (``benchmarks.targets``).
Where the host allows no control groups the section measures nothing and says why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.probe_env import ROOT
from benchmarks.targets import CPU_SHARE_HALF, CPU_SHARE_ONE_VCPU, NOT_SATURATED, Row
from localstage.allotment import VCPU_MEMORY_MB, Allotment
from localstage.cgroups import ControlGroups, detect

if TYPE_CHECKING:
    from localstage.cgroups import Hierarchies

REFERENCE_MB = 256
"""The reference memory size: the template's ``MemorySize``."""
SIZES = (REFERENCE_MB // 2, REFERENCE_MB, VCPU_MEMORY_MB)
ROW = "cpu_share"
"""The section's key in the verdict's bottleneck report (``Row.stage_row`` of its targeted rows)."""
MEASURE = "CPU by memory size, cpu model lambda"
WORK = 3_000_000
"""Loop iterations of the child: enough CPU time for many CFS periods at the smallest share."""
SMOKE_WORK = 300_000
ROUNDS = 3
"""Rounds over every size, interleaved so a drift of the host's speed falls on each; medians kept."""
CONTENDED = 0.10
"""The share of a wall time spent waiting for a core past which the host, not the quota, set it."""


@dataclass(frozen=True)
class Spin:
    """One child's loop at one memory size: its wall and CPU seconds, and how long the kernel throttled it."""

    memory_mb: int
    wall_s: float
    cpu_s: float
    throttled_s: float

    @property
    def waited_s(self) -> float:
        """Wall time neither running nor throttled: waiting for a core the host's other work held."""
        return max(0.0, self.wall_s - self.cpu_s - self.throttled_s)


def spin_once(memory_mb: int, work: int, hierarchies: Hierarchies) -> Spin:
    """Run ``work`` iterations in a fresh environment's groups at ``memory_mb``, at the INVOKE's CPU.

    Raises:
        RuntimeError: the child did not report its loop.
    """
    with ControlGroups.open(Allotment(cpu_model="lambda"), memory_mb, hierarchies) as groups:
        group = groups.create("spin")
        argv = group.command([sys.executable, "-m", "benchmarks.spin", str(work)])
        with subprocess.Popen(  # noqa: S603 - our interpreter, our module
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        ) as child:
            assert child.stdin is not None  # noqa: S101 - Popen's pipes, for the type checker
            assert child.stdout is not None  # noqa: S101
            if child.stdout.readline().strip() != "ready":
                child.kill()
                raise RuntimeError(f"the spin child at {memory_mb} MB did not start")
            group.during_invoke()
            before = group.cpu_throttled_s() or 0.0
            child.stdin.write("go\n")
            child.stdin.flush()
            line = child.stdout.readline()
            child.wait(timeout=60)
        throttled = (group.cpu_throttled_s() or 0.0) - before
    if not line:
        raise RuntimeError(f"the spin child at {memory_mb} MB reported nothing (exit {child.returncode})")
    figures = json.loads(line)
    return Spin(memory_mb, figures["wall_s"], figures["cpu_s"], throttled)


def measure(work: int, rounds: int, hierarchies: Hierarchies) -> dict[int, Spin]:
    """Each size's median spin (by wall time) over ``rounds`` interleaved rounds."""
    spins: dict[int, list[Spin]] = {size: [] for size in SIZES}
    for _ in range(rounds):
        for size in SIZES:
            spins[size].append(spin_once(size, work, hierarchies))
    return {size: _median(runs) for size, runs in spins.items()}


def _median(runs: list[Spin]) -> Spin:
    by_wall = sorted(runs, key=lambda spin: spin.wall_s)
    return by_wall[(len(by_wall) - 1) // 2]


def rows(spins: dict[int, Spin]) -> list[Row]:
    """The table's rows: each size's wall time, the two ratios to the reference with their targets, the waits."""
    reference = spins[REFERENCE_MB].wall_s
    half, one_vcpu = SIZES[0], SIZES[2]
    table = [
        Row(MEASURE, f"{half} MB", _ms(spins[half].wall_s), "ms wall", f"{REFERENCE_MB} MB",
            round(spins[half].wall_s / reference, 3), CPU_SHARE_HALF, ROW),
        Row(MEASURE, f"{REFERENCE_MB} MB", _ms(reference), "ms wall"),
        Row(MEASURE, f"{one_vcpu} MB", _ms(spins[one_vcpu].wall_s), "ms wall", f"{REFERENCE_MB} MB",
            round(spins[one_vcpu].wall_s / reference, 4), CPU_SHARE_ONE_VCPU, ROW),
    ]  # fmt: skip
    return table + [
        Row(MEASURE, f"{size} MB", _ms(spin.waited_s), "ms waited for a core") for size, spin in spins.items()
    ]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def bottleneck(spins: dict[int, Spin]) -> dict[str, str]:
    """What limited the ratios: ``cpu`` when a child waited for a core more than ``CONTENDED`` of its wall time."""
    worst = max(spins.values(), key=lambda spin: spin.waited_s / spin.wall_s)
    share = worst.waited_s / worst.wall_s
    if share > CONTENDED:
        verdict = (f"the host's cores: at {worst.memory_mb} MB the work waited for a core {share:.0%} "
                   "of its wall time, beside its quota")  # fmt: skip
        return {"limit": "cpu", "verdict": verdict}
    return {"limit": NOT_SATURATED, "verdict": f"no size waited for a core more than {CONTENDED:.0%} of its wall time"}


def section(smoke: bool, hierarchies: Hierarchies | None = None) -> tuple[list[Row], dict[str, Any]]:
    """The rows and the report (each size's spin, the bottleneck, or why nothing was measured).

    Returns:
        The rows (none where the host allows no control groups) and the report:
        ``{"spins": {...}, "bottleneck": {ROW: {...}}}``, or ``{"off": reason}``.
    """
    found = hierarchies or detect()
    if found.cpu is None:
        return [], {"off": found.cpu_off}
    spins = measure(SMOKE_WORK if smoke else WORK, 1 if smoke else ROUNDS, found)
    report = {
        "spins": {str(size): asdict(spin) for size, spin in spins.items()},
        "bottleneck": {ROW: bottleneck(spins)},
    }
    return rows(spins), report
