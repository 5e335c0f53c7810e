"""Small finished load-run folders, written from given figures, for the comparison's tests.

``write_run(reports, name, RunSpec(...))`` writes the files a main-job run leaves that the
comparison reads, each in its writer's own format and through its writer's own code where
the project has one: Locust's stats CSV and stats history (Locust's columns), ``summary.json``
and ``audit.json`` (the keys ``loadtests.run`` and the audit write), ``billing.jsonl``
(:class:`harness.billing.Bill`) and a worker log of REPORT records
(:func:`harness.platform_log.report`). Every figure is a field of :class:`RunSpec`, so a test
states the one it changes: ``replace(LIKE, cold_starts=30)``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness import platform_log
from harness.billing import Bill
from harness.runfolder import RunFolder
from loadtests.audit.report import INVARIANTS
from loadtests.host import SATURATED

if TYPE_CHECKING:
    from pathlib import Path

STATS_COLUMNS = (
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
)  # fmt: skip
"""Locust's stats CSV header (``locust_stats.csv``), as Locust 2 writes it."""
HISTORY_COLUMNS = (
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
    "Total Request Count", "Total Failure Count", "Total Median Response Time", "Total Average Response Time",
    "Total Min Response Time", "Total Max Response Time", "Total Average Content Size",
)  # fmt: skip
"""Locust's stats history CSV header."""


@dataclass(frozen=True)
class RequestSpec:
    """One request name's row of Locust's stats."""

    requests: int = 500
    failures: int = 0
    rps: float = 50.0
    p50_ms: float = 30.0
    p95_ms: float = 120.0
    p99_ms: float = 200.0


def _requests() -> dict[str, RequestSpec]:
    return {"create order": RequestSpec(), "bad: boolean quantity": RequestSpec(requests=5, rps=0.5, p95_ms=3.0)}


@dataclass(frozen=True)
class RunSpec:
    """The figures of one run; the defaults make a plausible clean 100-user run on a 2-core host."""

    requests: dict[str, RequestSpec] = field(default_factory=_requests)
    cold_starts: int = 10
    init_ms: float = 400.0
    invocations: int = 40
    billed_ms: int = 40
    max_memory_mb: int = 90
    stage_cpu_s: float = 12.0
    created: int = 400
    breaches: dict[str, int] = field(default_factory=dict)
    cost_per_million_orders: float | None = None
    busy_cores: float = 1.2
    """Of the machine's cores, on average while Locust ran; saturated from 85 % of them (loadtests.host)."""
    status_mix: dict[str, int] = field(default_factory=lambda: {"201": 400, "409": 50, "400": 30, "401": 20})
    machine: dict[str, Any] | None = field(
        default_factory=lambda: {"cores": 2, "cpu_model": "AMD EPYC", "memory_mib": 24105}
    )
    allotment: dict[str, Any] | None = field(default_factory=lambda: {"memory_size_mb": 1024, "cpu_model": "lambda"})
    load: dict[str, Any] | None = field(
        default_factory=lambda: {"users": 100, "spawn_rate": 20.0, "shape": None, "run_time": "60s"}
    )


def _stats_row(name: str, spec: RequestSpec) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(STATS_COLUMNS, 0)
    row.update({"Type": "POST" if name != "Aggregated" else "", "Name": name, "Request Count": spec.requests})
    row.update({"Failure Count": spec.failures, "Requests/s": spec.rps})
    row.update({"50%": spec.p50_ms, "95%": spec.p95_ms, "99%": spec.p99_ms})
    return row


def aggregate(requests: dict[str, RequestSpec]) -> RequestSpec:
    """Locust's ``Aggregated`` row, roughly: counts summed, each percentile the worst name's."""
    specs = list(requests.values())
    return RequestSpec(
        requests=sum(s.requests for s in specs), failures=sum(s.failures for s in specs),
        rps=sum(s.rps for s in specs), p50_ms=max(s.p50_ms for s in specs),
        p95_ms=max(s.p95_ms for s in specs), p99_ms=max(s.p99_ms for s in specs),
    )  # fmt: skip


def _history(folder: RunFolder, total: RequestSpec) -> None:
    with folder.locust_history.open("w", newline="") as out:
        writer = csv.DictWriter(out, HISTORY_COLUMNS)
        writer.writeheader()
        for second in range(5):
            row: dict[str, Any] = dict.fromkeys(HISTORY_COLUMNS, 0)
            row.update({"Timestamp": 1_796_623_135 + second, "Name": "Aggregated", "Requests/s": total.rps})
            row.update({"50%": total.p50_ms, "95%": total.p95_ms, "99%": total.p99_ms} if second else {})
            if not second:
                row.update({"50%": "N/A", "95%": "N/A", "99%": "N/A"})  # Locust's first second has none
            writer.writerow(row)


def _platform(folder: RunFolder, spec: RunSpec) -> None:
    folder.logs_dir.mkdir(parents=True, exist_ok=True)
    lines, bills = [], []
    for number in range(spec.invocations):
        report = platform_log.Report(
            request_id=f"request-{number}", duration_ms=spec.billed_ms - 0.5, billed_ms=spec.billed_ms,
            memory_mb=1024, max_memory_mb=spec.max_memory_mb,
            init_ms=spec.init_ms if number < spec.cold_starts else None,
        )  # fmt: skip
        lines.append(platform_log.report(platform_log.TEXT, report))
        bills.append(Bill.of(report).line())
    folder.logs.worker_log(1).write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    folder.billing.write_text("".join(bills))


def write_run(reports: Path, name: str, spec: RunSpec) -> Path:
    """A finished load run's folder ``reports/name`` holding ``spec``'s figures; its path."""
    folder = RunFolder(reports / name)
    folder.path.mkdir(parents=True)
    total = aggregate(spec.requests)
    with folder.locust_stats.open("w", newline="") as out:
        writer = csv.DictWriter(out, STATS_COLUMNS)
        writer.writeheader()
        writer.writerows([_stats_row(n, s) for n, s in spec.requests.items()] + [_stats_row("Aggregated", total)])
    _history(folder, total)
    _platform(folder, spec)
    invariants = {name: spec.breaches.get(name, 0) for name in INVARIANTS}
    folder.audit.write_text(json.dumps({"created": spec.created, **invariants, "passed": not any(invariants.values())}))
    summary: dict[str, Any] = {
        "cold_starts": spec.cold_starts, "status_mix": spec.status_mix, "invariants": invariants,
        "allotment": spec.allotment, "machine": spec.machine, "load": spec.load,
        "host": {
            "cores": 2, "busy_cores": spec.busy_cores, "saturated": spec.busy_cores >= SATURATED * 2,
            "cpu_s": {"stage": spec.stage_cpu_s, "Locust": 5.0, "other": 1.0},
        },
    }  # fmt: skip
    if spec.cost_per_million_orders is not None:
        summary["cost"] = {"per_million_orders": spec.cost_per_million_orders}
    folder.summary.write_text(json.dumps(summary, indent=2))
    return folder.path
