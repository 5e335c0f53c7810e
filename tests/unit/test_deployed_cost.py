"""A deployed run's cost (``loadtests.deployed.cost``): a stack played by moto, every figure worked by hand.

The stack's log groups hold Lambda's REPORTs (as Lambda writes them in the JSON log format), the
function's INFO and ERROR lines and the API's access lines, some inside the run's window and
some outside it; the run folder holds the run's ledger; the tables hold its orders as the
function writes them (``order_to_item``) and the products they name. A changed rule, window or
price breaks a figure here.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from create_order.adapters.dynamodb import order_to_item
from create_order.api import PROBLEM_TYPE_PREFIX
from create_order.models import Order, OrderLine
from harness import billing, platform_log
from harness.platform_log import Report
from harness.runfolder import LedgerFolder
from loadtests.deployed import commands
from loadtests.deployed import cost as deployed_cost
from loadtests.deployed.cli import main
from loadtests.deployed.runs import RunFolder
from loadtests.deployed.stack import Stack
from loadtests.ledger import append_lines
from runreport import cost
from tests.support.deployed import fake_stack
from tests.unit.test_audit import CUSTOMER, _attempt, derived_order_id

# fake_stack's placeholder resource is one moto's in-process CloudFormation only warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle:UserWarning")

STACK = "create-order-cost"
RUN_ID = "r1"
FUNCTION_GROUP = "/aws/lambda/order-processing-create-order-test"
ACCESS_GROUP = "/aws/apigateway/create-order-test/access"
T0 = float(int(time.time()) - 3600)
"""The run's first request, an hour ago (CloudWatch Logs takes events of the last 14 days)."""

INFO_LINE = json.dumps({"level": "INFO", "message": "order created", "order_id": "o-1"})
ERROR_LINE = json.dumps({"level": "ERROR", "message": "validation failed", "error_code": "validation"})


def _report(request_id: str, billed_ms: int, init_ms: float | None = None) -> str:
    """A REPORT as Lambda writes it in the JSON log format, at 256 MB."""
    entry = Report(request_id, billed_ms - 0.5 - (init_ms or 0.0), billed_ms, 256, 90, init_ms)
    return platform_log.report(platform_log.JSON, entry)


def _access(request_id: str, status: int) -> str:
    return json.dumps({"requestId": request_id, "httpMethod": "POST", "status": str(status)})


# The function's log group: (seconds after T0, message). The run's window is T0 .. T0 + 9.04
# (its last answer, the 400 sent at T0 + 4 and answered 40 ms later, plus WINDOW_AFTER_S = 5 s).
FUNCTION_EVENTS = [
    (-10.0, _report("before", 1000)),  # an earlier caller's, before the window: not counted
    (0.05, INFO_LINE),
    (0.1, _report("r-1", 400, init_ms=299.5)),  # a cold start: its INIT inside its billed 400 ms
    (1.1, _report("r-2", 50)),
    (2.05, _report("r-3", 60)),
    (4.02, ERROR_LINE),
    (4.04, _report("r-5", 30)),
    (6.0, _report("other", 70)),  # another caller's invocation inside the window: counted, and named
    (20.0, _report("after", 2000)),  # after the window: not counted
    (30.0, INFO_LINE),  # after the window: not counted
]
IN_WINDOW = [message for offset, message in FUNCTION_EVENTS if 0 <= offset <= 9.04]
ACCESS_EVENTS = [
    (0.1, _access("a-1", 201)),
    (1.1, _access("a-2", 201)),
    (2.05, _access("a-3", 409)),
    (3.01, _access("a-4", 401)),
    (4.04, _access("a-5", 400)),
    (40.0, _access("late", 201)),  # after the window: not counted
]
ACCESS_IN_WINDOW = [message for offset, message in ACCESS_EVENTS if offset <= 9.04]

BIG_DESCRIPTION = "d" * 5000
"""Makes product P-2 5049 bytes: two 4 KB read blocks."""


