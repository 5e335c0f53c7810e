"""End to end on the local stage: backend-only capacity, a closed loop, an open loop, the stage's own CPU.

    python -m benchmarks.e2e [--smoke] [--backend-s 20] [--closed-s 30] [--open-s 20] [--open-rate 200]
                             [--users 100] [--threads 100] [--out PATH]

Run by ``benchmarks.run`` (its ``e2e`` rows); prints one JSON document, also written to
``e2e.json`` in the stage's run folder. Every figure comes from one freshly started local stage
(``localstage.LocalStage``: moto per service group, Lambda-like workers, the API Gateway
front, the queue consumer), in this order:

1. **backend only**: the two calls a warm invocation of the handler makes for one order (the
   conditional ``PutItem`` on the orders table, ``SendMessage`` on the processing queue; their
   parameters recorded from the handler as ``benchmarks.probe record`` does, with a fresh order
   id per order) made straight against the stage's moto servers by ``--threads`` threads sharing
   two boto3 clients, for ``--backend-s`` → orders/s, p50/p95/p99 per order.
2. **closed loop**: one provisioned execution environment per user (their inits done first, as
   Lambda's provisioned concurrency does), then Locust headless, ``--users`` users placing
   valid orders with a valid Cognito token and no think time (``benchmarks/locust_e2e.py``);
   measured over ``--closed-s`` once every user is spawned and the worker pool has stopped
   growing → RPS, p50/p95/p99, errors.
3. **open loop**: ``--open-rate`` requests/s on a fixed schedule for ``--open-s`` (the
   ``benchmarks.e2e_open_loop`` child) → achieved rate, p50/p95/p99 from each request's scheduled time,
   errors; then the same at half the closed loop's throughput (``open_half``).
4. **CPU** of every process of the stage during 1-3 (``harness.readings``; per thread for the
   gateway and the consumer, which share this process, on Linux) → CPU seconds per 1000 orders and each
   component's busiest-core share, the stage's CPU per order (so the rate the machine's cores
   can carry at most), and which part limits the run.

The queue is drained after each row, so each starts from an empty queue. At the end the orders
table is counted against the 201s the gateway answered (its access log) plus the orders stored
by row 1: nothing may be missing.

The load of rows 1 and 3 comes from child processes of this one (``benchmarks.e2e_backend_load``
and ``benchmarks.e2e_open_loop``), and Locust runs in its own: each has its own GIL and its own
CPU figure, and none shares a GIL with the gateway and consumer threads this process hosts (as
the main job's does).

Here: the section's order and its report. The rows are ``benchmarks.e2e_rows``, the CPU meter
``benchmarks.e2e_cpu``, the final count ``benchmarks.e2e_nothing_lost``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.e2e_cpu import CpuMeter, bottleneck
from benchmarks.e2e_nothing_lost import nothing_lost
from benchmarks.e2e_rows import Options, backend_row, closed_row, drain, open_row
from benchmarks.probe import recorded_calls
from benchmarks.probe_env import bench_env
from harness.runfolder import RunFolder
from localstage.backend import SERVICE_GROUPS
from localstage.local import LocalStage, new_run_dir

__all__ = ["ROWS", "Options", "measure"]

ROWS = ("backend", "closed", "open", "open_half")


def record_calls() -> dict[str, dict[str, Any]]:
    """The PutItem and SendMessage of a warm invocation, recorded from the handler in a child process."""
    return recorded_calls(bench_env(xray=False, pyc_prefix=None, write_pyc=False))


def measure(options: Options, run_dir: Path | None = None) -> dict[str, Any]:
    """Start a stage, run the three rows on it, check the table, stop it; the whole report."""
    calls = record_calls()
    run_dir = run_dir or new_run_dir("bench-e2e")
    run_dir.mkdir(parents=True, exist_ok=True)
    calls_file = RunFolder(run_dir).bench_calls
    calls_file.write_text(json.dumps(calls))
    customers = max(options.users, options.open_customers)
    report: dict[str, Any] = {"options": options.__dict__, "run_dir": str(run_dir)}
    started = time.monotonic()
    with LocalStage(run_dir, concurrency=options.concurrency, customers=customers) as stage:
        report["stage_start_s"] = round(time.monotonic() - started, 1)
        backend = stage.backend
        report["moto_processes"] = dict(zip(SERVICE_GROUPS, backend.pids if backend else [], strict=False))
        meter = CpuMeter(stage)
        report["backend"] = backend_row(stage, meter, options, calls_file, run_dir)
        report["backend"]["drain_s"] = drain(stage)
        report["closed"] = closed_row(stage, meter, options, run_dir)
        report["closed"]["drain_s"] = drain(stage)
        report["open"] = open_row(stage, meter, options, run_dir)
        report["open"]["drain_s"] = drain(stage)
        # The same open loop at half the closed loop's throughput: the latency of a stage that
        # is not saturated, on whatever machine this runs.
        half = replace(options, open_rate=max(1.0, round(report["closed"]["rps"] / 2)))
        report["open_half"] = open_row(stage, meter, half, run_dir)
        report["nothing_lost"] = nothing_lost(stage, report["backend"], run_dir)
    capacity = report["backend"]["orders_per_s"]
    report["closed"]["ratio_to_backend"] = round(report["closed"]["rps"] / capacity, 2) if capacity else None
    report["bottleneck"] = {row: bottleneck(report[row]["cpu"]) for row in ROWS}
    report["wall_s"] = round(time.monotonic() - started, 1)
    RunFolder(run_dir).bench_e2e.write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    """The whole section: start a stage, measure its rows, print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a couple of seconds per row")
    parser.add_argument("--backend-s", type=float)
    parser.add_argument("--closed-s", type=float)
    parser.add_argument("--open-s", type=float)
    parser.add_argument("--open-rate", type=float)
    parser.add_argument("--users", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: a new folder under reports/")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    options = Options.tiny() if args.smoke else Options()
    for name in ("backend_s", "closed_s", "open_s", "open_rate", "users", "threads"):
        if getattr(args, name) is not None:
            setattr(options, name, getattr(args, name))
    report = measure(options, args.run_dir)
    text = json.dumps(report)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
