"""What a run against a deployed stack costs: its consumption from what AWS recorded and the run saw, priced.

A local run records every call it makes (``runreport.cost``); a deployed stack tells a run
nothing of its bill, so its consumption is put together from three sources, each for what it
can tell:

- observed, in the run's window (its first request sent to its last answer, plus
  ``WINDOW_AFTER_S`` for the REPORTs written after an answer): Lambda's REPORT records in the
  function's log group (invocations, billed milliseconds, an on-demand INIT included,
  GB-seconds, the memory size), and the bytes of every event of that log group (the function's
  lines, its EMF, Lambda's platform records) and of the API's access log group: what
  CloudWatch Logs ingested;
- the run's ledgers: every attempt is one API request, every 201 one order;
- derived from the run's orders as the table stores them and the function's contract
  (docs/contract.md §2), not observed: one conditional PutItem per stored order and one refused
  per 409 (billed as written, at the stored order's size); one BatchGetItem of the order's
  distinct products with each (eventually consistent: the adapter asks no ``ConsistentRead``),
  at the products' sizes as the products table holds them (an upper bound: an execution
  environment keeps a product it read for 30 s, and reads none then); one SendMessage per 201 and per
  duplicate 409 (the order queued again), as big as the message the function's own publisher
  builds from the stored order.

X-Ray is priced as ``runreport.cost`` prices it: the traces the default sampling rule records
of the run's requests. The consumption is priced by ``runreport.cost.price`` (the run's row and
the what-if rows) at the function's architecture, read from its configuration (else the
template's). What the figures cannot see is named in the result's ``not_seen``.

The function's log group is the stack's output ``FunctionLogGroupName``; a stack deployed
before that output existed is read through the function's configuration (``LoggingConfig``
of the output ``FunctionName``). When neither gives it, or a log group cannot be read
(AccessDenied...), the run is still priced: the components missing their source are listed
in ``partial``, their cost is missing from the figure (a lower bound then), and why is in
``not_seen``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from create_order.adapters.dynamodb import PRODUCT_CACHE_TTL_S, order_from_item
from create_order.adapters.sqs import SQSOrderPublisher
from create_order.api import PROBLEM_TYPE_PREFIX
from create_order.errors import DependencyError
from harness import billing, platform_log
from harness.template import load_template, resources_of_type
from loadtests.audit.evidence import deserialized, scan_items
from loadtests.audit.judge import orders_of_run
from loadtests.deployed.errors import DeployedInputError
from loadtests.ledger import read_ledgers
from runreport import cost

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from mypy_boto3_sqs import SQSClient

    from loadtests.deployed.runs import RunFolder
    from loadtests.deployed.stack import Stack

WINDOW_AFTER_S = 5.0
"""How long after the run's last answer its REPORTs and log lines are still looked for: a REPORT follows the answer."""
GATEWAY_ONLY = frozenset(
    PROBLEM_TYPE_PREFIX + slug for slug in ("unauthorized", "access-denied", "route-not-found", "throttled")
)
"""Problem types API Gateway answers with itself before the function (its authorizer, routes, throttle).

The function has a 401 ``unauthorized`` of its own too, for no claims reaching it, which the
stack's Cognito authorizer never lets happen.
"""
DUPLICATE = PROBLEM_TYPE_PREFIX + "duplicate-request"
"""The 409 of a repeated request: the function queues the existing order again."""


@dataclass(frozen=True)
class Window:
    """The run's span in epoch seconds: its first request sent, its last answer received plus ``WINDOW_AFTER_S``."""

    start: float
    end: float

    @classmethod
    def of(cls, attempts: list[dict[str, Any]]) -> Window:
        """The window of the run whose ledgers hold ``attempts`` (at least one)."""
        start = min(float(attempt["ts"]) for attempt in attempts)
        answered = max(float(attempt["ts"]) + float(attempt.get("latency_ms") or 0.0) / 1000 for attempt in attempts)
        return cls(start, answered + WINDOW_AFTER_S)

    @property
    def start_ms(self) -> int:
        """The start as CloudWatch Logs' ``startTime``: epoch milliseconds, rounded out."""
        return math.floor(self.start * 1000)

    @property
    def end_ms(self) -> int:
        """The end as CloudWatch Logs' ``endTime``: epoch milliseconds, rounded out."""
        return math.ceil(self.end * 1000)