def _order(key: str, lines: tuple[OrderLine, ...], total: str, address: dict[str, str] | None = None) -> Order:
    return Order(
        id=derived_order_id(CUSTOMER, key),
        customer_id=CUSTOMER,
        lines=lines,
        total=Decimal(total),
        currency="USD",
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(T0)),
        request_hash="a" * 64,
        write_token="b" * 32,
        shipping_address=address,
        idempotency_key=key,
    )


ORDER_1 = _order("k-1", (OrderLine("P-1", 2, Decimal("5.00"), Decimal("10.00")),), "10.00")
ORDER_2 = _order(
    "k-2",
    (OrderLine("P-1", 1, Decimal("5.00"), Decimal("5.00")), OrderLine("P-2", 1, Decimal("5.00"), Decimal("5.00"))),
    "10.00",
    {"street": "x" * 1000},
)


def _attempts() -> list[dict[str, Any]]:
    """The run's ledger: two orders, a duplicate of the first, an intruder the authorizer refused, a bad input."""
    sent = [
        (_attempt(201, key="k-1"), 0.0, 100.0, None),
        (_attempt(201, key="k-2"), 1.0, 100.0, None),
        (_attempt(409, op="duplicate", key="k-1"), 2.0, 50.0, "duplicate-request"),
        (_attempt(401, op="intrude", key="k-3", expected=[401]), 3.0, 10.0, "unauthorized"),
        (_attempt(400, op="bad", key="k-4", expected=[400]), 4.0, 40.0, "validation-error"),
    ]
    return [
        {**attempt, "ts": T0 + offset, "latency_ms": latency, "problem_type": slug and PROBLEM_TYPE_PREFIX + slug}
        for attempt, offset, latency, slug in sent
    ]


def _log_group(name: str, events: list[tuple[float, str]]) -> None:
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="2026/12/07/[$LATEST]env-1")
    logs.put_log_events(
        logGroupName=name,
        logStreamName="2026/12/07/[$LATEST]env-1",
        logEvents=[{"timestamp": int((T0 + offset) * 1000), "message": message} for offset, message in events],
    )


def _table(name: str, key: str, items: list[dict[str, Any]]) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for item in items:
        dynamodb.put_item(TableName=name, Item=item)


def _function(name: str) -> None:
    """The stack's function, as Lambda describes it: x86_64 (the template says arm64), 256 MB."""
    trust = {"Version": "2012-10-17", "Statement": []}
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": package.getvalue()}, Architectures=["x86_64"], MemorySize=256,
    )  # fmt: skip


OUTPUTS = {
    "OrdersTableName": "orders",
    "ProductsTableName": "products",
    "FunctionName": "create-order",
    "FunctionLogGroupName": FUNCTION_GROUP,
    "ApiAccessLogGroupName": ACCESS_GROUP,
}


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[RunFolder]:
    """The stack (its log groups, tables and function in moto) and the run's folder with its ledger."""
    with mock_aws():
        _log_group(FUNCTION_GROUP, FUNCTION_EVENTS)
        _log_group(ACCESS_GROUP, ACCESS_EVENTS)
        product = {"price": {"N": "5"}, "currency": {"S": "USD"}, "active": {"BOOL": True}}
        _table("products", "product_id", [
            {"product_id": {"S": "P-1"}, **product},
            {"product_id": {"S": "P-2"}, **product, "description": {"S": BIG_DESCRIPTION}},
        ])  # fmt: skip
        someone_else = order_to_item(_order("k-9", ORDER_1.lines, "10.00")) | {"customer_id": {"S": "cust-999"}}
        _table("orders", "id", [order_to_item(ORDER_1), order_to_item(ORDER_2), someone_else])
        _function("create-order")
        fake_stack(STACK, OUTPUTS)
        folder = RunFolder.of(tmp_path, STACK, RUN_ID)
        folder.ledger_dir.mkdir(parents=True)
        append_lines(LedgerFolder(folder.ledger_dir).process_ledger(1), [json.dumps(a) for a in _attempts()])
        yield folder


