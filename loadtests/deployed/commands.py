"""The lifecycle's subcommands, each from parsed arguments to an exit status (0 done, 1 failed)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from harness import runfolder
from harness.seed import CATALOG
from loadtests.deployed.catalog import load_catalog_file, orderable, read_catalog, seed_products
from loadtests.deployed.cost import describe, price_run
from loadtests.deployed.errors import DeployedInputError
from loadtests.deployed.judge import audit_saved
from loadtests.deployed.orders import delete_orders
from loadtests.deployed.runs import RunFolder, customer_prefix, new_run_id
from loadtests.deployed.stack import Stack
from loadtests.deployed.users import create_users, delete_users
from loadtests.run import locust_commands, run_locust

if TYPE_CHECKING:
    import argparse
    from pathlib import Path


def seed(args: argparse.Namespace, _extra: list[str]) -> int:
    """Write a catalog (a file, else the local stage's) into the stack's products table."""
    catalog = load_catalog_file(args.catalog) if args.catalog else dict(CATALOG)
    table = Stack.describe(args.stack).output("ProductsTableName")
    written = seed_products(table, catalog, overwrite=args.overwrite)
    print(f"seeded {written} products into {table}" + (" (existing ones replaced)" if args.overwrite else ""))
    return 0


def users(args: argparse.Namespace, _extra: list[str]) -> int:
    """Create the run's users in the stack's pool and write them to the run's folder."""
    pool_id = Stack.describe(args.stack).output("UserPoolId")
    folder = RunFolder.of(args.reports, args.stack, args.run_id or new_run_id())
    if folder.users_file.exists():
        raise DeployedInputError(f"run {folder.run_id} already has its users: {folder.users_file}")
    created = create_users(pool_id, folder.run_id, args.count)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.users_file.touch(mode=0o600)  # passwords: readable by the operator only, from the first byte
    folder.users_file.write_text(json.dumps(created, indent=2))
    print(f"run id: {folder.run_id}")
    print(f"{len(created)} users (customer ids {customer_prefix(folder.run_id)}NNN) written to {folder.users_file}")
    return 0


def run(args: argparse.Namespace, extra: list[str]) -> int:
    """Locust headless against the stack as the run's users, then the audit of its ledgers, then its cost."""
    if args.role == "worker":
        return _work(args, extra)
    if args.run_id is None and args.users_file is None:
        raise DeployedInputError("run needs --run-id (a run whose users `users` created) or --users-file")
    folder = RunFolder.of(args.reports, args.stack, args.run_id or new_run_id())
    if args.users_file is None:
        folder.existing()
    users_file = args.users_file or folder.users_file
    _check_users_file(users_file, folder.run_id, args.stack)
    stack = Stack.describe(args.stack)
    host, client_id, orders_table = stack.host, stack.output("UserPoolClientId"), stack.output("OrdersTableName")
    products_table = stack.output("ProductsTableName")
    catalog = read_catalog(products_table)
    if not orderable(catalog):
        raise DeployedInputError(
            f"{products_table} has no active USD product to order ({len(catalog)} products): "
            f"seed it first (seed --stack {args.stack})"
        )
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.catalog_file.write_text(json.dumps(catalog))
    print(f"run id: {folder.run_id}", flush=True)
    target = [
        "--users-file", str(users_file), "--cognito-client-id", client_id,
        "--ledger-dir", str(folder.ledger_dir), "--catalog-file", str(folder.catalog_file),
    ]  # fmt: skip
    exit_code = run_locust(locust_commands(args, extra, host, folder.path, target), args.shape)
    report = audit_saved(folder, orders_table)
    print(report.table())
    _price_after_run(folder, stack)
    print(f"run folder: {folder.path}")
    return 0 if exit_code == 0 and report.passed else 1


def _price(folder: RunFolder, stack: Stack) -> None:
    """Price the run, write its cost into its folder and print it."""
    priced = price_run(folder, stack)
    folder.cost.write_text(json.dumps(priced, indent=2))
    print("\n".join(describe(priced)))
    print(f"cost written to {folder.cost}")


def _price_after_run(folder: RunFolder, stack: Stack) -> None:
    """The run's cost, which never fails a run: what could not be read is printed instead."""
    try:
        _price(folder, stack)
    except (ClientError, BotoCoreError, DeployedInputError) as exc:
        later = f"python -m loadtests.deployed cost --stack {stack.name} --run-id {folder.run_id}"
        print(f"cost: the run could not be priced ({exc}); price it later: {later}")


def _work(args: argparse.Namespace, extra: list[str]) -> int:
    """A worker host's part of a distributed run: Locust as a worker; users, catalog and audit are the master's."""
    folder = runfolder.RunFolder.new("worker", args.reports / args.stack).path
    print(f"worker of {args.master_host}:{args.master_port} (folder {folder})", flush=True)
    return run_locust(locust_commands(args, extra, "", folder, []), args.shape)


def _check_users_file(path: Path, run_id: str, stack: str) -> None:
    try:
        listed = json.loads(path.read_text())
    except FileNotFoundError as exc:
        hint = f"create the run's users first (users --stack {stack} --run-id {run_id})"
        raise DeployedInputError(f"no users file {path}: {hint}") from exc
    except json.JSONDecodeError as exc:
        raise DeployedInputError(f"users file {path} is not JSON: {exc}") from exc
    if not isinstance(listed, list) or not listed:
        raise DeployedInputError(f"users file {path}: expected a non-empty list of {{username, password, customer_id}}")


def audit(args: argparse.Namespace, _extra: list[str]) -> int:
    """Audit a run later, from the ledgers saved in its folder, against the stack's orders table."""
    folder = RunFolder.of(args.reports, args.stack, args.run_id).existing()
    report = audit_saved(folder, Stack.describe(args.stack).output("OrdersTableName"))
    print(report.table())
    print(f"audit written to {folder.audit}")
    return 0 if report.passed else 1


def cost(args: argparse.Namespace, _extra: list[str]) -> int:
    """Price a run later from its saved ledgers, the stack's log groups and its tables (``loadtests.deployed.cost``)."""
    folder = RunFolder.of(args.reports, args.stack, args.run_id).existing()
    _price(folder, Stack.describe(args.stack))
    return 0


def cleanup(args: argparse.Namespace, _extra: list[str]) -> int:
    """Delete the run's users, and with ``--orders`` its orders: nothing outside the run's prefix."""
    stack = Stack.describe(args.stack)
    pool_id, orders_table = stack.output("UserPoolId"), stack.output("OrdersTableName")
    prefix = customer_prefix(args.run_id)
    print(f"deleted {delete_users(pool_id, args.run_id)} users of run {args.run_id} (customer ids {prefix}NNN)")
    if args.orders:
        print(f"deleted {delete_orders(orders_table, args.run_id)} orders of run {args.run_id} from {orders_table}")
    else:
        print(f"kept the run's orders in {orders_table} (cleanup --orders deletes them)")
    return 0
