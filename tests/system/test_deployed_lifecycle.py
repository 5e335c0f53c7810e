"""A deployed stack's whole lifecycle, with moto playing the deployed account.

seed -> users -> run -> audit later -> cleanup, each as an operator runs it
(``python -m loadtests.deployed ...``), on a stack whose catalog starts empty as a fresh deploy's does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from harness.seed import CATALOG
from localstage.local import LocalStage
from tests.support.deployed import customer_ids_in_pool, fake_stack, orders_by_customer, remote, shown, stack_outputs

STACK = "create-order-lifecycle"


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalStage]:
    """The local stage as a freshly deployed stack: an empty products table."""
    with LocalStage(tmp_path / "stage", concurrency=4, customers=1) as stage:
        dynamodb = boto3.client("dynamodb")
        products = stage.describe()["physical"]["ProductsTable"]
        for item in dynamodb.scan(TableName=products)["Items"]:
            dynamodb.delete_item(TableName=products, Key={"product_id": item["product_id"]})
        fake_stack(STACK, stack_outputs(stage))
        yield stage


def test_a_run_seeds_creates_its_users_loads_is_audited_later_and_cleans_up(
    fresh_stack: LocalStage, tmp_path: Path
) -> None:
    # Given a stack with an empty catalog, the stage's own customer, and a real customer's order
    info = fresh_stack.describe()
    orders_table, pool_id = info["physical"]["OrdersTable"], info["user_pool_id"]
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=orders_table, Item={"id": {"S": "real-order-1"}, "customer_id": {"S": "cust-000"}})
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(info["catalog"]))
    reports = tmp_path / "reports"
    on_stack = ("--stack", STACK, "--reports", str(reports))

    # When the catalog is seeded from a file
    seeded = remote(fresh_stack, "seed", *on_stack, "--catalog", str(catalog_file))

    # Then the table holds the file's products, as the local stage writes them
    assert seeded.returncode == 0, shown(seeded)
    assert f"seeded {len(CATALOG)} products" in seeded.stdout
    items = dynamodb.scan(TableName=info["physical"]["ProductsTable"])["Items"]
    stored = {i["product_id"]["S"]: (Decimal(i["price"]["N"]), i["currency"]["S"], i["active"]["BOOL"]) for i in items}
    assert stored == {p: (Decimal(price), currency, active) for p, (price, currency, active) in CATALOG.items()}

    # When the run's users are created under a new run id
    made = remote(fresh_stack, "users", *on_stack, "--count", "3")

    # Then they are in the pool, named after the run, with customer ids under its synthetic prefix
    assert made.returncode == 0, shown(made)
    run_id = made.stdout.splitlines()[0].removeprefix("run id: ")
    run_dir = reports / STACK / run_id
    users = json.loads((run_dir / "users.json").read_text())
    customers = {f"synthetic-{run_id}-{n:03d}" for n in range(3)}
    assert {user["customer_id"] for user in users} == customers
    assert all(run_id in user["username"] for user in users)
    assert customers <= customer_ids_in_pool(pool_id)

    # When the load runs as those users
    loaded = remote(
        fresh_stack, "run", *on_stack, "--run-id", run_id,
        "--users", "3", "--spawn-rate", "3", "--run-time", "4s", "--slo-p95-ms", "60000",
    )  # fmt: skip

    # Then the run's orders were created, every one by a customer of the run, and its audit passed
    assert loaded.returncode == 0, shown(loaded)
    run_orders = {o for o, customer in orders_by_customer(orders_table).items() if customer in customers}
    assert run_orders
    assert json.loads((run_dir / "audit.json").read_text())["passed"] is True

    # When it is audited again later, from the saved ledgers alone
    (run_dir / "audit.json").unlink()
    later = remote(fresh_stack, "audit", *on_stack, "--run-id", run_id)

    # Then the audit judged exactly the run's orders and passed
    assert later.returncode == 0, shown(later)
    report = json.loads((run_dir / "audit.json").read_text())
    assert report["passed"] is True
    assert report["orders_in_table"] == len(run_orders)

    # When it is priced again later, the run's own cost put aside
    first = (run_dir / "cost.json").replace(tmp_path / "first-cost.json")
    priced = remote(fresh_stack, "cost", *on_stack, "--run-id", run_id)

    # Then the same figures come from the saved ledgers and the tables (this stack gives no log group to read)
    assert priced.returncode == 0, shown(priced)
    again = json.loads((run_dir / "cost.json").read_text())
    assert (again["consumption"], again["consumption"]["orders"]) == (
        json.loads(first.read_text())["consumption"],
        report["created"],
    )
    assert priced.stdout.startswith(f"≈ ${again['per_million_orders']:,.2f} per million orders")

    # When the run is cleaned up without --orders
    users_only = remote(fresh_stack, "cleanup", *on_stack, "--run-id", run_id)

    # Then its users are gone and its orders kept
    assert users_only.returncode == 0, shown(users_only)
    assert "deleted 3 users" in users_only.stdout
    assert customer_ids_in_pool(pool_id) == {"cust-000", "admin-000"}
    assert run_orders <= set(orders_by_customer(orders_table))

    # When it is cleaned up with --orders
    with_orders = remote(fresh_stack, "cleanup", *on_stack, "--run-id", run_id, "--orders")

    # Then the run's orders are gone, and the real customer's order and users are untouched
    assert with_orders.returncode == 0, shown(with_orders)
    assert f"deleted {len(run_orders)} orders" in with_orders.stdout
    assert orders_by_customer(orders_table) == {"real-order-1": "cust-000"}
    assert customer_ids_in_pool(pool_id) == {"cust-000", "admin-000"}
