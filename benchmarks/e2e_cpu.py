"""The CPU of every process of a local stage over a window, per component, and what limits it.

``CpuMeter`` samples moto per service group, the workers, this process's threads (the gateway,
the queue consumer, the bench harness) and the load generator; ``cpu_usage`` turns two samples
into CPU seconds per component and per 1000 orders; ``bottleneck`` names a saturated process,
else the machine's cores, else neither.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.readings import cpu_s, thread_cpu_s
from loadtests.host import SATURATED, CpuSample, cpu_sample  # SATURATED: a process at it is at its GIL's limit
from localstage.backend import SERVICE_GROUPS

if TYPE_CHECKING:
    from localstage.local import LocalStage


@dataclass
class Snapshot:
    """CPU seconds of every process of the stage at one moment, and of this process's threads."""

    wall: float
    processes: CpuSample
    """Each group's processes, and the machine (``loadtests.host``)."""
    own: float
    consumer: float
    harness: float


@dataclass
class CpuMeter:
    """Samples the stage's processes: moto per group, workers, this process (gateway, consumer), the load."""

    stage: LocalStage
    load: list[int] = field(default_factory=list)
    """The load generator's process ids (set per row)."""

    def snapshot(self) -> Snapshot:
        """Every component's CPU seconds now."""
        backend, pool = self.stage.backend, self.stage.pool
        if backend is None or pool is None:
            raise RuntimeError("the stage is not running")
        groups = {f"moto {group}": [pid] for group, pid in zip(SERVICE_GROUPS, backend.pids, strict=True)}
        groups |= {"workers": pool.pids, "load generator": list(self.load)}
        processes = cpu_sample(groups)
        consumer = harness = 0.0
        threads = thread_cpu_s()  # Linux only: elsewhere the gateway's figure holds the other two
        for thread in threading.enumerate():
            seconds = threads.get(thread.native_id or 0, 0.0)
            if thread.name.startswith("consumer-") or thread.name == "queue-depths":
                consumer += seconds
            elif thread is threading.main_thread():
                harness += seconds
        own = cpu_s() or 0.0
        return Snapshot(time.time(), processes, own, consumer, harness)


def cpu_usage(start: Snapshot, end: Snapshot, orders: int) -> dict[str, Any]:
    """Per component: CPU seconds, per 1000 orders, cores used, and its busiest process's share of one core.

    A worker started inside the window counts from zero (its cold start included); a process
    that ended inside it is missing (the count of those is not kept).
    """
    wall = max(end.processes.at - start.processes.at, 1e-9)
    per_order = 1000 / orders if orders else 0.0
    components: dict[str, dict[str, float]] = {}

    def add(name: str, per_process: list[float]) -> None:
        cpu = sum(per_process)
        components[name] = {
            "cpu_s": round(cpu, 2),
            "per_1000": round(cpu * per_order, 3),
            "cores": round(cpu / wall, 3),
            "busiest_core": round(max(per_process, default=0.0) / wall, 3),
            "processes": len(per_process),
        }

    for name, processes in end.processes.groups.items():
        before = start.processes.groups.get(name, {})
        add(name, [seconds - before.get(pid, 0.0) for pid, seconds in processes.items()])
    consumer = end.consumer - start.consumer
    harness = end.harness - start.harness
    add("gateway", [(end.own - start.own) - consumer - harness])
    add("consumer", [consumer])
    add("bench harness", [harness])
    stage_total = sum(c["cpu_s"] for c in components.values())
    machine = end.processes.machine_s - start.processes.machine_s
    stage_cpu = sum(c["cpu_s"] for c in components.values())
    return {
        "wall_s": round(wall, 2),
        "orders": orders,
        "components": components,
        "cpu_ms_per_order": round(stage_cpu * per_order, 2),
        "machine_busy_cores": round(machine / wall, 2),
        "cores": os.cpu_count() or 1,
        "outside_stage": {
            "cpu_s": round(machine - stage_total, 2),
            "per_1000": round((machine - stage_total) * per_order, 3),
        },
    }


def bottleneck(usage: dict[str, Any]) -> dict[str, Any]:
    """What limits a row: a process at about one core (its GIL), else the machine's cores, else neither."""
    components = usage["components"]
    busiest = max(components, key=lambda name: components[name]["busiest_core"])
    largest = max(components, key=lambda name: components[name]["cpu_s"])
    total = sum(c["cpu_s"] for c in components.values()) or 1.0
    share = components[largest]["cpu_s"] / total
    per_order = usage.get("cpu_ms_per_order") or 0.0
    carried = ""
    if per_order:
        most = usage["cores"] * 1000 / per_order
        carried = f"; {per_order:.1f} ms of CPU an order: {usage['cores']} cores carry ~{most:.0f}/s at most"
    if components[busiest]["busiest_core"] >= SATURATED:
        verdict = f"{busiest}: one process at {components[busiest]['busiest_core']:.0%} of a core"
        limit = busiest
    elif usage["machine_busy_cores"] >= SATURATED * usage["cores"]:
        verdict = (f"the machine's {usage['cores']} cores ({usage['machine_busy_cores']:.2f} busy); "
                   f"largest consumer {largest}, {share:.0%} of the stage's CPU")  # fmt: skip
        limit = "cpu"
    else:
        verdict = f"no saturated process and {usage['machine_busy_cores']:.2f} of {usage['cores']} cores busy"
        limit = "none"
    return {"limit": limit, "busiest": busiest, "largest": largest, "largest_share": round(share, 3),
            "verdict": verdict + carried}  # fmt: skip
