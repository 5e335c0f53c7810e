"""The deployed-stage runner's command line: one subcommand per step of a run's lifecycle.

Exit status: 0 done, 1 the run or its audit failed, 2 refused (bad input, named in one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from botocore.exceptions import NoCredentialsError, NoRegionError

from harness.runfolder import REPORTS
from loadtests.deployed import commands
from loadtests.deployed.errors import DeployedInputError
from loadtests.deployed.runs import SYNTHETIC_PREFIX, run_id_argument
from loadtests.run import load_arguments

if TYPE_CHECKING:
    from collections.abc import Callable


class _RunIdOptions(TypedDict):
    """``--run-id``'s options, the same in every subcommand."""

    type: Callable[[str], str]
    metavar: str


COMMANDS: dict[str, Callable[[argparse.Namespace, list[str]], int]] = {
    "seed": commands.seed,
    "users": commands.users,
    "run": commands.run,
    "audit": commands.audit,
    "cost": commands.cost,
    "cleanup": commands.cleanup,
}


def _count(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} users: at least one")
    return count


def parser() -> argparse.ArgumentParser:
    """The runner's arguments: a subcommand and its options (``run`` passes unknown ones to Locust)."""
    top = argparse.ArgumentParser(prog="python -m loadtests.deployed", description=__doc__.splitlines()[0])
    subcommands = top.add_subparsers(dest="command", required=True, metavar="{seed,users,run,audit,cost,cleanup}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, help="the deployed stack's name")
    common.add_argument("--reports", type=Path, default=REPORTS, help="run folders: REPORTS/STACK/RUN_ID/")
    run_id: _RunIdOptions = {"type": run_id_argument, "metavar": "RUN_ID"}

    seed = subcommands.add_parser("seed", parents=[common], help="seed the products table from a catalog file")
    seed.add_argument(
        "--catalog", type=Path, help="JSON {product_id: {price, currency, active}} (default: the local stage's)"
    )
    seed.add_argument("--overwrite", action="store_true", help="replace products already in the table")

    users = subcommands.add_parser(
        "users", parents=[common], help=f"create a run's users ({SYNTHETIC_PREFIX}RUN_ID-NNN)"
    )
    users.add_argument("--count", type=_count, default=100)
    users.add_argument("--run-id", **run_id, help="default: a new one, printed")

    run = subcommands.add_parser(
        "run", parents=[common, load_arguments("Locust headless as a run's users, then the audit", "5m", 10)],
        add_help=False, help="Locust headless as a run's users, then the audit (unknown options go to Locust)",
    )  # fmt: skip
    run.add_argument("--run-id", **run_id, help="the run whose users `users` created")
    run.add_argument("--users-file", type=Path, help="log in as these users instead (a new run id if none given)")

    audit = subcommands.add_parser("audit", parents=[common], help="audit a run later from its saved ledgers")
    audit.add_argument("--run-id", **run_id, required=True)

    cost = subcommands.add_parser(
        "cost", parents=[common], help="price a run from its ledgers, the stack's log groups and its tables"
    )
    cost.add_argument("--run-id", **run_id, required=True)

    cleanup = subcommands.add_parser("cleanup", parents=[common], help="delete a run's users (and orders)")
    cleanup.add_argument("--run-id", **run_id, required=True)
    cleanup.add_argument(
        "--orders", action="store_true", help=f"also delete the run's orders ({SYNTHETIC_PREFIX}RUN_ID-…)"
    )
    return top


def arguments(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The subcommand and its options from ``argv``; what ``run`` does not know goes to Locust, elsewhere it is refused.

    Raises:
        SystemExit: argparse's exit 2, usage and the error on stderr.
    """
    options = parser()
    args, extra = options.parse_known_args(argv)
    if extra and args.command != "run":
        options.error(f"unrecognized arguments: {' '.join(extra)}")
    return args, extra


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; its exit status, or 2 with one line naming what was refused."""
    args, extra = arguments(argv)
    try:
        return COMMANDS[args.command](args, extra)
    except (DeployedInputError, NoCredentialsError, NoRegionError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
