"""A run's cost (``runreport.cost``): its consumption read from a run folder, priced by hand beside it.

The folder is written here the way the stage writes it (access log, Lambda's billing ledger,
moto's request logs with their units, the environments' logs); every figure is worked out in
the test from the table's prices, so that a changed rule or price breaks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.runfolder import RunFolder
from runreport import cost, pricing

INFO_LINE = json.dumps({"level": "INFO", "message": "order created", "order_id": "o-1"}) + "\n"
WARN_LINE = json.dumps({"level": "WARNING", "message": "slow"}) + "\n"
PLATFORM_LINE = json.dumps({"time": "t", "type": "platform.report", "record": {"requestId": "r"}}) + "\n"


def _write_lines(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run of four requests over two seconds: three orders, one refused; one cold start."""
    folder = RunFolder(tmp_path)
    statuses = [(100.0, 201), (100.5, 201), (101.0, 400), (102.0, 201)]
    _write_lines(folder.access_log, [{"ts": ts, "status": status, "path": "/local/orders"} for ts, status in statuses])
    bills = [{"request_id": f"r{n}", "billed_ms": 100, "memory_mb": 256, "gb_seconds": 0.025} for n in range(3)]
    bills.append({"request_id": "cold", "billed_ms": 400, "memory_mb": 256, "gb_seconds": 0.1, "init_billed": True})
    _write_lines(folder.billing, bills)
    _write_lines(folder.logs.request_log("dynamodb"), [
        {"ts": 50.0, "operation": "PutItem", "write_units": 1},  # the stage's seed data: before the load
        *({"ts": 100.1 + n, "operation": "PutItem", "write_units": 3} for n in range(3)),
        {"ts": 100.05, "operation": "BatchGetItem", "read_units": 1.5},
        {"ts": 103.0, "operation": "Scan"},  # the audit's read: no units
    ])  # fmt: skip
    _write_lines(folder.logs.request_log("sqs"), [
        *({"ts": 100.2 + n, "operation": "SendMessage", "sent": 1, "sqs_requests": 1} for n in range(3)),
        {"ts": 101.5, "operation": "ReceiveMessage", "received": 3, "sqs_requests": 1},
        {"ts": 101.6, "operation": "DeleteMessageBatch", "deleted": 3, "sqs_requests": 1},
    ])  # fmt: skip
    worker = folder.logs.worker_log(1)
    worker.write_text(PLATFORM_LINE + INFO_LINE * 3 + WARN_LINE)
    return tmp_path


def test_the_consumption_is_what_the_load_did_and_not_the_stages_set_up(run_dir: Path) -> None:
    used = cost.consumption(run_dir)
    access_bytes = RunFolder(run_dir).access_log.stat().st_size
    assert used == cost.Consumption(
        requests=4, orders=3, seconds=2.0, invocations=4, billed_ms=700, gb_seconds=0.175, memory_mb=256,
        write_units=9.0, read_units=1.5, sqs_requests=3, downstream_sqs_requests=2,
        log_bytes=len(PLATFORM_LINE) + 3 * len(INFO_LINE) + len(WARN_LINE) + access_bytes,
        quiet_log_bytes=3 * len(INFO_LINE),
    )  # fmt: skip
    # X-Ray's default rule: one request a second (2) and 5 % of the other 2
    assert used.traces == pytest.approx(2.1)


def test_the_run_is_priced_per_component_per_million_orders(run_dir: Path) -> None:
    used = cost.consumption(run_dir)
    priced = cost.price(used, arch="arm64")
    by_hand = {
        "lambda": 4 * 0.20e-6 + 0.175 * 0.0000133334,
        "api_gateway": 4 * 3.50e-6,
        "dynamodb": 9 * 0.625e-6 + 1.5 * 0.125e-6,
        "sqs": 3 * 0.40e-6,
        "logs": used.log_bytes / 1024**3 * 0.50,
        "xray": 2.1 * 5.00e-6,
    }
    for name, usd in by_hand.items():
        assert priced["components_per_million_orders"][name] == pytest.approx(usd / 3 * 1e6, abs=1e-4), name
    assert priced["usd"] == pytest.approx(sum(by_hand.values()), rel=1e-6)
    assert priced["per_million_orders"] == pytest.approx(sum(by_hand.values()) / 3 * 1e6, abs=1e-4)
    assert priced["per_million_requests"] == pytest.approx(sum(by_hand.values()) / 4 * 1e6, abs=1e-4)
    assert priced["downstream_per_million_orders"] == pytest.approx(2 * 0.40e-6 / 3 * 1e6, abs=1e-4)
    assert (priced["region"], priced["memory_mb"], priced["architecture"]) == ("us-east-1", 256, "arm64")
    assert priced["prices_read"] == pricing.load().read


