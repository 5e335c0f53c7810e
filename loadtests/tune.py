"""Power tuning: the same load at each memory size, one table, a recommended size.

    python -m loadtests.tune --memory 128,256,512,1024,1769,3008 [--users 100] [--run-time 30s]
                             [--strategy cost|speed|balanced] [--balanced-weight 0.5] [--cpu-model lambda]
                             [other options of the main job, e.g. --slo-p95-ms 800]
    python -m loadtests.tune --stack NAME --run-id ID --memory 256,512,1024 [--invocations 100] [--users 10] [--force]

On the local stage (the default), for each size the main job runs as ``tox -e load`` runs it
(``loadtests.run``: a fresh local stage at that ``--memory-size`` under the Lambda CPU model,
Locust, the SLO gate, the audit, the run's cost from its own consumption), each in its own run
folder; options this command does not know go to each main job. With ``--stack``, against a
deployed stack: a version per size behind the ``tuning`` alias, invoked directly, the function
restored afterwards (``loadtests.deployed.tuning``); ``--run-id`` names the run whose synthetic
customer places the orders (``cleanup --orders`` deletes them).

Either way the sweep's folder (``reports/<time>-tune/``) gets ``tune.json``, ``tune.md`` (the
table) and ``tune.png`` (cost and p95 against memory), and the recommendation is chosen by
strategy among the sizes that passed their SLO and their audit (``loadtests.power``).

The local figures are the stage's: CPU in proportion to memory as Lambda gives it (one vCPU at
1,769 MB), on this host's cores, whose speed is not Lambda's; a deployed sweep is the place to
confirm a choice before changing the template's ``MemorySize``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import NoCredentialsError, NoRegionError

from harness.runfolder import RunFolder
from loadtests.deployed import tuning
from loadtests.deployed.errors import DeployedInputError
from loadtests.deployed.runs import run_id_argument
from loadtests.deployed.stack import Stack
from loadtests.power import STRATEGIES, SizeResult, chart, recommend, table
from localstage.allotment import memory_size

ROOT = Path(__file__).resolve().parents[1]
RUN_FOLDER = re.compile(r"^run folder: (?P<path>\S+)$", re.MULTILINE)
"""The main job's last line: where it left the run."""


def result_of(memory_mb: int, run_dir: Path) -> SizeResult:
    """One size's figures from its run folder's ``summary.json``."""
    summary: dict[str, Any] = json.loads(RunFolder(run_dir).summary.read_text())
    create = summary.get("create order") or {}
    cost = summary.get("cost") or {}
    used = cost.get("consumption") or {}
    invocations = used.get("invocations") or 0
    billed = used.get("billed_ms", 0) / invocations if invocations else None
    return SizeResult(
        memory_mb=memory_mb,
        run_dir=str(run_dir),
        p50_ms=create.get("p50_ms"),
        p95_ms=create.get("p95_ms"),
        p99_ms=create.get("p99_ms"),
        cold_starts=int(summary.get("cold_starts", 0)),
        billed_ms_per_invocation=round(billed, 2) if billed is not None else None,
        cost_per_million_orders=cost.get("per_million_orders"),
        slo_passed=bool((summary.get("slo") or {}).get("passed")),
        audit_passed=bool(summary.get("audit_passed")),
    )


def _memory_list(text: str) -> list[int]:
    sizes = [memory_size(int(part)) for part in text.split(",") if part.strip()]
    if len(sizes) != len(set(sizes)) or not sizes:
        raise argparse.ArgumentTypeError(f"memory sizes, each once: {text!r}")
    return sorted(sizes)