def test_the_hand_worked_sizes_are_dynamodb_s() -> None:
    # ORDER_1: id 2+36, customer_id 11+8, status 6+7, items 5+58 (a list: 3, plus its one map of 54 and 1;
    # the map: 3 + product_id 10+3+1 + quantity 8+2+1 + unit_price 10+2+1 + line_total 10+2+1), item_count
    # 10+2, total 5+2 ("10.00": one significant digit, 2 bytes), currency 8+3, created_at 10+24,
    # request_hash 12+64, write_token 11+32, idempotency_key 15+3 = 334 bytes: one write unit
    assert billing.item_bytes(order_to_item(ORDER_1)) == 334
    # ORDER_2: the same but items 5+113 (3 + two maps of 54, each plus 1) and item_count 2 (2 bytes): 389,
    # and shipping_address 16 + (3 + street 6+1000+1) = 1026: 1415 bytes, two write units
    assert billing.item_bytes(order_to_item(ORDER_2)) == 1415
    # P-1: product_id 10+3, price 5+2, currency 8+3, active 6+1 = 38 (one 4 KB block); P-2 also description
    # 11+5000: 5049 (two blocks)
    product = {"price": {"N": "5"}, "currency": {"S": "USD"}, "active": {"BOOL": True}}
    assert billing.item_bytes({"product_id": {"S": "P-1"}, **product}) == 38
    assert billing.item_bytes({"product_id": {"S": "P-2"}, **product, "description": {"S": BIG_DESCRIPTION}}) == 5049


def test_a_deployed_run_is_priced_from_its_window_s_reports_its_ledger_and_its_stored_orders(
    deployed: RunFolder,
) -> None:
    priced = deployed_cost.price_run(deployed, Stack.describe(STACK))

    used = priced["consumption"]
    # Lambda: the five REPORTs in the window (the run's four and another caller's), not the two outside it:
    # 400 + 50 + 60 + 30 + 70 = 610 ms billed, the cold start's INIT inside its 400; at 256 MB (1/4 GB)
    # 0.610 s x 0.25 = 0.1525 GB-seconds
    assert (used["invocations"], used["billed_ms"], used["gb_seconds"], used["memory_mb"]) == (5, 610, 0.1525, 256)
    # The ledger: five requests, two 201s, sent from T0 to T0 + 4 s
    assert (used["requests"], used["orders"], used["seconds"]) == (5, 2, 4.0)
    # Writes: ORDER_1 1 unit, ORDER_2 2 units, the 409's refused PutItem at ORDER_1's size 1 = 4 (the
    # other customer's order is not the run's). Reads, eventually consistent (half a unit per 4 KB block):
    # ORDER_1's P-1 1 block, ORDER_2's P-1 and P-2 1 + 2 blocks, the 409's P-1 1 block: 5 blocks = 2.5 units
    assert (used["write_units"], used["read_units"]) == (4.0, 2.5)
    # SQS: a SendMessage of some 200 bytes (one 64 KB chunk) per 201, and the duplicate 409's: 3
    assert (used["sqs_requests"], used["downstream_sqs_requests"]) == (3, 0)
    # Logs: every event of both groups in the window, the INFO line the quiet part of it
    log_bytes = sum(len(message.encode()) for message in IN_WINDOW + ACCESS_IN_WINDOW)
    assert (used["log_bytes"], used["quiet_log_bytes"]) == (log_bytes, len(INFO_LINE))
    # X-Ray's default rule over 5 requests in 4 s: 4 (one a second) and 5 % of the 1 left = 4.05 traces
    assert used["traces"] == pytest.approx(4.05)
    # Priced at the function's own architecture, x86_64 (the template's is arm64)
    assert priced["architecture"] == "x86_64"
    per_order = priced["components_per_million_orders"]
    # Lambda: 5 x $0.20/M + 0.1525 GB-s x $0.0000166667 = $0.000001 + $0.00000254167 = $0.00000354167,
    # over 2 orders x 1e6: $1.770835, $1.77 to the cent
    assert round(per_order["lambda"], 2) == 1.77
    # API Gateway 5 x $3.50/M = $0.0000175 -> $8.75; DynamoDB 4 x $0.625/M + 2.5 x $0.125/M = $0.0000028125
    # -> $1.40625; SQS 3 x $0.40/M -> $0.60; X-Ray 4.05 x $5/M -> $10.125; logs at $0.50 a GB
    assert per_order["api_gateway"] == pytest.approx(8.75)
    assert per_order["dynamodb"] == pytest.approx(1.40625)
    assert per_order["sqs"] == pytest.approx(0.60)
    assert per_order["xray"] == pytest.approx(10.125)
    assert per_order["logs"] == pytest.approx(log_bytes / 1024**3 * 0.50 / 2 * 1e6)
    assert priced["per_million_orders"] == pytest.approx(sum(per_order.values()))
    # ...with the what-if rows from the same consumption: arm64's Lambda 5 x $0.20/M + 0.1525 x $0.0000133334
    # = $0.00000303334, $1.52 per million orders
    assert round(priced["what_if"]["arm64"]["components_per_million_orders"]["lambda"], 2) == 1.52
    assert priced["what_if"]["http_api"]["components_per_million_orders"]["api_gateway"] == pytest.approx(2.5)
    assert (priced["source"], priced["partial"]) == ("deployed", [])
    assert priced["window"] == {"start": T0, "end": pytest.approx(T0 + 9.04)}
    assert priced["log_groups"] == {
        FUNCTION_GROUP: {"events": 7, "bytes": sum(len(message) for message in IN_WINDOW)},
        ACCESS_GROUP: {"events": 5, "bytes": sum(len(message) for message in ACCESS_IN_WINDOW)},
    }


