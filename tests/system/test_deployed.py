"""The deployed-stage runner, pointed at a 'stack' whose outputs name the local stage.

moto's CloudFormation holds a stack with the real stack's output keys, so the runner's whole
path runs: outputs, catalog, users, Locust headless, the table-only audit, cleanup. Here: a run
as the operator's own users file, and what each step refuses; the whole lifecycle is
tests/system/test_deployed_lifecycle.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from harness.seed import CATALOG, create_customer
from loadtests.deployed.cli import main
from loadtests.roster import Roster
from localstage.backend import free_port
from localstage.local import LocalStage
from localstage.resources import PASSWORD
from tests.support.deployed import (
    ROOT,
    customer_ids_in_pool,
    fake_stack,
    orders_by_customer,
    remote,
    shown,
    stack_outputs,
)

STACK = "create-order-test"


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("remote"), concurrency=4, customers=5) as running:
        fake_stack(STACK, stack_outputs(running))
        yield running


@pytest.fixture(scope="module")
def users_file_run(
    stage: LocalStage, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A short run as the stage's customers, from a users file: the runner before run ids."""
    users_file = tmp_path_factory.mktemp("users") / "customers.json"
    users_file.write_text(json.dumps(stage.describe()["customers"]))
    result = remote(
        stage, "run", "--stack", STACK, "--reports", str(tmp_path_factory.mktemp("reports")),
        "--users-file", str(users_file), "--users", "5", "--spawn-rate", "5", "--run-time", "6s",
        "--slo-p95-ms", "60000",
    )  # fmt: skip
    return result, Path(result.stdout.strip().splitlines()[-1].removeprefix("run folder: "))


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _products(stage: LocalStage) -> dict[str, tuple[Decimal, str, bool]]:
    table = stage.describe()["physical"]["ProductsTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return {i["product_id"]["S"]: (Decimal(i["price"]["N"]), i["currency"]["S"], i["active"]["BOOL"]) for i in items}


def test_run_with_a_users_file_reads_the_stack_runs_the_scenarios_and_audits_the_table(
    users_file_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, run_dir = users_file_run
    assert result.returncode == 0, shown(result)
    assert "not checked (no view of the queue): unqueued" in result.stdout
    audit = json.loads((run_dir / "audit.json").read_text())
    assert audit["passed"] is True
    assert audit["created"] > 0
    catalog = json.loads((run_dir / "catalog.json").read_text())
    assert catalog["P-001"]["active"] is True
    # The run is priced from its ledger and stored orders; this stack has no log group to read Lambda from
    cost = json.loads((run_dir / "cost.json").read_text())
    ledgers = (run_dir / "ledger").glob("ledger-*.jsonl")
    sent = [json.loads(line) for ledger in ledgers for line in ledger.read_text().splitlines()]
    assert (cost["source"], cost["partial"]) == ("deployed", ["lambda", "logs"])
    assert cost["consumption"]["requests"] == audit["attempts"] == len(sent)
    assert cost["consumption"]["orders"] == sum(1 for attempt in sent if attempt["status"] == 201) > 0
    assert cost["consumption"]["write_units"] >= cost["consumption"]["orders"]
    assert "partial: Lambda and logs not seen" in result.stdout
    assert "  - Lambda and the function's logs: the stack has no output FunctionLogGroupName" in result.stdout


def test_audit_later_names_a_tampered_ledger_and_an_order_gone_from_the_table(
    stage: LocalStage, users_file_run: tuple[subprocess.CompletedProcess[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a finished run whose saved ledger shows one order's total wrong, and another order deleted
    _, run_dir = users_file_run
    [ledger] = (run_dir / "ledger").glob("ledger-*.jsonl")
    attempts = [json.loads(line) for line in ledger.read_text().splitlines()]
    shown_wrong, deleted = [a for a in attempts if a["status"] == 201 and a["total"] is not None][:2]
    shown_wrong["total"] = str(Decimal(shown_wrong["total"]) + 1)
    ledger.write_text("".join(json.dumps(a) + "\n" for a in attempts))
    orders_table = stage.describe()["physical"]["OrdersTable"]
    boto3.client("dynamodb").delete_item(TableName=orders_table, Key={"id": {"S": deleted["order_id"]}})

    # When it is audited later
    code, out, _ = _main(
        capsys, "audit", "--stack", STACK, "--reports", str(run_dir.parents[1]), "--run-id", run_dir.name
    )

    # Then the audit fails and names both breaches with their orders
    assert code == 1
    assert "wrong_total (first 1 of 1):" in out
    assert f"order {shown_wrong['order_id']}: shown {shown_wrong['total']}" in out
    assert f"201 order {deleted['order_id']} is not in the table" in out
    report = json.loads((run_dir / "audit.json").read_text())
    assert (report["passed"], report["wrong_total"], report["lost"]) == (False, 1, 1)


def test_seed_onto_existing_products_writes_nothing_and_names_them(
    stage: LocalStage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a catalog file of more products than one transaction takes, two of them already in the table
    usd = {"currency": "USD", "active": True}
    catalog = {f"NEW-{n:03d}": {"price": "5.00", **usd} for n in range(120)}
    catalog |= {"P-001": {"price": "999.00", **usd}, "P-002": {"price": "1", **usd}}
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(catalog))
    before = _products(stage)

    # When it is seeded without --overwrite
    code, _, err = _main(capsys, "seed", "--stack", STACK, "--catalog", str(catalog_file))

    # Then it is refused naming the existing ones, and the table is as it was
    assert code == 2
    assert "2 products already in" in err
    assert "P-001, P-002 (nothing written" in err
    assert "NEW-" not in err
    assert _products(stage) == before


def test_seed_never_overwrites_a_product_that_appears_while_it_writes(
    stage: LocalStage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a catalog of new products, one of which another writer puts just before seeding writes
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(
        json.dumps({p: {"price": "2.00", "currency": "USD", "active": True} for p in ("R-1", "R-2")})
    )
    table = stage.describe()["physical"]["ProductsTable"]
    theirs = {"product_id": {"S": "R-2"}, "price": {"N": "7"}, "currency": {"S": "USD"}, "active": {"BOOL": True}}

    def another_writer(**_: object) -> None:
        boto3.client("dynamodb").put_item(TableName=table, Item=theirs)

    events = boto3._get_default_session().events
    events.register("before-call.dynamodb.TransactWriteItems", another_writer)
    try:
        # When it is seeded without --overwrite
        code, _, err = _main(capsys, "seed", "--stack", STACK, "--catalog", str(catalog_file))
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", another_writer)

    # Then it is refused naming that product, which keeps the other writer's price, and nothing else is written
    assert code == 2
    assert "1 products already in" in err
    assert "R-2 (nothing written" in err
    products = _products(stage)
    assert products["R-2"] == (Decimal(7), "USD", True)
    assert "R-1" not in products


def test_seed_with_overwrite_replaces_existing_products(
    stage: LocalStage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a catalog file with a product the table holds at another price, and a new one
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps({"P-EUR": {"price": 12.5, "currency": "EUR", "active": False},
                                        "NEW-2": {"price": "3.10", "currency": "USD", "active": True}}))  # fmt: skip
    before = _products(stage)

    # When it is seeded with --overwrite
    code, out, _ = _main(capsys, "seed", "--stack", STACK, "--catalog", str(catalog_file), "--overwrite")

    # Then both are written as the file says, and nothing else changed
    assert code == 0
    assert "seeded 2 products" in out
    assert before["P-EUR"] == (Decimal(CATALOG["P-EUR"][0]), "EUR", True)
    assert _products(stage) == {
        **before,
        "P-EUR": (Decimal("12.5"), "EUR", False),
        "NEW-2": (Decimal("3.10"), "USD", True),
    }


def test_cleanup_deletes_the_runs_users_and_orders_and_nothing_else(
    stage: LocalStage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given users of run r1 and of run r10, and orders of r1 beside orders whose customer ids resemble its prefix
    for run_id, count in (("r1", "2"), ("r10", "1")):
        code, _, err = _main(capsys, "users", "--stack", STACK, "--reports", str(tmp_path), "--run-id", run_id,
                             "--count", count)  # fmt: skip
        assert code == 0, err
    run_customers = ["synthetic-r1-000", "synthetic-r1-001"]
    others = ["synthetic-r10-000", "synthetic-r1_b-000", "synthetic-r1", "xsynthetic-r1-000", "cust-001"]
    orders_table, pool_id = stage.describe()["physical"]["OrdersTable"], stage.describe()["user_pool_id"]
    for customer in run_customers + others:
        item = {"id": {"S": f"planted-{customer}"}, "customer_id": {"S": customer}}
        boto3.client("dynamodb").put_item(TableName=orders_table, Item=item)
    orders_before, customers_before = set(orders_by_customer(orders_table)), customer_ids_in_pool(pool_id)

    # When run r1 is cleaned up with its orders
    code, out, err = _main(capsys, "cleanup", "--stack", STACK, "--run-id", "r1", "--orders")

    # Then exactly r1's users and orders are gone
    assert code == 0, err
    assert "deleted 2 users of run r1" in out
    assert "deleted 2 orders of run r1" in out
    run_orders = {f"planted-{customer}" for customer in run_customers}
    assert set(orders_by_customer(orders_table)) == orders_before - run_orders
    assert customer_ids_in_pool(pool_id) == customers_before - set(run_customers)
    assert "synthetic-r10-000" in customers_before


@pytest.fixture(scope="module")
def refusable(stage: LocalStage, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What the refusals point at: a run folder with nothing in it, a bad catalog file, odd stacks."""
    reports = tmp_path_factory.mktemp("refusals")
    (reports / STACK / "bare").mkdir(parents=True)
    (reports / STACK / "made").mkdir(parents=True)
    (reports / STACK / "made" / "users.json").write_text(json.dumps(stage.describe()["customers"]))
    bad_catalog = reports / "bad-catalog.json"
    bad_catalog.write_text(json.dumps({"P-X": {"price": "abc", "currency": "usd", "active": "yes"}}))
    dynamodb = boto3.client("dynamodb")
    keys = {"KeySchema": [{"AttributeName": "product_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "product_id", "AttributeType": "S"}]}  # fmt: skip
    dynamodb.create_table(TableName="empty-products", BillingMode="PAY_PER_REQUEST", **keys)
    fake_stack("create-order-unseeded", {**stack_outputs(stage), "ProductsTableName": "empty-products"})
    fake_stack("create-order-partial", {"ApiUrl": stack_outputs(stage)["ApiUrl"]})
    users_file = reports / STACK / "made" / "users.json"
    return {"reports": str(reports), "bad_catalog": str(bad_catalog), "users_file": str(users_file)}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ("seed --stack no-such-stack", ["no stack 'no-such-stack'", "does not exist"]),
        ("seed --stack create-order-partial", ["stack 'create-order-partial' has no output ProductsTableName"]),
        ("audit --stack {stack} --run-id never", ["no run folder", "/never (run never"]),
        ("run --stack {stack} --run-id never", ["no run folder", "/never (run never"]),
        ("run --stack {stack} --run-id bare", ["no users file", "bare/users.json", "users --stack"]),
        ("run --stack {stack}", ["run needs --run-id", "or --users-file"]),
        (
            "run --stack create-order-unseeded --users-file {users_file}",
            ["empty-products has no active USD product", "seed it"],
        ),
        ("audit --stack {stack} --run-id bare", ["no saved ledgers in", "bare/ledger"]),
        ("users --stack {stack} --run-id made --count 1", ["run made already has its users", "made/users.json"]),
        ("seed --stack {stack} --catalog {bad_catalog}", ["price 'abc'", "currency 'usd'", "active 'yes'"]),
        ("seed --stack {stack} --catalog {reports}/none.json", ["no catalog file", "none.json"]),
    ],
)
def test_bad_input_is_refused_with_exit_2_naming_what_is_wrong(
    refusable: dict[str, str], capsys: pytest.CaptureFixture[str], argv: str, named: list[str]
) -> None:
    command = [*argv.format(stack=STACK, **refusable).split(), "--reports", refusable["reports"]]
    code, out, err = _main(capsys, *command)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert all(part in err for part in named), err
    assert out == ""


def test_a_distributed_run_against_the_stack_takes_its_roles_and_audits_every_worker(
    stage: LocalStage, tmp_path: Path
) -> None:
    # Given the operator's users file of customers of their own (the table holds other tests' orders),
    # a master on this host and two workers pointed at it
    cognito, pool = boto3.client("cognito-idp"), stage.describe()["user_pool_id"]
    customers = [create_customer(cognito, pool, f"dist-{n}@example.com", PASSWORD, f"dist-{n}") for n in range(4)]
    users_file = tmp_path / "customers.json"
    users_file.write_text(json.dumps(customers))
    reports, port = tmp_path / "reports", str(free_port())
    env = {**os.environ, **stage.describe()["aws_env"]}
    master = subprocess.Popen(
        [sys.executable, "-m", "loadtests.deployed", "run", "--stack", STACK, "--reports", str(reports),
         "--users-file", str(users_file), "--users", "4", "--spawn-rate", "4", "--run-time", "6s",
         "--slo-p95-ms", "60000", "--role", "master", "--master-port", port, "--expect-workers", "2",
         "--worker-wait-s", "120"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker = [sys.executable, "-m", "loadtests.deployed", "run", "--stack", STACK, "--reports", str(reports),
              "--role", "worker", "--master-port", port]  # fmt: skip
    workers = [subprocess.Popen(worker, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]  # fmt: skip
    try:
        out, _ = master.communicate(timeout=300)
    finally:
        for process in [master, *workers]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)

    # Then the master's audit covers both workers' ledgers, each worker as its own customers
    assert master.returncode == 0, out[-4000:]
    run_dir = Path(out.strip().splitlines()[-1].removeprefix("run folder: "))
    roster = Roster.load(run_dir / "ledger")
    assert roster is not None
    assert [entry.complete for entry in roster.workers.values()] == [True, True]
    assert not set(roster.workers[0].customers) & set(roster.workers[1].customers)
    audit = json.loads((run_dir / "audit.json").read_text())
    assert audit["passed"] is True
    assert audit["attempts"] == sum(entry.lines for entry in roster.workers.values()) > 0
    assert {c for entry in roster.workers.values() for c in entry.customers} == {c["customer_id"] for c in customers}
