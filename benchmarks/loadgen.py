"""How much load one Locust worker generates per core: the figure for sizing worker hosts.

    python -m benchmarks.loadgen [--users 100] [--run-time 30s]

Runs the local stage, a Locust master and one worker with the main job's own commands and
scenarios, reads the worker's CPU time to its end as it is reaped, and prints a table: requests
sent, the worker's CPU per request, the requests each user sends per second (the scenarios'
pacing and retries), and from those the users one worker process (one core) and one 2-core
worker host (two processes) sustain at 80 % busy. A benchmark, not a test: nothing is judged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from harness.readings import reap
from harness.runfolder import RunFolder
from loadtests.ledger import read_ledgers
from loadtests.run import LOCUSTFILE, load_arguments, locust_commands
from localstage.local import LocalStage, new_run_dir

if TYPE_CHECKING:
    import argparse

BUSY_SHARE = 0.8
"""How busy a worker core may run: Locust warns at 90 %, and its timings suffer before that."""


def parser() -> argparse.ArgumentParser:
    """The runners' shared options, with this measurement's run time and spawn rate."""
    return load_arguments(__doc__.splitlines()[0], "30s", 50)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print its table."""
    args = parser().parse_args(["--processes", "1", *(argv if argv is not None else sys.argv[1:])])
    run_dir = new_run_dir("loadgen")
    folder = RunFolder(run_dir)
    with LocalStage(run_dir, customers=args.users) as stage:
        commands = locust_commands(args, [], stage.describe()["url"], run_dir, ["--stage-file", str(folder.stage_file)])
        env = {**os.environ, "PYTHONPATH": str(LOCUSTFILE.parents[1])}
        master_command, worker_command = commands
        worker = subprocess.Popen(worker_command, env=env)  # noqa: S603 - our interpreter
        try:
            subprocess.run(master_command, env=env, check=False, capture_output=True)  # noqa: S603
        finally:
            _, worker_cpu_s = reap(worker, 60)
    requests = len(read_ledgers(folder.ledger_dir))
    seconds = float(args.run_time.removesuffix("s"))
    per_request_ms = worker_cpu_s * 1000 / requests if requests else float("nan")
    per_user = requests / (args.users * seconds)
    per_core = BUSY_SHARE * 1000 / per_request_ms / per_user if requests else 0
    rows = [
        ("users", f"{args.users}"),
        ("run time", f"{seconds:g} s"),
        ("requests sent (ledger)", f"{requests}"),
        ("worker CPU", f"{worker_cpu_s:.2f} s"),
        ("worker CPU per request", f"{per_request_ms:.2f} ms"),
        ("requests per user per second", f"{per_user:.2f}"),
        (f"users per worker process (one core at {BUSY_SHARE:.0%})", f"{per_core:.0f}"),
        ("users per 2-core worker host (two processes)", f"{2 * per_core:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows))
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