def test_what_the_figures_cannot_see_is_named(deployed: RunFolder) -> None:
    not_seen = deployed_cost.price_run(deployed, Stack.describe(STACK))["not_seen"]

    # Five REPORTs against the four requests that could reach the function (the 401 was the authorizer's)
    mismatch, gateway, *derived = not_seen
    assert mismatch.startswith(
        "5 invocations in the window against 5 requests the run sent (1 of them answered by API Gateway itself, "
        "so 4 could reach the function): the window's REPORTs include other callers' or are missing some"
    )
    assert f"cost --stack {STACK} --run-id {RUN_ID}" in mismatch
    assert gateway.startswith("1 requests answered by API Gateway itself")
    assert any(note.startswith("DynamoDB read units are an upper bound") and "30 s" in note for note in derived)
    assert any("receives and deletes" in note for note in derived)
    assert any(note.startswith("X-Ray is priced at the traces its default sampling rule") for note in derived)


def test_a_stack_deployed_before_the_log_group_output_is_priced_without_lambda_and_says_so(
    deployed: RunFolder,
) -> None:
    # Given an older stack: no FunctionLogGroupName output, and no FunctionName to find its configuration by
    old = {key: value for key, value in OUTPUTS.items() if key not in {"FunctionLogGroupName", "FunctionName"}}
    fake_stack("create-order-old", old)

    priced = deployed_cost.price_run(deployed, Stack.describe("create-order-old"))

    # Then the run is priced, Lambda's part missing and named, and the figure marked partial
    used = priced["consumption"]
    assert (used["invocations"], used["billed_ms"], used["requests"], used["write_units"]) == (0, 0, 5, 4.0)
    assert used["log_bytes"] == sum(len(message) for message in ACCESS_IN_WINDOW)
    assert priced["partial"] == ["lambda", "logs"]
    assert priced["components_per_million_orders"]["lambda"] == 0
    # The template's architecture and memory size, in place of the function's
    assert (priced["architecture"], priced["memory_mb"]) == ("arm64", 256)
    assert priced["not_seen"][:2] == [
        "the function's configuration: the stack has no output FunctionName; its architecture and memory size "
        "are the template's",
        "Lambda and the function's logs: the stack has no output FunctionLogGroupName, and no function "
        "configuration names one",
    ]
    assert not any(note.startswith(("0 invocations", "5 invocations")) for note in priced["not_seen"])
    assert deployed_cost.line(priced).endswith(" — partial: Lambda and logs not seen, the figure is short of them")