def test_what_if_rows_move_only_what_they_change(run_dir: Path) -> None:
    used = cost.consumption(run_dir)
    priced = cost.price(used, arch="arm64")
    run, what_if = priced["components_per_million_orders"], priced["what_if"]
    http = what_if["http_api"]["components_per_million_orders"]
    assert http["api_gateway"] == pytest.approx(4 * 1.00e-6 / 3 * 1e6, abs=1e-4)
    assert {k: v for k, v in http.items() if k != "api_gateway"} == {k: v for k, v in run.items() if k != "api_gateway"}
    x86 = what_if["x86_64"]["components_per_million_orders"]
    assert x86["lambda"] == pytest.approx((4 * 0.20e-6 + 0.175 * 0.0000166667) / 3 * 1e6, abs=1e-4)
    quiet = what_if["logs_at_warn"]["components_per_million_orders"]
    assert quiet["logs"] == pytest.approx((used.log_bytes - 3 * len(INFO_LINE)) / 1024**3 * 0.5 / 3 * 1e6, abs=1e-6)
    assert quiet["logs"] < run["logs"]


def test_the_architecture_is_the_templates() -> None:
    assert cost.architecture() == "arm64"
    assert cost.architecture({"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {}}}}) == "x86_64"


def test_the_line_names_every_component_and_a_run_without_orders_says_so(run_dir: Path) -> None:
    priced = cost.price(cost.consumption(run_dir), arch="arm64")
    line = cost.line(priced)
    assert line.startswith(f"≈ ${priced['per_million_orders']:,.2f} per million orders at 256 MB arm64 (us-east-1")
    for name in ("Lambda $", "API Gateway $", "DynamoDB $", "SQS $", "logs $", "X-Ray $"):
        assert name in line
    empty = cost.price(cost.Consumption(0, 0, 0.0, 0, 0, 0.0, 0, 0.0, 0.0, 0, 0, 0, 0), arch="arm64")
    assert empty["per_million_orders"] is None
    assert cost.line(empty) == "cost: no order was stored, nothing to price per order"


def test_snapstart_adds_each_restore_and_the_snapshot_s_caching_to_lambda(run_dir: Path) -> None:
    # Given the same run with SnapStart: the cold start was a restore instead (its billed restore in its billed ms)
    folder = RunFolder(run_dir)
    bills = [json.loads(line) for line in folder.billing.read_text().splitlines()]
    bills[-1] = {**bills[-1], "init_billed": False, "restored": True}
    _write_lines(folder.billing, bills)
    table = pricing.load()
    plain = cost.consumption(run_dir)
    assert plain.restores == 1

    priced = cost.price(plain, table, arch="arm64")
    without = cost.price(cost.Consumption(**{**vars(plain), "restores": 0}), table, arch="arm64")

    # One restore of 256 MB (0.25 GB x $0.0001397998 per GB) and 0.25 GB cached over the run's 2 s
    # (0.5 GB-s x $0.0000015046): $0.0000349500 + $0.0000007523 = $0.0000357023, over 3 orders
    snapstart = 0.25 * 0.0001397998 + 0.25 * 2.0 * 0.0000015046
    assert priced["usd"] - without["usd"] == pytest.approx(snapstart, abs=2e-10)  # each total is kept to 1e-10
    assert priced["components_per_million_orders"]["lambda"] - without["components_per_million_orders"][
        "lambda"
    ] == pytest.approx(snapstart / 3 * 1e6, rel=1e-6)
    assert cost.snapstart_usd(cost.Consumption(**{**vars(plain), "restores": 0}), table) == 0.0