def parser() -> argparse.ArgumentParser:
    """The sweep's options (on the local stage, what it does not know goes to each main job)."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--memory", type=_memory_list, default=_memory_list("128,256,512,1024,1769,3008"))
    options.add_argument(
        "--users", type=int, default=None, help="concurrent users (local: 100) or invocations (deployed: 10)"
    )
    options.add_argument("--run-time", default="30s", help="local: each size's main job")
    options.add_argument("--strategy", choices=STRATEGIES, default="balanced")
    options.add_argument("--balanced-weight", type=float, default=0.5, help="balanced: the weight of cost (0-1)")
    options.add_argument("--cpu-model", choices=("lambda", "host"), default="lambda", help="local only")
    deployed = options.add_argument_group("against a deployed stack")
    deployed.add_argument("--stack", help="tune this deployed stack's function instead of the local stage's")
    deployed.add_argument("--run-id", type=run_id_argument, help="the run whose synthetic customer orders")
    deployed.add_argument("--invocations", type=int, default=100, help="orders invoked at each size")
    deployed.add_argument("--force", action="store_true", help="tune a prod stage too")
    return options


def run_size(memory_mb: int, args: argparse.Namespace, extra: list[str]) -> Path:
    """The main job at ``memory_mb``; its run folder (its output goes to this one's)."""
    users = 100 if args.users is None else args.users
    command = [sys.executable, "-m", "loadtests.run", "--memory-size", str(memory_mb), "--cpu-model", args.cpu_model,
               "--users", str(users), "--run-time", args.run_time, *extra]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    sys.stdout.write(done.stdout[-2000:])
    found = RUN_FOLDER.search(done.stdout)
    if found is None:
        raise RuntimeError(
            f"the main job at {memory_mb} MB left no run folder (exit {done.returncode}): {done.stderr[-500:]}"
        )
    return Path(found["path"])


def local_sweep(args: argparse.Namespace, extra: list[str]) -> list[SizeResult]:
    """Each size's main job on a fresh local stage."""
    results = []
    for size in args.memory:
        print(f"--- {size} MB", flush=True)
        results.append(result_of(size, run_size(size, args, extra)))
    return results


def deployed_plan(args: argparse.Namespace) -> tuning.Sweep:
    """What a sweep of the stack's function needs, read from the stack; nothing is changed yet.

    Raises:
        DeployedInputError: no ``--run-id``, a prod stage without ``--force``, a stack without
            its outputs or an orderable product.
    """
    if args.run_id is None:
        raise DeployedInputError("a deployed sweep needs --run-id: its orders are that run's synthetic customer's")
    stack = Stack.describe(args.stack)
    tuning.refuse_protected(stack, force=args.force)
    return tuning.Sweep(
        function=stack.output("FunctionName"),
        orders_table=stack.output("OrdersTableName"),
        product_id=tuning.orderable_product(boto3.client("dynamodb"), stack.output("ProductsTableName")),
        run_id=args.run_id,
        invocations=args.invocations,
        concurrency=10 if args.users is None else args.users,
    )


def deployed_sweep(plan: tuning.Sweep, sizes: list[int], folder: Path) -> list[SizeResult]:
    """Each size behind the tuning alias of the stack's function, the function restored after.

    Raises:
        TuningError: the function could not be put back as it was (what was not, named).
    """
    results, problems = tuning.sweep(boto3.client("lambda"), boto3.client("dynamodb"), plan, sizes, folder)
    if problems:
        raise tuning.TuningError(f"{plan.function} was not fully restored: " + "; ".join(problems))
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the sweep, print the table and the recommendation; 0 a size recommended, 1 none, 2 refused."""
    args, extra = parser().parse_known_args(argv)
    if args.stack and extra:
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        plan = deployed_plan(args) if args.stack else None
        folder = RunFolder.new("tune")
        results = deployed_sweep(plan, args.memory, folder.path) if plan else local_sweep(args, extra)
    except (DeployedInputError, NoCredentialsError, NoRegionError) as exc:
        print(f"tune: {exc}", file=sys.stderr)
        return 2
    chosen = recommend(results, args.strategy, args.balanced_weight)
    text = table(results, chosen, args.strategy)
    (folder.path / "tune.md").write_text(text + "\n")
    where = {"stack": args.stack, "invocations": args.invocations} if args.stack else {"cpu_model": args.cpu_model}
    document = {
        "strategy": args.strategy,
        "weight": args.balanced_weight,
        "users": args.users,
        "run_time": None if args.stack else args.run_time,
        **where,
        "sizes": [asdict(r) for r in results],
        "recommended_mb": chosen.memory_mb if chosen else None,
    }
    (folder.path / "tune.json").write_text(json.dumps(document, indent=2))
    title = f"Power tuning of {args.stack} (invoked through alias {tuning.TUNING_ALIAS})" if args.stack else None
    chart(results, folder.path / "tune.png", *([title] if title else []))
    print(text)
    print(f"sweep folder: {folder.path}")
    return 0 if chosen is not None else 1


if __name__ == "__main__":
    sys.exit(main())
