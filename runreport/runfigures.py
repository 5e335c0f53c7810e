"""A finished run folder read into the figures two runs are compared on (:class:`RunFigures`).

The sources, each as its writer left it: Locust's stats CSV (per request name, the
``Aggregated`` row included), ``summary.json`` (cold starts, the stage's CPU while Locust ran,
the audit's invariants, the setup the run had), ``audit.json`` (the orders created),
``billing.jsonl`` (:mod:`harness.billing`) and the environments' REPORT records
(:mod:`harness.platform_log`). A figure a run did not record is ``None``: an older run, or a
source the run never wrote, is compared as "not recorded", never as zero.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from statistics import fmean
from typing import TYPE_CHECKING, Any

from harness import platform_log
from harness.billing import read_bills
from harness.runfolder import RunFolder

if TYPE_CHECKING:
    from pathlib import Path

AGGREGATED = "Aggregated"
"""Locust's name for the row over every request."""
SETUP_FACTS = ("host cores", "host CPU", "host memory MiB", "memory size MB", "CPU model", "users", "shape", "run time")
"""What two runs must share for their figures to be like: the host, the allotment in force, the load."""


@dataclass(frozen=True)
class RequestFigures:
    """One request name's row of Locust's stats CSV (a percentile is None where Locust measured none)."""

    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_ratio(self) -> float:
        """Failures per request (0 when there was none)."""
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class RunFigures:
    """What a comparison reads of one run; ``None`` where the run did not record it."""

    name: str
    setup: dict[str, Any]
    """Each of ``SETUP_FACTS``: its value, or None when not recorded."""
    requests: dict[str, RequestFigures]
    cold_starts: int | None = None
    init_ms: float | None = None
    """The mean init duration of the cold starts' REPORT records."""
    billed_ms: float | None = None
    """The mean billed duration per invocation (``billing.jsonl``)."""
    stage_cpu_ms_per_order: float | None = None
    max_memory_mb: int | None = None
    """The largest Max Memory Used of any REPORT."""
    invariants: dict[str, int] = field(default_factory=dict)
    cost_per_million_orders: float | None = None
    status_mix: dict[str, int] = field(default_factory=dict)
    host_line: str | None = None
    """The host's load while Locust ran, in words, where the run measured it and found it saturated."""


def _percentile(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def read_requests(stats: Path) -> dict[str, RequestFigures]:
    """Locust's stats CSV, by request name."""
    with stats.open() as lines:
        return {
            row["Name"]: RequestFigures(
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50_ms=_percentile(row["50%"]),
                p95_ms=_percentile(row["95%"]),
                p99_ms=_percentile(row["99%"]),
            )
            for row in csv.DictReader(lines)
        }


def setup_of(summary: dict[str, Any]) -> dict[str, Any]:
    """The run's setup as ``summary.json`` records it (``machine``, ``allotment``, ``load``)."""
    machine = summary.get("machine") or {}
    allotment = summary.get("allotment") or {}
    load = summary.get("load") or {}
    # No shape: Locust adds the users at the spawn rate and holds them, so the rate is the shape.
    shape = load.get("shape") or (f"users added at {load['spawn_rate']}/s" if "spawn_rate" in load else None)
    values = (
        machine.get("cores"), machine.get("cpu_model"), machine.get("memory_mib"),
        allotment.get("memory_size_mb"), allotment.get("cpu_model"), load.get("users"), shape, load.get("run_time"),
    )  # fmt: skip
    return dict(zip(SETUP_FACTS, values, strict=True))


def _stage_cpu_ms_per_order(summary: dict[str, Any], created: int | None) -> float | None:
    stage_s = ((summary.get("host") or {}).get("cpu_s") or {}).get("stage")
    if stage_s is None or not created:
        return None
    return 1000 * float(stage_s) / created


def read_run(run_dir: Path) -> RunFigures:
    """The figures of the finished run in ``run_dir``.

    Raises:
        FileNotFoundError: the folder has no Locust stats or no summary (not a finished load run).
    """
    folder = RunFolder(run_dir)
    summary: dict[str, Any] = json.loads(folder.summary.read_text())
    audit: dict[str, Any] = json.loads(folder.audit.read_text()) if folder.audit.is_file() else {}
    reports = [report for log in folder.logs.worker_logs() for report in platform_log.read_reports(log)]
    inits = [report.init_ms for report in reports if report.init_ms is not None]
    bills = read_bills(folder.billing)
    cost = (summary.get("cost") or {}).get("per_million_orders")
    return RunFigures(
        name=run_dir.name,
        setup=setup_of(summary),
        requests=read_requests(folder.locust_stats),
        cold_starts=summary.get("cold_starts"),
        init_ms=fmean(inits) if inits else None,
        billed_ms=fmean(bill.billed_ms for bill in bills) if bills else None,
        stage_cpu_ms_per_order=_stage_cpu_ms_per_order(summary, audit.get("created")),
        max_memory_mb=max((report.max_memory_mb for report in reports), default=None),
        invariants=dict(summary.get("invariants") or {}),
        cost_per_million_orders=float(cost) if cost is not None else None,
        status_mix=dict(summary.get("status_mix") or {}),
        host_line=_saturated(summary),
    )


def _saturated(summary: dict[str, Any]) -> str | None:
    host = summary.get("host") or {}
    if not host.get("saturated"):
        return None
    return f"{host['busy_cores']} of {host['cores']} cores busy"
