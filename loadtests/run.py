"""The main job: the local stage under Locust (100 users by default), then the audit.

    python -m loadtests.run [--users 100] [--spawn-rate 20] [--run-time 60s] [--shape steady]

Exits non-zero when the SLO gate or any audit invariant fails. Everything lands in a run
folder under runs/: stage.json, access.log, logs/ (moto, workers with REPORT lines and EMF),
ledger/, messages.jsonl, Locust's CSV and HTML, audit.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from loadtests.audit import audit_run
from loadtests.stage.local import LocalStage, new_run_dir

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


def main(argv: list[str] | None = None) -> int:
    """Run the stage, Locust headless against it, drain the queue, audit; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--shape", choices=["steady", "step", "spike"], default=None)
    parser.add_argument("--concurrency", type=int, default=100, help="execution environments at most")
    parser.add_argument("--weights", default="customer=8,duplicate=1,bad=1,intruder=1")
    parser.add_argument("--slo-p95-ms", type=float, default=500.0)
    parser.add_argument("--slo-error-ratio", type=float, default=0.01)
    args, locust_extra = parser.parse_known_args(argv)

    run_dir = new_run_dir("load")
    with LocalStage(run_dir, concurrency=args.concurrency, customers=max(args.users, 1)) as stage:
        info = stage.describe()
        print(f"stage up: {info['orders_url']} (run folder {run_dir})", flush=True)
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", info["url"], "--stage-file", str(run_dir / "stage.json"),
            "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.run_time,
            "--weights", args.weights, "--slo-p95-ms", str(args.slo_p95_ms),
            "--slo-error-ratio", str(args.slo_error_ratio),
            "--csv", str(run_dir / "locust"), "--html", str(run_dir / "locust.html"),
            "--only-summary", "--stop-timeout", "40", *locust_extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(LOCUSTFILE.parents[1])}
        if args.shape:
            env["LOAD_SHAPE"] = args.shape
        locust = subprocess.run(command, env=env, check=False)  # noqa: S603 - our own interpreter
        drained = stage.consumer.drain() if stage.consumer else False
        report = audit_run(run_dir, info["physical"]["OrdersTable"])
    print(report.table())
    print(f"run folder: {run_dir}")
    if not drained:
        print("the queue was still receiving messages when the audit ran")
    return 0 if locust.returncode == 0 and report.passed and drained else 1


if __name__ == "__main__":
    sys.exit(main())
