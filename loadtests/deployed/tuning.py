"""Power tuning against a deployed stack: one published version per memory size, behind the tuning alias.

    python -m loadtests.tune --stack NAME --memory 256,512,1024 [--invocations 100] [--users 10] [--force]

As AWS Lambda Power Tuning does it: for each size the function's unpublished configuration
(``$LATEST``) gets that ``MemorySize``, a version is published from it and the ``tuning`` alias
points at that version; the sizes' orders are then invoked through the alias directly (the
Invoke API with ``LogType: Tail``, whose log tail carries each invocation's REPORT), never
through the API, whose integration is the ``live`` alias. ``live`` and the versions it or any
other alias serves are never touched.

Whatever happens — a size that fails, an interrupt, a refused call — the function is put back
as it was found (:meth:`FunctionUnderTuning.restore`): its memory size, no ``tuning`` alias
unless one was there (then pointing where it pointed), and the versions this sweep published
deleted. A stack deployed with ``StageName=prod`` is refused unless ``--force`` is given.

Each invocation is an order of one active product by the run's synthetic customer
(``synthetic-<run id>-000``; ``cleanup --orders`` deletes them), a fresh ``Idempotency-Key``
each. What one size's invocations tell (:func:`size_result`): the invoke round trip's p50, p95
and p99 as the caller waits for them, cold starts (REPORTs with an init), billed ms per
invocation, the SLO verdict on the same objectives as the API's, an audit (every 201's order
is in the orders table) and the cost per million orders of what was seen: Lambda from the
REPORTs, the API's requests as if each came through it, DynamoDB write units from the stored
orders, one SendMessage per order, the logs of each invocation's tail; the products read is
not seen by an invocation and is the same at every size.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from harness import billing, platform_log
from harness.slo import LATENCY_P95_MS, SERVER_ERROR_RATIO
from loadtests.deployed.errors import DeployedInputError
from loadtests.deployed.runs import customer_id
from loadtests.gate import SloVerdict
from loadtests.power import SizeResult
from runreport.cost import Consumption, is_quiet, price

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient

    from loadtests.deployed.stack import Stack

TUNING_ALIAS = "tuning"
"""The alias the sweep points at each size's version."""
LIVE_ALIAS = "live"
"""What API Gateway invokes and a deploy shifts: never pointed, never deleted, its version never deleted."""
PROTECTED_STAGES = frozenset({"prod"})
"""Stages (the stack's ``StageName``) refused without ``--force``."""
UPDATE_WAIT_S = 120.0
"""How long a configuration update may stay ``InProgress`` before the sweep gives up (and restores)."""
UPDATE_POLL_S = 1.0


class TuningError(DeployedInputError):
    """The sweep cannot go on (a refused stage, a failed update): the function is restored, the sweep exits 2."""


def refuse_protected(stack: Stack, *, force: bool) -> None:
    """Refuse to tune a production stack unless forced.

    Raises:
        TuningError: the stack's ``StageName`` is protected and ``force`` is not set.
    """
    stage = stack.parameters.get("StageName", "")
    if stage in PROTECTED_STAGES and not force:
        raise TuningError(
            f"stack {stack.name!r} is the {stage!r} stage: power tuning publishes versions and changes its "
            "memory size while it serves; --force to tune it anyway"
        )


