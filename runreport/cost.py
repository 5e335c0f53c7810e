"""What a run's orders cost: the run's own consumption, priced from the one table.

A local run's folder holds what each request did (``harness.runfolder``):

- ``billing.jsonl``: Lambda's bill per invocation (billed ms, an INIT included, GB-seconds);
- ``access.log``: every request the API received, its status (201: an order);
- ``logs/requests-*.jsonl``: every DynamoDB and SQS call with the units it is billed in
  (``localstage.moto_server``): write and read units, SQS requests by 64 KB chunk;
- ``logs/worker-*.log`` and ``access.log``: the bytes CloudWatch Logs would ingest (the
  function's lines, its EMF metrics, the platform's records; the API's access log).

:func:`consumption` adds them up over the load (calls made before the first API request are
the stage's set-up: its tables, its seed data) and :func:`price` prices them at the table's
first band (a month's volume is not known from one run), per component, per million orders
and per million requests, beside what-if rows priced from the same consumption: an HTTP API
instead of the REST API, x86_64 instead of arm64, the function's INFO lines not logged.

With SnapStart, Lambda's component also holds SnapStart's own charges (:func:`snapstart_usd`):
each restore by the memory restored, and the snapshot's caching over the run's seconds; a
restored invocation's billed restore duration is already in its billed milliseconds.

X-Ray is priced as its default sampling rule records: the first request each second and 5 %
of the rest. The queue's consumer is the downstream service's cost, counted apart. Not priced
per order: what the table lists as ``not_counted`` (Cognito's monthly active users, alarms,
the dashboard, the KMS key), and custom metrics (a charge per metric a month).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from harness.billing import MB_PER_GB, log_gb, read_bills
from harness.runfolder import RunFolder
from harness.template import load_template, resources_of_type
from runreport import pricing
from runreport.rundata import json_lines

if TYPE_CHECKING:
    from pathlib import Path

XRAY_RESERVOIR_PER_S = 1
"""X-Ray's default sampling rule: the first request each second is recorded..."""
XRAY_RATE = 0.05
"""...and this share of the rest."""
FUNCTION_SENDS = frozenset({"SendMessage", "SendMessageBatch"})
"""The SQS calls the function makes; the others (receives, deletes) are the consumer's."""
QUIET_LEVELS = frozenset({"DEBUG", "INFO"})
"""The levels a function at WARN does not log (the what-if row)."""
COMPONENTS = {"lambda": "Lambda", "api_gateway": "API Gateway", "dynamodb": "DynamoDB", "sqs": "SQS", "logs": "logs",
              "xray": "X-Ray"}  # fmt: skip
"""Each component's key in ``summary.json`` and its name in the printed line."""


@dataclass(frozen=True)
class Consumption:
    """What one run's load consumed, in the units AWS bills."""

    requests: int
    """API requests received."""
    orders: int
    """201s: orders stored and queued."""
    seconds: float
    """From the first API request to the last."""
    invocations: int
    billed_ms: int
    """Lambda's billed milliseconds over every invocation, an on-demand INIT included."""
    gb_seconds: float
    memory_mb: int
    write_units: float
    read_units: float
    sqs_requests: int
    """The function's SendMessage requests, by 64 KB chunk."""
    downstream_sqs_requests: int
    """The consumer's receives and deletes: the downstream service's cost."""
    log_bytes: int
    quiet_log_bytes: int
    restores: int = 0
    """Environments restored from a SnapStart snapshot (each a restore charge, by memory size)."""
    """The bytes of the function's DEBUG and INFO lines, among ``log_bytes``."""

    @property
    def traces(self) -> float:
        """Traces X-Ray's default rule records of ``requests`` over ``seconds``."""
        reservoir = min(self.requests, XRAY_RESERVOIR_PER_S * max(1.0, self.seconds))
        return reservoir + XRAY_RATE * (self.requests - reservoir)


def is_quiet(line: bytes) -> bool:
    """Whether ``line`` is one of the function's DEBUG or INFO lines: one a function logging at WARN would not write.

    The function's lines are its logger's JSON, ``level`` first; anything else (EMF, Lambda's
    platform records, a runtime's traceback, a line cut short) is not quiet. The local run reads
    its environments' logs by this rule, the deployed run its log group's events.
    """
    if not line.startswith(b'{"level":'):
        return False
    try:
        level = json.loads(line).get("level")
    except ValueError:
        return False
    return level in QUIET_LEVELS


def _function_log_bytes(folder: RunFolder) -> tuple[int, int]:
    """The bytes of every environment's log, and of its DEBUG and INFO lines."""
    total = quiet = 0
    for log in folder.logs.worker_logs():
        with log.open("rb") as lines:
            for line in lines:
                total += len(line)
                quiet += len(line) if is_quiet(line) else 0
    return total, quiet


