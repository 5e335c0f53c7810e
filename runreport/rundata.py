"""A local run's own data as CloudWatch would hold it: metric samples and log records.

Each source stands in for what AWS would publish, labelled with the resolved dimensions the
dashboard asks for (the stage's own names, from ``stage.json``):

- ``access.log`` (the stage's API Gateway front): AWS/ApiGateway ``Count``, ``4XXError``,
  ``5XXError``, ``Latency``, ``IntegrationLatency``; AWS/Lambda ``Invocations``, ``Errors``,
  ``Throttles``, ``ConcurrentExecutions`` (invocations in flight at each start).
- ``logs/worker-*.log``: the handler's EMF lines (its custom metrics), its JSON log lines and
  Lambda's REPORT records (AWS/Lambda ``Duration``; the Logs Insights records, read through
  ``harness.platform_log`` in either log format), and the faults the
  chaos injector answered for DynamoDB (``ThrottledRequests``, ``SystemErrors``: at the SDK
  edge they stand in for the service's own answer).
- ``logs/requests-*.jsonl`` (moto's request log): AWS/DynamoDB ``SuccessfulRequestLatency``,
  ``UserErrors``, ``SystemErrors``, ``ConditionalCheckFailedRequests``; AWS/SQS
  ``NumberOfMessagesSent``/``Received``/``Deleted``.
- ``queues.jsonl`` and ``messages.jsonl`` (the stage's consumer): AWS/SQS
  ``ApproximateNumberOfMessagesVisible``/``NotVisible`` and ``ApproximateAgeOfOldestMessage``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chaos.inject import JOURNAL_KEY
from create_order.names import METRICS_NAMESPACE
from dashboards import definition
from harness import platform_log
from harness.runfolder import RunFolder
from harness.template import resolve

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]

_MB = 1000 * 1000  # Logs Insights gives @maxMemoryUsed and @memorySize in bytes of 10^6 per MB
_DYNAMODB_THROTTLES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
}  # fmt: skip

NO_LOCAL_SOURCE: dict[tuple[str, str], str] = {
    ("AWS/DynamoDB", "ReadThrottleEvents"): "the stage counts throttled requests, not throttle events",
    ("AWS/DynamoDB", "WriteThrottleEvents"): "the stage counts throttled requests, not throttle events",
    ("AWS/DynamoDB", "ConsumedReadCapacityUnits"): "moto does not meter capacity",
    ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"): "moto does not meter capacity",
}
"""Metrics a dashboard may name that a local run cannot produce, and why."""


@dataclass
class RunData:
    """Samples per metric (time, value) and log records, from one run folder."""

    started_at: float
    ended_at: float
    samples: dict[MetricKey, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    sourced: set[tuple[str, str]] = field(default_factory=set)
    sourced_namespaces: set[str] = field(default_factory=set)
    """Namespaces whose every metric has a source (the handler's EMF): no datapoint means none emitted."""
    records: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)

    def add(self, namespace: str, name: str, dims: dict[str, str], ts: float, value: float) -> None:
        """One datapoint of one metric."""
        self.samples[(namespace, name, frozenset(dims.items()))].append((ts, value))
        self.sourced.add((namespace, name))

    def source(self, namespace: str, *names: str) -> None:
        """Declare metrics this run has a source for, even if none of them got a datapoint."""
        self.sourced.update((namespace, name) for name in names)

    def series(self, namespace: str, name: str, dims: dict[str, str]) -> list[tuple[float, float]]:
        """The datapoints of one metric with exactly these dimensions."""
        return self.samples.get((namespace, name, frozenset(dims.items())), [])

    def no_source(self, namespace: str, name: str) -> str | None:
        """Why the run cannot show a metric, or None when it has a source for it."""
        if (namespace, name) in self.sourced or namespace in self.sourced_namespaces:
            return None
        return NO_LOCAL_SOURCE.get((namespace, name), f"no local source publishes {namespace} {name}")


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a run's JSON-lines file, in order; none when it is missing, a cut line skipped."""
    if not path.exists():
        return
    with path.open() as lines:
        for line in lines:
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut short when a worker was killed