@dataclass
class FunctionUnderTuning:
    """A function's state before the sweep, and what the sweep changed, to put back."""

    client: LambdaClient
    name: str
    memory_mb: int
    """The unpublished configuration's memory size when the sweep began."""
    versions_before: frozenset[str]
    alias_before: str | None
    """The version the tuning alias pointed at before the sweep, if it existed."""
    live_version: str | None
    published: list[str] = field(default_factory=list)
    alias_made: bool = False

    @classmethod
    def read(cls, client: LambdaClient, name: str) -> FunctionUnderTuning:
        """The function as the sweep finds it."""
        config = client.get_function_configuration(FunctionName=name)
        pages = client.get_paginator("list_versions_by_function").paginate(FunctionName=name)
        versions = frozenset(v["Version"] for page in pages for v in page["Versions"])
        return cls(
            client,
            name,
            config["MemorySize"],
            versions,
            _alias_version(client, name, TUNING_ALIAS),
            _alias_version(client, name, LIVE_ALIAS),
        )

    def point_at(self, memory_mb: int) -> str:
        """Publish a version at ``memory_mb`` and point the tuning alias at it; the version."""
        self.client.update_function_configuration(FunctionName=self.name, MemorySize=memory_mb)
        wait_updated(self.client, self.name)
        version = self.client.publish_version(FunctionName=self.name, Description=f"power tuning: {memory_mb} MB")[
            "Version"
        ]
        if version not in self.versions_before and version not in self.published:
            self.published.append(version)
        if self.alias_made or self.alias_before is not None:
            self.client.update_alias(FunctionName=self.name, Name=TUNING_ALIAS, FunctionVersion=version)
        else:
            self.client.create_alias(FunctionName=self.name, Name=TUNING_ALIAS, FunctionVersion=version)
            self.alias_made = True
        return version

    def restore(self) -> list[str]:
        """Put the function back as it was found; each step is tried even when one before it failed.

        Returns:
            What could not be put back, in words (empty when all of it was).
        """
        problems: list[str] = []
        steps: list[tuple[str, Callable[[], None]]] = [
            (f"memory size back to {self.memory_mb} MB", self._restore_memory),
            (f"alias {TUNING_ALIAS}", self._restore_alias),
            *((f"version {v}", partial(self._delete_version, v)) for v in self.published),
        ]
        for what, step in steps:
            try:
                step()
            except (ClientError, TuningError) as exc:
                problems.append(f"{what}: {exc}")
        if _alias_version(self.client, self.name, LIVE_ALIAS) != self.live_version:  # pragma: no cover - never moved
            problems.append(f"alias {LIVE_ALIAS} no longer points at version {self.live_version}")
        return problems

    def _restore_memory(self) -> None:
        if self.client.get_function_configuration(FunctionName=self.name)["MemorySize"] != self.memory_mb:
            self.client.update_function_configuration(FunctionName=self.name, MemorySize=self.memory_mb)
            wait_updated(self.client, self.name)

    def _restore_alias(self) -> None:
        if self.alias_before is not None:
            self.client.update_alias(FunctionName=self.name, Name=TUNING_ALIAS, FunctionVersion=self.alias_before)
        elif self.alias_made:
            self.client.delete_alias(FunctionName=self.name, Name=TUNING_ALIAS)

    def _delete_version(self, version: str) -> None:
        if version == self.live_version:  # pragma: no cover - a version published now is never live's
            return
        self.client.delete_function(FunctionName=self.name, Qualifier=version)


def _alias_version(client: LambdaClient, name: str, alias: str) -> str | None:
    try:
        return client.get_alias(FunctionName=name, Name=alias)["FunctionVersion"]
    except client.exceptions.ResourceNotFoundException:
        return None


def wait_updated(client: LambdaClient, name: str, wait_s: float = UPDATE_WAIT_S) -> None:
    """Wait until the function's last configuration update is done.

    Raises:
        TuningError: the update failed, or was still in progress after ``wait_s``.
    """
    deadline = time.monotonic() + wait_s
    while True:
        config = client.get_function_configuration(FunctionName=name)
        status = config.get("LastUpdateStatus", "Successful")
        if status == "Successful":
            return
        if status == "Failed":
            raise TuningError(f"{name}: the configuration update failed: {config.get('LastUpdateStatusReason', '')}")
        if time.monotonic() > deadline:
            raise TuningError(f"{name}: the configuration update was still {status} after {wait_s:.0f} s")
        time.sleep(UPDATE_POLL_S)


