"""The same scenarios, headless, against a deployed stage; then the audit of its table.

    python -m loadtests.remote --stack create-order-dev --create-users 100   # once: test customers
    python -m loadtests.remote --stack create-order-dev [--users 100] [--run-time 5m] [--processes N]

Reads the stack's outputs (ApiUrl, UserPoolId, UserPoolClientId, OrdersTableName) with the
operator's AWS credentials. Test customers are Cognito users created with the admin API
(``custom:customer_id`` = ``load-NNN``, random passwords), written to the users file, which
is all the load test needs to log in. The audit scans the orders table; a deployed queue has
its own consumers, so the checks that need the queue are reported as not made.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from loadtests.audit import audit, orders_of_run, scan_orders
from loadtests.ledger import read_ledgers
from loadtests.run import load_arguments, locust_commands, run_locust
from loadtests.stage.resources import create_customer
from loadtests.stage.template import ROOT


def stack_outputs(stack: str) -> dict[str, str]:
    """The stack's outputs by key."""
    [description] = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}


def read_catalog(table: str) -> dict[str, dict[str, Any]]:
    """The products the scenarios may order, from the stack's products table."""
    catalog: dict[str, dict[str, Any]] = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            catalog[item["product_id"]["S"]] = {
                "price": item.get("price", {}).get("N"),
                "currency": item.get("currency", {}).get("S"),
                "active": item.get("active", {}).get("BOOL") is True,
            }
    return catalog


def create_users(outputs: dict[str, str], count: int, path: Path) -> list[dict[str, str]]:
    """Create ``count`` test customers in the stack's pool and write them to ``path``."""
    cognito = boto3.client("cognito-idp")
    users = []
    for n in range(count):
        username = f"load-{n:03d}@example.com"
        password = secrets.token_urlsafe(18) + "Aa1!"
        customer_id = f"load-{n:03d}"
        users.append(create_customer(cognito, outputs["UserPoolId"], username, password, customer_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(users, indent=2))
    path.chmod(0o600)
    return users


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios against the stack (or create its test users); audit; exit code."""
    parser = load_arguments(__doc__.splitlines()[0], "5m", 10)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--users-file", type=Path, default=None)
    parser.add_argument("--create-users", type=int, default=0, help="create this many test customers, then stop")
    args, extra = parser.parse_known_args(argv)
    outputs = stack_outputs(args.stack)
    users_file = args.users_file or ROOT / "reports" / args.stack / "customers.json"
    if args.create_users:
        create_users(outputs, args.create_users, users_file)
        print(f"{args.create_users} test customers written to {users_file}")
        return 0
    run_dir = ROOT / "reports" / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.stack}"
    run_dir.mkdir(parents=True)
    host = outputs["ApiUrl"].removesuffix("/").removesuffix("/orders")
    (run_dir / "catalog.json").write_text(json.dumps(read_catalog(outputs["ProductsTableName"])))
    target = [
        "--users-file", str(users_file), "--cognito-client-id", outputs["UserPoolClientId"],
        "--ledger-dir", str(run_dir / "ledger"), "--catalog-file", str(run_dir / "catalog.json"),
    ]  # fmt: skip
    commands = locust_commands(args, extra, host, run_dir, target)
    exit_code = run_locust(commands, args.shape)
    attempts = read_ledgers(run_dir / "ledger")
    report = audit(attempts, orders_of_run(scan_orders(outputs["OrdersTableName"]), attempts), None)
    (run_dir / "audit.json").write_text(json.dumps(report.as_json(), indent=2))
    print(report.table())
    print(f"run folder: {run_dir}")
    return 0 if exit_code == 0 and report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