def load_run(run_dir: Path) -> RunData:
    """Read every source in ``run_dir`` (see the module docstring)."""
    folder = RunFolder(run_dir)
    stage = json.loads(folder.stage_file.read_text())
    variables: dict[str, str] = stage["variables"]
    access = list(json_lines(folder.access_log))
    timeline = json.loads(folder.timeline.read_text()) if folder.timeline.exists() else {}
    first = min((a["ts"] for a in access), default=0.0)
    data = RunData(
        started_at=timeline.get("started_at", first),
        ended_at=timeline.get("ended_at", max((a["ts"] for a in access), default=first)),
        phases=timeline.get("phases", []),
    )
    for name, path in (("summary", folder.summary), ("audit", folder.audit)):
        if path.exists():
            setattr(data, name, json.loads(path.read_text()))
    ended = {a["requestId"]: a["ts"] + a["latency_ms"] / 1000 for a in access}
    # The dimensions exactly as the dashboard asks for them, resolved with the stage's names.
    api = {name: resolve(value, variables) for name, value in definition.API.items()}
    function = {name: resolve(value, variables) for name, value in definition.LAMBDA.items()}
    # Every local request reaches the function as a deployed one reaches it: through the alias.
    alias = {name: resolve(value, variables) for name, value in definition.LAMBDA_ALIAS.items()}
    _api_and_lambda(data, access, api, function, alias)
    for log in folder.logs.worker_logs():
        data.sourced_namespaces.add(METRICS_NAMESPACE)
        _worker_log(data, log, variables, alias, ended)
    for log in folder.logs.request_logs():
        _request_log(data, log, variables)
    _queues(data, run_dir, variables)
    return data


def _api_and_lambda(
    data: RunData, access: list[dict[str, Any]], api: dict[str, str], function: dict[str, str], alias: dict[str, str]
) -> None:
    data.source("AWS/ApiGateway", "Count", "4XXError", "5XXError", "Latency", "IntegrationLatency")
    data.source("AWS/Lambda", "Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration")
    spans = []
    for entry in access:
        ts, status = entry["ts"], entry["status"]
        data.add("AWS/ApiGateway", "Count", api, ts, 1)
        data.add("AWS/ApiGateway", "4XXError", api, ts, float(400 <= status < 500))
        data.add("AWS/ApiGateway", "5XXError", api, ts, float(status >= 500))
        data.add("AWS/ApiGateway", "Latency", api, ts, entry["latency_ms"])
        outcome = entry.get("integration")
        if outcome is None:
            continue  # answered by the authorizer or the front (401, 403, 413): the function never ran
        data.add("AWS/ApiGateway", "IntegrationLatency", api, ts, entry["integration_ms"])
        if outcome == "throttled":
            data.add("AWS/Lambda", "Throttles", alias, ts, 1)
            continue
        data.add("AWS/Lambda", "Throttles", alias, ts, 0)
        data.add("AWS/Lambda", "Invocations", alias, ts, 1)
        data.add("AWS/Lambda", "Errors", alias, ts, float(outcome in ("error", "timeout")))
        end = ts + entry["latency_ms"] / 1000
        spans.append((end - entry["integration_ms"] / 1000, end))
    # In flight at each start: a sweep over starts and ends.
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda ev: (ev[0], ev[1]))
    running = 0
    for ts, step in events:
        running += step
        if step > 0:
            data.add("AWS/Lambda", "ConcurrentExecutions", function, ts, running)


def _worker_log(
    data: RunData, path: Path, variables: dict[str, str], alias: dict[str, str], ended: dict[str, float]
) -> None:
    tables = {variables[k]: k for k in ("OrdersTable", "ProductsTable") if k in variables}
    data.source("AWS/DynamoDB", "ThrottledRequests", "SystemErrors")
    with path.open() as lines:
        for line in lines:
            if platform_log.is_platform_line(line):
                report = platform_log.parse(line)
                if isinstance(report, platform_log.Report):
                    _report(data, report, alias, ended)
                continue
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "_aws" in entry:
                _emf(data, entry)  # and, for the "order created" record, a log line too (below)
            if JOURNAL_KEY in entry:
                _injected(data, entry[JOURNAL_KEY], tables)
            elif "level" in entry:
                data.records.append({"@timestamp": _log_time(entry["timestamp"]), "@message": line.strip(), **entry})


def _log_time(stamp: str) -> float:
    """A JSON log line's time: Powertools' format, or the runtime client's ISO 8601 one (its error records)."""
    try:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f%z").timestamp()
    except ValueError:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _report(data: RunData, report: platform_log.Report, alias: dict[str, str], ended: dict[str, float]) -> None:
    """A REPORT: AWS/Lambda ``Duration``, and the Logs Insights record of the fields CloudWatch discovers in it.

    A cold start's ``@initDuration`` is one of them; a SnapStart restore's durations are not:
    Logs Insights ``parse``s them from the line (AWS's own SnapStart queries do), so the record
    holds the line as ``@message``, in Lambda's Text format whatever the run's.
    """
    ts = ended.get(report.request_id, data.started_at)
    data.add("AWS/Lambda", "Duration", alias, ts, report.duration_ms)
    record: dict[str, Any] = {
        "@timestamp": ts, "@type": "REPORT", "@requestId": report.request_id,
        "@duration": report.duration_ms, "@billedDuration": float(report.billed_ms),
        "@memorySize": report.memory_mb * _MB, "@maxMemoryUsed": report.max_memory_mb * _MB,
        "@message": platform_log.report(platform_log.TEXT, report).splitlines()[-1],
    }  # fmt: skip
    if report.init_ms is not None:
        record["@initDuration"] = report.init_ms
    data.records.append(record)