@dataclass(frozen=True)
class Invocation:
    """One order invoked through the tuning alias, as the caller saw it."""

    latency_ms: float
    status: int | None
    """The answer's HTTP status (the proxy response's ``statusCode``); None when the function failed."""
    function_error: str | None
    order_id: str | None
    report: platform_log.Report | None
    log_bytes: int
    quiet_log_bytes: int


def order_event(customer: str, product_id: str, now: float | None = None) -> dict[str, Any]:
    """The REST API's proxy event for one order of ``product_id`` by ``customer``, as the function gets it."""
    now = time.time() if now is None else now
    request_id = str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/orders",
            "httpMethod": "POST",
            "path": "/orders",
            "stage": TUNING_ALIAS,
            "requestId": request_id,
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "create-order power tuning"},
            "authorizer": {"claims": {"sub": customer, "custom:customer_id": customer}},
        },
        "body": json.dumps({"customer_id": customer, "items": [{"product_id": product_id, "quantity": 1}]}),
        "isBase64Encoded": False,
    }


def log_bytes(lines: Iterable[str]) -> tuple[int, int]:
    """The bytes of a log's lines, and of those a function logging at WARN would not write (``cost.is_quiet``)."""
    total = quiet = 0
    for line in lines:
        encoded = line.encode() + b"\n"
        total += len(encoded)
        quiet += len(encoded) if is_quiet(encoded) else 0
    return total, quiet


def invoke_once(client: LambdaClient, name: str, event: dict[str, Any]) -> Invocation:
    """Invoke the tuning alias with ``event``; what came back."""
    started = time.perf_counter()
    answer = client.invoke(FunctionName=name, Qualifier=TUNING_ALIAS, Payload=json.dumps(event), LogType="Tail")
    payload = answer["Payload"].read()
    latency_ms = (time.perf_counter() - started) * 1000
    lines = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace").splitlines()
    reports = list(platform_log.reports(lines))
    total, quiet = log_bytes(lines)
    status = order_id = None
    if "FunctionError" not in answer:
        response = json.loads(payload)
        status = int(response["statusCode"])
        order_id = json.loads(response.get("body") or "{}").get("id") if status == 201 else None
    return Invocation(
        round(latency_ms, 3),
        status,
        answer.get("FunctionError"),
        order_id,
        reports[-1] if reports else None,
        total,
        quiet,
    )


def invoke_orders(
    client: LambdaClient, name: str, events: list[dict[str, Any]], concurrency: int
) -> tuple[list[Invocation], float]:
    """Invoke every event, ``concurrency`` at a time; the invocations and the seconds they took."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        done = list(pool.map(lambda event: invoke_once(client, name, event), events))
    return done, time.monotonic() - started


def stored_orders(dynamodb: DynamoDBClient, table: str, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The orders of ``order_ids`` found in ``table``, raw (DynamoDB's JSON), by id."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(order_ids), 100):
        pending: Any = {table: {"Keys": [{"id": {"S": oid}} for oid in order_ids[start : start + 100]]}}
        while pending:
            answer = dynamodb.batch_get_item(RequestItems=pending)
            found.update({item["id"]["S"]: item for item in answer["Responses"].get(table, [])})
            pending = answer.get("UnprocessedKeys") or None
    return found


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def size_result(
    memory_mb: int, folder: Path, invocations: list[Invocation], seconds: float, stored: dict[str, dict[str, Any]]
) -> SizeResult:
    """One size's row from its invocations and the orders found stored; ``folder`` gets ``size.json``."""
    latencies = [i.latency_ms for i in invocations]
    reports = [i.report for i in invocations if i.report is not None]
    orders = [i.order_id for i in invocations if i.order_id is not None]
    failed = sum(1 for i in invocations if i.status is None or i.status >= 500)
    verdict = SloVerdict(
        "create order (invoked)",
        len(invocations),
        _percentile(latencies, 0.95) or 0.0,
        failed / len(invocations) if invocations else 0.0,
        LATENCY_P95_MS,
        SERVER_ERROR_RATIO,
    )
    used = Consumption(
        requests=len(invocations),
        orders=len(orders),
        seconds=round(seconds, 3),
        invocations=len(reports),
        billed_ms=sum(r.billed_ms for r in reports),
        gb_seconds=round(sum(r.gb_seconds for r in reports), 6),
        memory_mb=memory_mb,
        write_units=float(sum(billing.write_units(billing.item_bytes(item)) for item in stored.values())),
        read_units=0.0,
        sqs_requests=len(orders),
        downstream_sqs_requests=0,
        log_bytes=sum(i.log_bytes for i in invocations),
        quiet_log_bytes=sum(i.quiet_log_bytes for i in invocations),
    )
    cost = price(used)
    missing = sorted(set(orders) - set(stored))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "size.json").write_text(
        json.dumps(
            {
                "memory_mb": memory_mb,
                "slo": verdict.as_json(),
                "cost": cost,
                "missing_orders": missing,
                "invocations": [asdict(i) for i in invocations],
            },
            indent=2,
            default=str,
        )
    )
    return SizeResult(
        memory_mb=memory_mb,
        run_dir=str(folder),
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        cold_starts=sum(1 for r in reports if r.init_ms is not None),
        billed_ms_per_invocation=round(used.billed_ms / len(reports), 2) if reports else None,
        cost_per_million_orders=cost["per_million_orders"],
        slo_passed=verdict.passed,
        audit_passed=bool(orders) and not missing,
    )