def consumption(run_dir: Path) -> Consumption:
    """What the load of the run in ``run_dir`` consumed."""
    folder = RunFolder(run_dir)
    access = list(json_lines(folder.access_log))
    started = min((entry["ts"] for entry in access), default=0.0)
    ended = max((entry["ts"] for entry in access), default=0.0)
    bills = read_bills(folder.billing)
    units = {"write_units": 0.0, "read_units": 0.0, "sqs": 0, "downstream": 0}
    for log in folder.logs.request_logs():
        for call in json_lines(log):
            if call["ts"] < started:
                continue
            units["write_units"] += call.get("write_units", 0)
            units["read_units"] += call.get("read_units", 0)
            key = "sqs" if call["operation"] in FUNCTION_SENDS else "downstream"
            units[key] += call.get("sqs_requests", 0)
    log_bytes, quiet = _function_log_bytes(folder)
    access_bytes = folder.access_log.stat().st_size if folder.access_log.exists() else 0
    return Consumption(
        requests=len(access),
        orders=sum(1 for entry in access if entry.get("status") == 201),
        seconds=round(ended - started, 3),
        invocations=len(bills),
        billed_ms=sum(bill.billed_ms for bill in bills),
        gb_seconds=round(sum(bill.gb_seconds for bill in bills), 6),
        memory_mb=bills[0].memory_mb if bills else 0,
        write_units=units["write_units"],
        read_units=units["read_units"],
        sqs_requests=int(units["sqs"]),
        downstream_sqs_requests=int(units["downstream"]),
        log_bytes=log_bytes + access_bytes,
        quiet_log_bytes=quiet,
        restores=sum(1 for bill in bills if bill.restored),
    )


def architecture(template: dict[str, Any] | None = None) -> str:
    """The function's architecture in the template (``Architectures``' one; Lambda's default x86_64)."""
    functions = resources_of_type(template or load_template(), "AWS::Serverless::Function")
    properties = next(iter(functions.values()), {}).get("Properties", {})
    return str((properties.get("Architectures") or ["x86_64"])[0])


def snapstart_usd(used: Consumption, table: pricing.PriceTable) -> float:
    """SnapStart's own charges over the run: each restore by the memory restored, and the snapshot cached meanwhile.

    Nothing without a restore. The cache is priced for the run's seconds at the function's memory:
    the run's share of a version's caching, which AWS bills for as long as the version is active
    (three hours at least), not per order.
    """
    if not used.restores:
        return 0.0
    memory_gb = used.memory_mb / MB_PER_GB
    return table["lambda.snapstart.restore"].cost(used.restores * memory_gb) + table["lambda.snapstart.cache"].cost(
        memory_gb * used.seconds
    )


def _components(used: Consumption, table: pricing.PriceTable, arch: str, api: str, log_bytes: int) -> dict[str, float]:
    return {
        "lambda": table["lambda.requests"].cost(used.invocations)
        + table[f"lambda.duration.{arch}"].cost(used.gb_seconds)
        + snapstart_usd(used, table),
        "api_gateway": table[f"apigateway.{api}.requests"].cost(used.requests),
        "dynamodb": table["dynamodb.write_request_units"].cost(used.write_units)
        + table["dynamodb.read_request_units"].cost(used.read_units),
        "sqs": table["sqs.standard.requests"].cost(used.sqs_requests),
        "logs": table["logs.ingestion"].cost(log_gb(log_bytes)),
        "xray": table["xray.traces_recorded"].cost(used.traces),
    }


def _per_million(total: float, count: int) -> float | None:
    return round(total / count * 1e6, 6) if count else None


def _priced(components: dict[str, float], used: Consumption) -> dict[str, Any]:
    total = sum(components.values())
    return {
        "usd": round(total, 10),
        "per_million_orders": _per_million(total, used.orders),
        "per_million_requests": _per_million(total, used.requests),
        "components_per_million_orders": {name: _per_million(usd, used.orders) for name, usd in components.items()},
    }


def price(used: Consumption, table: pricing.PriceTable | None = None, arch: str | None = None) -> dict[str, Any]:
    """The run's cost, per component and in total, per million orders and requests, and the what-if rows."""
    table = table or pricing.load()
    arch = arch or architecture()
    other_arch = "x86_64" if arch == "arm64" else "arm64"
    run = _priced(_components(used, table, arch, "rest", used.log_bytes), used)
    what_if = {
        "http_api": _priced(_components(used, table, arch, "http", used.log_bytes), used),
        other_arch: _priced(_components(used, table, other_arch, "rest", used.log_bytes), used),
        "logs_at_warn": _priced(_components(used, table, arch, "rest", used.log_bytes - used.quiet_log_bytes), used),
    }
    return {
        **run,
        "region": table.region,
        "currency": table.currency,
        "prices_read": table.read,
        "memory_mb": used.memory_mb,
        "architecture": arch,
        "consumption": {**asdict(used), "traces": round(used.traces, 3)},
        "downstream_per_million_orders": _per_million(
            table["sqs.standard.requests"].cost(used.downstream_sqs_requests), used.orders
        ),
        "what_if": what_if,
    }


def line(cost: dict[str, Any]) -> str:
    """The cost in one line, as the main job prints it."""
    if cost.get("per_million_orders") is None:
        return "cost: no order was stored, nothing to price per order"
    parts = ", ".join(f"{COMPONENTS[name]} ${usd:,.2f}" for name, usd in cost["components_per_million_orders"].items())
    return (
        f"≈ ${cost['per_million_orders']:,.2f} per million orders at {cost['memory_mb']} MB {cost['architecture']} "
        f"({cost['region']}, prices read {cost['prices_read']}): {parts}"
    )