def _emf(data: RunData, entry: dict[str, Any]) -> None:
    ts = entry["_aws"]["Timestamp"] / 1000
    for directive in entry["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dims = {name: str(entry[name]) for name in dimension_set}
            for metric in directive["Metrics"]:
                values = entry[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    data.add(directive["Namespace"], metric["Name"], dims, ts, float(value))


def _injected(data: RunData, fault: dict[str, Any], tables: Mapping[str, str]) -> None:
    if fault["service"] != "dynamodb" or fault["target"] not in tables:
        return
    dims = {"TableName": fault["target"], "Operation": fault["operation"]}
    code = fault.get("code", "")
    if code in _DYNAMODB_THROTTLES:
        data.add("AWS/DynamoDB", "ThrottledRequests", dims, fault["ts"], 1)
    elif fault.get("status", 0) >= 500:
        data.add("AWS/DynamoDB", "SystemErrors", dims, fault["ts"], 1)


def _request_log(data: RunData, path: Path, variables: dict[str, str]) -> None:
    tables = {variables[k] for k in ("OrdersTable", "ProductsTable") if k in variables}
    queues = {
        variables[f"{k}.QueueName"] for k in ("ProcessingQueue", "ProcessingDLQ") if f"{k}.QueueName" in variables
    }
    for entry in json_lines(path):
        ts, target, status = entry["ts"], entry["target"], entry["status"]
        if ts < data.started_at:
            continue  # the stage's own set-up (tables, seed data)
        if target in tables or any(t in tables for t in target.split(",")):
            _dynamodb_request(data, entry, target.split(",")[0])
        elif target in queues:
            dims = {"QueueName": target}
            data.source("AWS/SQS", "NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")
            for field_name, metric in (("sent", "NumberOfMessagesSent"), ("received", "NumberOfMessagesReceived"),
                                       ("deleted", "NumberOfMessagesDeleted")):  # fmt: skip
                if field_name in entry and status < 300:
                    data.add("AWS/SQS", metric, dims, ts, entry[field_name])


def _dynamodb_request(data: RunData, entry: dict[str, Any], table: str) -> None:
    ts, status = entry["ts"], entry["status"]
    dims = {"TableName": table, "Operation": entry["operation"]}
    data.source("AWS/DynamoDB", "SuccessfulRequestLatency", "UserErrors", "SystemErrors",
                "ConditionalCheckFailedRequests")  # fmt: skip
    if status < 400:
        data.add("AWS/DynamoDB", "SuccessfulRequestLatency", dims, ts, entry["ms"])
    elif status >= 500:
        data.add("AWS/DynamoDB", "SystemErrors", dims, ts, 1)
    elif entry.get("error") == "ConditionalCheckFailedException":
        data.add("AWS/DynamoDB", "ConditionalCheckFailedRequests", {"TableName": table}, ts, 1)
    else:
        data.add("AWS/DynamoDB", "UserErrors", {}, ts, 1)


def _queues(data: RunData, run_dir: Path, variables: dict[str, str]) -> None:
    data.source("AWS/SQS", "ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateAgeOfOldestMessage")  # fmt: skip
    folder = RunFolder(run_dir)
    samples = list(json_lines(folder.queues))
    for sample in samples:
        dims = {"QueueName": sample["queue"]}
        data.add("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, sample["ts"], sample["visible"])
        data.add("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", dims, sample["ts"], sample["not_visible"])
    # The age of the oldest message at each sample: of the messages sent by then, the oldest not yet received.
    queue = variables.get("ProcessingQueue.QueueName")
    messages = sorted((m["sent_ts"], m["ts"]) for m in json_lines(folder.messages) if m.get("sent_ts"))
    for sample in samples:
        if sample["queue"] != queue:
            continue
        now = sample["ts"]
        waiting = [sent for sent, received in messages if sent <= now < received]
        age = now - min(waiting) if waiting else 0.0
        data.add("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": sample["queue"]}, now, round(age, 3))