def orderable_product(dynamodb: DynamoDBClient, table: str) -> str:
    """An active USD product of the stack's catalog.

    Raises:
        TuningError: the catalog has none (seed it first).
    """
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item.get("active", {}).get("BOOL") and item.get("currency", {}).get("S") == "USD":
                return item["product_id"]["S"]
    raise TuningError(f"{table} has no active USD product to order: seed it first")


@dataclass(frozen=True)
class Sweep:
    """What a deployed sweep needs: the stack's parts, the run's customer, the load per size."""

    function: str
    orders_table: str
    product_id: str
    run_id: str
    invocations: int
    concurrency: int

    def run_size(
        self, lambda_client: LambdaClient, dynamodb: DynamoDBClient, memory_mb: int, folder: Path
    ) -> SizeResult:
        """The sweep's invocations at ``memory_mb`` (the alias already points at its version)."""
        customer = customer_id(self.run_id, 0)
        events = [order_event(customer, self.product_id) for _ in range(self.invocations)]
        done, seconds = invoke_orders(lambda_client, self.function, events, self.concurrency)
        stored = stored_orders(dynamodb, self.orders_table, [i.order_id for i in done if i.order_id])
        return size_result(memory_mb, folder, done, seconds, stored)


def sweep(
    lambda_client: LambdaClient, dynamodb: DynamoDBClient, plan: Sweep, sizes: list[int], folder: Path
) -> tuple[list[SizeResult], list[str]]:
    """Each size in turn behind the tuning alias, then the function restored, however the sweep ended.

    Returns:
        Each size's row, and what could not be restored (empty when all of it was).
    """
    function = FunctionUnderTuning.read(lambda_client, plan.function)
    results: list[SizeResult] = []
    try:
        for size in sizes:
            version = function.point_at(size)
            print(f"--- {size} MB: version {version} behind alias {TUNING_ALIAS}", flush=True)
            results.append(plan.run_size(lambda_client, dynamodb, size, folder / f"{size}mb"))
    finally:
        problems = function.restore()
        state = "restored" if not problems else "NOT fully restored: " + "; ".join(problems)
        alias = "pointed back" if function.alias_before else "removed"
        print(
            f"{plan.function}: {state} ({function.memory_mb} MB, alias {TUNING_ALIAS} {alias}, "
            f"versions published by the sweep deleted: {len(function.published)})"
        )
    return results, problems