@dataclass(frozen=True)
class LogGroupRead:
    """What one log group holds in a window: its events, their bytes, the quiet lines' bytes, Lambda's REPORTs."""

    name: str
    events: int
    log_bytes: int
    quiet_bytes: int
    """The bytes of the function's DEBUG and INFO lines (``runreport.cost.is_quiet``), among ``log_bytes``."""
    reports: tuple[platform_log.Report, ...]


def read_log_group(name: str, window: Window) -> LogGroupRead:
    """Every event of the log group ``name`` in ``window``, read once: counted, measured, its REPORTs parsed."""
    counts = Counter[str]()

    def messages() -> Iterator[str]:
        pages = boto3.client("logs").get_paginator("filter_log_events")
        for page in pages.paginate(logGroupName=name, startTime=window.start_ms, endTime=window.end_ms):
            for event in page.get("events", []):
                message = event.get("message", "")
                raw = message.encode()
                counts["events"] += 1
                counts["bytes"] += len(raw)
                counts["quiet"] += len(raw) if cost.is_quiet(raw) else 0
                yield message

    reports = tuple(platform_log.reports(messages()))
    return LogGroupRead(name, counts["events"], counts["bytes"], counts["quiet"], reports)


def _failure(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def _function_configuration(stack: Stack, not_seen: list[str]) -> dict[str, Any]:
    """The function's configuration (architecture, memory, log group), or nothing, with why, in ``not_seen``."""
    name = stack.outputs.get("FunctionName")
    if name is None:
        not_seen.append(
            "the function's configuration: the stack has no output FunctionName; "
            "its architecture and memory size are the template's"
        )
        return {}
    try:
        return dict(boto3.client("lambda").get_function_configuration(FunctionName=name))
    except (ClientError, BotoCoreError) as exc:
        not_seen.append(
            f"the function's configuration: {name} could not be read ({_failure(exc)}); "
            "its architecture and memory size are the template's"
        )
        return {}


def _read(name: str | None, what: str, missing: str, window: Window, not_seen: list[str]) -> LogGroupRead | None:
    """``read_log_group``, or nothing, with why, in ``not_seen``: a log group unread never fails a run."""
    if name is None:
        not_seen.append(f"{what}: {missing}")
        return None
    try:
        return read_log_group(name, window)
    except (ClientError, BotoCoreError) as exc:
        not_seen.append(f"{what}: log group {name} could not be read ({_failure(exc)})")
        return None


@dataclass(frozen=True)
class _Logs:
    """The run's log groups as read: None for one that was not."""

    function: LogGroupRead | None
    access: LogGroupRead | None

    def read(self) -> list[LogGroupRead]:
        """The log groups that were read."""
        return [read for read in (self.function, self.access) if read is not None]


def _read_logs(stack: Stack, configuration: dict[str, Any], window: Window, not_seen: list[str]) -> _Logs:
    """The function's and the API's log groups in ``window``: each read, or why not in ``not_seen``."""
    function_group = stack.outputs.get("FunctionLogGroupName") or configuration.get("LoggingConfig", {}).get("LogGroup")
    access_group = stack.outputs.get("ApiAccessLogGroupName")
    if function_group or access_group:
        # The window ends a few seconds after the last answer: wait for it, so that its last REPORTs are written.
        time.sleep(min(WINDOW_AFTER_S, max(0.0, window.end - time.time())))
    no_function_group = "the stack has no output FunctionLogGroupName, and no function configuration names one"
    no_access_group = "the stack has no output ApiAccessLogGroupName"
    return _Logs(
        function=_read(function_group, "Lambda and the function's logs", no_function_group, window, not_seen),
        access=_read(access_group, "the API's access log", no_access_group, window, not_seen),
    )


def _template_memory_mb() -> int:
    functions = resources_of_type(load_template(), "AWS::Serverless::Function")
    return int(next(iter(functions.values()), {}).get("Properties", {}).get("MemorySize", 128))


@dataclass(frozen=True)
class _OrderCalls:
    """What storing one order cost the function, derived from the order as stored."""

    write_units: int
    read_units: float
    sqs_requests: int
    """The SendMessage of its message, by 64 KB chunk."""


class _SentMessages:
    """Stands for the SQS client under the function's publisher: keeps each SendMessage's arguments."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **arguments: Any) -> dict[str, Any]:
        """Keep the call's arguments, send nothing."""
        self.sent.append(arguments)
        return {}


def _message_bytes(item: dict[str, Any]) -> int | None:
    """The size of the message the function sends for the stored ``item`` (None: not an order it wrote)."""
    try:
        order = order_from_item(item)
    except DependencyError:
        return None
    client = _SentMessages()
    SQSOrderPublisher(cast("SQSClient", client), "queue", fifo=False).publish(order)
    return billing.message_bytes(client.sent[0])


def _order_calls(item: dict[str, Any], product_bytes: dict[str, int]) -> _OrderCalls | None:
    """What storing ``item`` cost: its write, the read of its products, its message (None: not the function's)."""
    size = _message_bytes(item)
    if size is None:
        return None
    products = dict.fromkeys(line["M"]["product_id"]["S"] for line in item["items"]["L"])
    return _OrderCalls(
        write_units=billing.write_units(billing.item_bytes(item)),
        read_units=billing.read_units([product_bytes.get(product, 0) for product in products]),
        sqs_requests=billing.chunks(size),
    )


def _stored_orders(orders_table: str, attempts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The run's orders as the table holds them (attribute values), by id: the ones the audit judges."""
    items = scan_items(orders_table)
    mine = {order["id"] for order in orders_of_run([deserialized(item) for item in items], attempts)}
    return {item["id"]["S"]: item for item in items if item["id"]["S"] in mine}


@dataclass(frozen=True)
class _Derived:
    write_units: float
    read_units: float
    sqs_requests: int
    unreadable: int
    """The run's stored orders that are no order the function writes: their write counted, nothing else."""


def _derived(attempts: list[dict[str, Any]], stored: dict[str, dict[str, Any]], products: dict[str, int]) -> _Derived:
    """DynamoDB's units and the function's SQS requests, from the stored orders and the answers the run got."""
    calls = {order_id: _order_calls(item, products) for order_id, item in stored.items()}
    write_units = sum(billing.write_units(billing.item_bytes(item)) for item in stored.values())
    read_units = sum(found.read_units for found in calls.values() if found)
    sqs_requests = 0
    for attempt in attempts:
        found = calls.get(attempt.get("order_id") or "")
        if attempt["status"] == 201:
            sqs_requests += found.sqs_requests if found else 1
        elif attempt["status"] == 409 and found:
            write_units += found.write_units
            read_units += found.read_units
            sqs_requests += found.sqs_requests if attempt.get("problem_type") == DUPLICATE else 0
    unreadable = sum(1 for found in calls.values() if found is None)
    return _Derived(write_units, read_units, sqs_requests, unreadable)


def _counted_apart(attempts: list[dict[str, Any]], invocations: int | None, command: str) -> list[str]:
    """What the run's ledgers say the figures cannot vouch for: the requests that never reached the function."""
    notes: list[str] = []
    sent = len(attempts)
    gateway = sum(1 for attempt in attempts if attempt.get("problem_type") in GATEWAY_ONLY)
    unanswered = sum(1 for attempt in attempts if attempt["status"] == 0)
    if invocations is not None and invocations != sent - gateway:
        reached = f" ({gateway} of them answered by API Gateway itself, so {sent - gateway} could reach the function)"
        notes.append(
            f"{invocations} invocations in the window against {sent} requests the run sent"
            f"{reached if gateway else ''}: the window's REPORTs include other callers' or are missing some "
            "(a request with no answer or a 502 may never have invoked the function; REPORTs ingested late are "
            f"counted by pricing the run again: {command}); the log bytes are every caller's in the window"
        )
    if gateway:
        notes.append(
            f"{gateway} requests answered by API Gateway itself (authorizer, route, throttle) never reached "
            "the function; they are priced as API requests, which API Gateway may not bill"
        )
    if unanswered:
        notes.append(
            f"{unanswered} requests got no answer: priced as API requests, whether they reached API Gateway or not"
        )
    return notes


def _consumption(attempts: list[dict[str, Any]], derived: _Derived, logs: _Logs, memory_mb: int) -> cost.Consumption:
    """What the run consumed: its requests and orders from its ledgers, Lambda and logs as read, the rest derived."""
    reports = logs.function.reports if logs.function else ()
    sizes = Counter(report.memory_mb for report in reports)
    return cost.Consumption(
        requests=len(attempts),
        orders=sum(1 for attempt in attempts if attempt["status"] == 201),
        seconds=round(max(float(a["ts"]) for a in attempts) - min(float(a["ts"]) for a in attempts), 3),
        invocations=len(reports),
        billed_ms=sum(report.billed_ms for report in reports),
        gb_seconds=round(sum(report.gb_seconds for report in reports), 6),
        memory_mb=sizes.most_common(1)[0][0] if sizes else memory_mb,
        write_units=float(derived.write_units),
        read_units=float(derived.read_units),
        sqs_requests=derived.sqs_requests,
        downstream_sqs_requests=0,
        log_bytes=sum(read.log_bytes for read in logs.read()),
        quiet_log_bytes=logs.function.quiet_bytes if logs.function else 0,
    )


def _derived_notes(derived: _Derived) -> list[str]:
    notes = [
        "DynamoDB and SQS are derived from the run's stored orders and answers, not observed: not counted are "
        "the SDK's retries inside the function, a PutItem retried after its first try landed, unprocessed keys "
        "read again, and the product reads of requests refused with a 400",
        f"DynamoDB read units are an upper bound: an execution environment reuses a product it read for "
        f"{PRODUCT_CACHE_TTL_S:g} s, and an order whose products it holds reads none",
        "the queue consumer's receives and deletes are the downstream service's cost, not counted",
        "X-Ray is priced at the traces its default sampling rule would record of the run's requests, "
        "not at the traces it recorded",
    ]
    if derived.unreadable:
        notes.append(
            f"{derived.unreadable} of the run's stored orders are not orders the function writes: "
            "their write counted, no read or message"
        )
    return notes


def price_run(folder: RunFolder, stack: Stack) -> dict[str, Any]:
    """The cost of the run in ``folder`` against ``stack``: ``runreport.cost.price``'s, with where it came from.

    Added to the priced dict: ``source`` ("deployed"), the ``window`` (epoch seconds), the
    ``log_groups`` read (events and bytes of each), ``partial`` (the components whose source could
    not be read: their cost is missing from the figure) and ``not_seen`` (what the figures cannot
    see, and why). A log group that cannot be read leaves the run priced without it.

    Raises:
        DeployedInputError: the run's folder holds no ledger, or the stack lacks a table's output.
    """
    attempts = read_ledgers(folder.ledger_dir)
    if not attempts:
        raise DeployedInputError(f"no saved ledgers in {folder.ledger_dir} (run {folder.run_id} sent nothing)")
    orders_table, products_table = stack.output("OrdersTableName"), stack.output("ProductsTableName")
    window = Window.of(attempts)
    not_seen: list[str] = []
    configuration = _function_configuration(stack, not_seen)
    logs = _read_logs(stack, configuration, window, not_seen)
    products = {item["product_id"]["S"]: billing.item_bytes(item) for item in scan_items(products_table)}
    derived = _derived(attempts, _stored_orders(orders_table, attempts), products)
    memory_mb = int(configuration.get("MemorySize") or _template_memory_mb())
    used = _consumption(attempts, derived, logs, memory_mb)
    invocations = len(logs.function.reports) if logs.function else None
    command = f"python -m loadtests.deployed cost --stack {stack.name} --run-id {folder.run_id}"
    not_seen += _counted_apart(attempts, invocations, command) + _derived_notes(derived)
    architecture = (configuration.get("Architectures") or [cost.architecture()])[0]
    return {
        **cost.price(used, arch=architecture),
        "source": "deployed",
        "window": {"start": window.start, "end": window.end},
        "log_groups": {read.name: {"events": read.events, "bytes": read.log_bytes} for read in logs.read()},
        "partial": ["lambda", "logs"] if logs.function is None else [] if logs.access else ["logs"],
        "not_seen": not_seen,
    }


def line(priced: dict[str, Any]) -> str:
    """The cost in one line, ``runreport.cost.line``'s, saying which components it is short of."""
    text = cost.line(priced)
    missing = [cost.COMPONENTS[name] for name in priced.get("partial", [])]
    return text + (f" — partial: {' and '.join(missing)} not seen, the figure is short of them" if missing else "")


def describe(priced: dict[str, Any]) -> Iterable[str]:
    """The lines printed for a priced run: the cost line, then what it cannot see."""
    yield line(priced)
    if priced["not_seen"]:
        yield "not seen:"
        yield from (f"  - {note}" for note in priced["not_seen"])
