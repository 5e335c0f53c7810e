"""SnapStart's first invocation beside a cold start's and a warm one's, in the stage's execution environments.

Each round a fresh worker pool runs create-order under the real runtime client, its SDK calls
answered at the edge (``benchmarks.snapstart_handler``): once as an on-demand cold start (its
init, then its first invocation), once published with SnapStart (one snapshot, then an environment
restored from it for the first invocation), and the same restored without the function's priming.
Each environment then serves ``WARM`` more invocations. The figures are the REPORT lines' (the
invocation's ``Duration``, its ``Init Duration`` or ``Restore Duration``) and the CPU the function
took for each invocation as its environment measured it (``probe_env.CPU_HEADER``),
medians over the rounds.

The target: a restored environment's first invocation within 1.5 times a warm one's duration
(``RESTORED_FIRST_VS_WARM``): the priming leaves it nothing to load.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.probe_env import CPU_HEADER, SNAPSTART_UNPRIMED, bench_env
from benchmarks.targets import RESTORED_FIRST_VS_WARM, Row
from harness.platform_log import JSON, read_reports
from harness.runfolder import LogsFolder
from localstage.workers import FunctionConfig, Invocation, WorkerPool

ROOT = Path(__file__).resolve().parents[1]
HANDLER = "benchmarks.snapstart_handler.lambda_handler"
WARM = 20
"""Warm invocations after the first, per environment."""
CLAIMS = {"sub": "cust-bench", "custom:customer_id": "cust-bench"}


def _event(serial: int) -> dict[str, object]:
    """An order of product ``P-<serial>``: a product no invocation before it read, so each reads the catalog.

    The function keeps a product it read for 30 s; a restored environment has forgotten them all
    (its after-restore hook). Ordering a new product each time makes every invocation, the first
    and the warm ones, do the same work: the comparison is the restore's, not the cache's.
    """
    body = f'{{"customer_id": "cust-bench", "items": [{{"product_id": "P-{serial}", "quantity": 2}}]}}'
    return {"httpMethod": "POST", "path": "/orders", "headers": {"Content-Type": "application/json"},
            "requestContext": {"requestId": "bench", "authorizer": {"claims": CLAIMS}}, "body": body}  # fmt: skip


@dataclass(frozen=True)
class Start:
    """One environment's start and first invocations, as its REPORTs and its process tell them."""

    start_ms: float
    """Its Init Duration (cold) or Restore Duration (restored)."""
    first_ms: float
    """Its first invocation's Duration."""
    warm_ms: float
    """The median Duration of the invocations after the first."""
    first_cpu_ms: float
    """The CPU its first invocation took in the function."""
    warm_cpu_ms: float
    """The median CPU of the invocations after the first."""


def _cpu_ms(answer: Invocation) -> float:
    """The CPU the function took for ``answer``'s invocation, as the environment measured it."""
    if answer.outcome != "ok" or answer.payload is None:
        raise RuntimeError(f"an invocation failed: {answer}")
    return int(answer.payload["headers"][CPU_HEADER]) / 1000


def _one(scratch: Path, *, snapstart: bool, primed: bool = True) -> Start:
    env = bench_env(xray=False, pyc_prefix=None, write_pyc=False) | ({} if primed else {SNAPSTART_UNPRIMED: "1"})
    function = FunctionConfig(code_dir=ROOT, env=env, timeout_s=10.0, handler=HANDLER, log_format=JSON)
    pool = WorkerPool(function, scratch, concurrency=1)
    try:
        if snapstart and not pool.publish():
            raise RuntimeError(f"the snapshot's init failed: see {scratch}")
        first = pool.invoke(_event(0))
        first_cpu = _cpu_ms(first)
        warm_cpu = statistics.median(_cpu_ms(pool.invoke(_event(serial))) for serial in range(1, WARM + 1))
    finally:
        pool.close()
    # One environment served every invocation (the snapshot's log has no REPORT): its REPORTs in order.
    head, *rest = [report for path in LogsFolder(scratch).worker_logs() for report in read_reports(path)]
    started = head.restore_ms if snapstart else head.init_ms
    return Start(started or 0.0, head.duration_ms, statistics.median(r.duration_ms for r in rest), first_cpu, warm_cpu)


def _median(starts: list[Start], field: str) -> float:
    return round(float(statistics.median(getattr(s, field) for s in starts)), 2)


def section(smoke: bool) -> list[Row]:
    """The rows: cold, restored and restored unprimed, each beside the warm invocation."""
    rounds = 1 if smoke else 5
    kinds = {"cold start": {"snapstart": False}, "restored": {"snapstart": True},
             "restored, unprimed": {"snapstart": True, "primed": False}}  # fmt: skip
    measured: dict[str, list[Start]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-snapstart-") as scratch:
        for round_ in range(rounds):
            for kind, options in kinds.items():  # interleaved: a drift of the machine's speed hits each alike
                folder = Path(scratch) / f"{round_}-{kind.replace(' ', '').replace(',', '-')}"
                folder.mkdir()
                measured[kind].append(_one(folder, **options))
    warm = _median([s for starts in measured.values() for s in starts], "warm_ms")
    label = "SnapStart: first invocation"
    rows = [Row(label, "warm invocation", warm, "ms duration")]
    for kind, starts in measured.items():
        first = _median(starts, "first_ms")
        target = RESTORED_FIRST_VS_WARM if kind == "restored" else None
        rows.append(Row(label, f"{kind}: its start", _median(starts, "start_ms"), "ms init/restore"))
        rows.append(Row(label, f"{kind}: first", first, "ms duration", "warm", round(first / warm, 2), target))
    warm_cpu = _median([s for starts in measured.values() for s in starts], "warm_cpu_ms")
    rows.append(Row(label, "warm invocation: CPU", warm_cpu, "ms CPU"))
    for kind, starts in measured.items():
        first_cpu = _median(starts, "first_cpu_ms")
        rows.append(Row(label, f"{kind}: first, CPU", first_cpu, "ms CPU", "warm", round(first_cpu / warm_cpu, 2)))
    return rows