def test_a_stack_without_the_output_finds_the_function_s_log_group_in_its_configuration(deployed: RunFolder) -> None:
    # Given a stack without FunctionLogGroupName, whose function's configuration names its log group
    old = Stack("create-order-old", {key: value for key, value in OUTPUTS.items() if key != "FunctionLogGroupName"})
    not_seen: list[str] = []

    logs = deployed_cost._read_logs(
        old, {"LoggingConfig": {"LogGroup": FUNCTION_GROUP}}, deployed_cost.Window(T0, T0 + 9.04), not_seen
    )

    # Then the group is read as through the output: the window's seven events, five of them REPORTs
    assert logs.function is not None
    assert (logs.function.name, logs.function.events, len(logs.function.reports)) == (FUNCTION_GROUP, 7, 5)
    assert not_seen == []


@pytest.fixture
def log_reads_denied() -> Iterator[None]:
    """CloudWatch Logs refuses the operator's FilterLogEvents, as a role without logs:FilterLogEvents is."""

    def deny(**_: object) -> None:
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: logs:FilterLogEvents"}
        raise ClientError({"Error": error}, "FilterLogEvents")

    events = boto3._get_default_session().events
    events.register("before-call.cloudwatch-logs.FilterLogEvents", deny)
    yield
    events.unregister("before-call.cloudwatch-logs.FilterLogEvents", deny)


def test_the_cost_command_prices_a_saved_run_when_its_logs_cannot_be_read(
    deployed: RunFolder, log_reads_denied: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["cost", "--stack", STACK, "--reports", str(deployed.path.parents[1]), "--run-id", RUN_ID])

    out = capsys.readouterr().out
    assert code == 0
    written = json.loads(deployed.cost.read_text())
    assert written["partial"] == ["lambda", "logs"]
    assert written["consumption"]["orders"] == 2
    assert out.splitlines()[0] == deployed_cost.line(written)
    denied = "could not be read (AccessDeniedException: not authorized to perform: logs:FilterLogEvents)"
    assert f"  - Lambda and the function's logs: log group {FUNCTION_GROUP} {denied}" in out
    assert f"  - the API's access log: log group {ACCESS_GROUP} {denied}" in out
    assert out.rstrip().endswith(f"cost written to {deployed.cost}")


def test_a_run_whose_cost_cannot_be_worked_out_is_not_failed_by_it(
    deployed: RunFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack whose products table is gone
    fake_stack("create-order-no-products", {**OUTPUTS, "ProductsTableName": "gone"})

    commands._price_after_run(deployed, Stack.describe("create-order-no-products"))

    out = capsys.readouterr().out
    assert out.startswith("cost: the run could not be priced (An error occurred (ResourceNotFoundException)")
    later = f"python -m loadtests.deployed cost --stack create-order-no-products --run-id {RUN_ID}"
    assert f"price it later: {later}" in out
    assert not deployed.cost.exists()


def test_the_window_runs_from_the_first_request_to_the_last_answer_and_a_margin() -> None:
    attempts = [{"ts": 100.0, "latency_ms": 5000.0}, {"ts": 103.0, "latency_ms": 20.0}, {"ts": 99.5}]

    window = deployed_cost.Window.of(attempts)

    # First sent 99.5; last answered 100 + 5 s = 105 (the later-sent one answered at 103.02), plus 5 s: 110
    assert (window.start, window.end) == (99.5, 110.0)
    assert (window.start_ms, window.end_ms) == (99_500, 110_000)


def test_a_quiet_line_is_the_function_s_debug_or_info() -> None:
    assert cost.is_quiet(INFO_LINE.encode())
    assert not cost.is_quiet(ERROR_LINE.encode())
    assert not cost.is_quiet(_report("r", 10).encode())
    assert not cost.is_quiet(b'{"level":"INFO", cut short')
