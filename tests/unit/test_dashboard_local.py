"""The local picture: a run's own data drawn with the dashboard definition AWS gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from create_order import names
from dashboards import definition
from dashboards.publish import local_variables
from harness import platform_log
from harness.platform_log import JSON, Report
from harness.template import load_template
from runreport import cost
from runreport.insights import QueryError, run_query
from runreport.render import (
    CELL_W,
    ENVIRONMENTS_QUERY,
    allotment_line,
    bucketed,
    draw_widget,
    metric_lines,
    render_run,
    statistic,
)
from runreport.rundata import load_run

T0 = 1_800_000_000.0
PHYSICAL = {
    "OrdersTable": "local-OrdersTable",
    "ProductsTable": "local-ProductsTable",
    "ProcessingQueue": "http://127.0.0.1:1/123456789012/local-ProcessingQueue",
    "ProcessingDLQ": "http://127.0.0.1:1/123456789012/local-ProcessingDLQ",
}


def _lines(path: Path, entries: list[object]) -> None:
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in entries))


def _emf(ts: float, metric: str, unit: str, value: float, **dims: str) -> dict:
    dims = {"service": names.SERVICE, **dims}
    directive = {"Namespace": names.METRICS_NAMESPACE, "Dimensions": [sorted(dims)],
                 "Metrics": [{"Name": metric, "Unit": unit}]}  # fmt: skip
    return {"_aws": {"Timestamp": int(ts * 1000), "CloudWatchMetrics": [directive]}, **dims, metric: [value]}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A small run folder as the stage writes one: two orders, a 500, a 401, a chaos phase."""
    variables = local_variables(
        load_template(), PHYSICAL, stack="local", stage="local", region="us-east-1", account="123456789012"
    )
    (tmp_path / "stage.json").write_text(json.dumps({"variables": variables, "dashboard": "local-create-order"}))
    timeline = {"started_at": T0, "ended_at": T0 + 30, "phases": [{"name": "sqs outage", "start_s": 10, "end_s": 20}]}
    (tmp_path / "timeline.json").write_text(json.dumps(timeline))
    access = [
        {"requestId": "r1", "ts": T0 + 1, "status": 201, "latency_ms": 40, "integration": "ok", "integration_ms": 30},
        {"requestId": "r2", "ts": T0 + 2, "status": 201, "latency_ms": 20, "integration": "ok", "integration_ms": 10},
        {"requestId": "r3", "ts": T0 + 12, "status": 500, "latency_ms": 90, "integration": "ok", "integration_ms": 80},
        {"requestId": "r4", "ts": T0 + 13, "status": 401, "latency_ms": 1},
    ]
    _lines(tmp_path / "access.log", access)
    logs = tmp_path / "logs"
    logs.mkdir()
    error = {"level": "ERROR", "message": "dependency failed", "timestamp": "2027-01-15 08:00:12,500+0000",
             "dependency": "ProcessingQueue", "error_code": "ServiceUnavailable"}  # fmt: skip
    _lines(logs / "worker-001.log", [
        _emf(T0 + 1, names.ORDERS_CREATED, "Count", 1),
        _emf(T0 + 1, names.ORDER_VALUE, "None", 12.5, Currency="USD"),
        platform_log.report(JSON, Report("r1", 30.0, 330, 256, 90, init_ms=300.0)).rstrip("\n"),
        _emf(T0 + 2, names.ORDER_VALUE, "None", 10, Currency="EUR"),
        # The text format reads the same (a run of a function whose LogFormat is Text)
        "REPORT RequestId: r2\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 256 MB\tMax Memory Used: 91 MB",
        json.dumps(error),
        _emf(T0 + 12, names.DEPENDENCY_FAILURES, "Count", 1, Dependency=names.PROCESSING_QUEUE),
        platform_log.report(JSON, Report("r3", 80.0, 80, 256, 91)).rstrip("\n"),
        # The runtime client's own record of an unhandled error (its time in ISO 8601)
        json.dumps({"timestamp": "2027-01-15T08:00:13Z", "level": "ERROR", "errorMessage": "boom",
                    "errorType": "RuntimeError", "requestId": "r3", "stackTrace": []}),
    ])  # fmt: skip
    _lines(logs / "requests-dynamodb.jsonl", [
        {"ts": T0 - 5, "operation": "PutItem", "target": "local-ProductsTable", "status": 200, "ms": 1.0},
        {"ts": T0 + 1, "operation": "PutItem", "target": "local-OrdersTable", "status": 200, "ms": 4.0},
        {"ts": T0 + 2, "operation": "PutItem", "target": "local-OrdersTable", "status": 400, "ms": 2.0,
         "error": "ConditionalCheckFailedException"},
    ])  # fmt: skip
    _lines(logs / "requests-sqs.jsonl", [
        {"ts": T0 + 1, "operation": "SendMessage", "target": "local-ProcessingQueue", "status": 200, "sent": 1},
    ])  # fmt: skip
    _lines(tmp_path / "queues.jsonl", [
        {"ts": T0 + 1.5, "queue": "local-ProcessingQueue", "visible": 1, "not_visible": 0},
        {"ts": T0 + 1.5, "queue": "local-ProcessingDLQ", "visible": 0, "not_visible": 0},
    ])  # fmt: skip
    _lines(tmp_path / "messages.jsonl", [{"ts": T0 + 3, "sent_ts": T0 + 1, "order_id": "o1"}])
    return tmp_path


def _widget(title: str) -> dict:
    body = definition.dashboard_body(definition.Facts.from_template(load_template()))
    [widget] = [w for w in body["widgets"] if w["properties"].get("title") == title]
    return json.loads(json.dumps(widget).replace("${", "{"))  # names are checked through the resolved run below


@pytest.mark.parametrize(
    ("stat", "values", "expected"),
    [("Sum", [1, 2, 3], 6), ("Average", [1, 2, 3], 2), ("Maximum", [1, 5, 3], 5), ("SampleCount", [4, 4], 2),
     ("p50", [1, 2, 3, 4], 2), ("p99", list(range(1, 101)), 99), ("p100", [3, 9], 9), ("Sum", [], None)],
)  # fmt: skip
def test_statistics_are_computed_as_cloudwatch_defines_them(stat, values, expected) -> None:
    assert statistic(stat, values) == expected


def test_a_period_without_samples_is_a_gap_not_a_zero() -> None:
    xs, ys = bucketed([(T0 + 1, 5), (T0 + 21, 7)], "Sum", T0, T0 + 30, 10)
    assert (xs, ys) == ([5, 25], [5, 7])


def test_every_log_query_on_the_dashboard_runs_locally(run_dir: Path) -> None:
    data = load_run(run_dir)
    body = definition.dashboard_body(definition.Facts.from_template(load_template()))
    queries = [w["properties"]["query"] for w in body["widgets"] if w["type"] == "log"]
    assert queries
    for query in queries:
        assert run_query(query, data.records, bin_override_s=5).rows, query


def test_insights_stats_by_bin_and_by_field() -> None:
    records = [{"@timestamp": T0 + s, "@type": "REPORT", "@maxMemoryUsed": m * 10**6, "level": lv}
               for s, m, lv in ((1, 90, "ERROR"), (2, 95, "INFO"), (61, 80, "ERROR"))]  # fmt: skip
    by_bin = run_query('filter @type = "REPORT" | stats max(@maxMemoryUsed / 1000 / 1000) as mb by bin(1m)', records)
    assert [r["mb"] for r in by_bin.rows] == [95, 80]
    assert by_bin.bin_s == 60
    by_level = run_query("stats count(*) as n by level | sort n desc | limit 1", records)
    assert by_level.rows == [{"level": "ERROR", "n": 2}]


def test_insights_parse_reads_a_restore_out_of_a_report_line_as_aws_s_snapstart_query_does() -> None:
    # Given a cold start's REPORT, a restored environment's first, and a warm one, as CloudWatch holds them
    restored = Report("r-2", 12.0, 30, 256, 44, restore_ms=511.25, billed_restore_ms=18)
    lines = [Report("r-1", 30.0, 330, 256, 44, init_ms=300.0), restored, Report("r-3", 2.0, 2, 256, 44)]
    records = [
        {"@timestamp": T0, "@type": "REPORT", "@message": platform_log.report(platform_log.TEXT, r).splitlines()[-1]}
        | ({"@initDuration": r.init_ms} if r.init_ms is not None else {})
        for r in lines
    ]

    # When the run page's query counts the new environments
    [row] = run_query(ENVIRONMENTS_QUERY, records).rows

    # Then the restore is parsed out of its line (the billed one apart), the init is the discovered field
    assert row == {"cold_starts": 1.0, "avg_init_ms": 300.0, "restores": 1.0, "avg_restore_ms": 511.25}
    parsed = run_query("parse @message /Billed Restore Duration: (?<billed>[0-9]+) ms/ | fields billed", records)
    assert [r["billed"] for r in parsed.rows] == [None, 18.0, None]
    with pytest.raises(QueryError, match="names no field"):
        run_query("parse @message /Restore Duration: ([0-9.]+) ms/", records)


def test_the_run_page_counts_restores_apart_from_cold_starts(run_dir: Path) -> None:
    # Given the run's environments: r1's a cold start (the fixture's), and one restored from a snapshot
    restored = Report("r9", 5.0, 20, 256, 44, restore_ms=12.5, billed_restore_ms=15)
    (run_dir / "logs" / "worker-002.log").write_text(platform_log.report(JSON, restored))

    page = render_run(run_dir).read_text()

    assert (
        "New environments, from the REPORT lines: 1 cold starts (init 300 ms on average), "
        "1 restored from a SnapStart snapshot (restore 12 ms on average)"
    ) in page


def test_a_query_the_interpreter_cannot_run_is_refused_by_name() -> None:
    with pytest.raises(QueryError, match="parse"):
        run_query("parse @message 'x=*' as x", [])


def test_order_value_is_drawn_per_currency(run_dir: Path) -> None:
    data = load_run(run_dir)
    lines = metric_lines(_widget("Order value by currency")["properties"], data)
    assert sorted(line.label for line in lines) == [
        "average order EUR", "average order USD", "value of orders EUR", "value of orders USD"]  # fmt: skip


def test_a_metric_without_a_local_source_says_so(run_dir: Path, tmp_path: Path) -> None:
    widget = {"type": "metric", "width": 6, "height": 6, "properties": {
        "title": "Read throttle events", "region": "us-east-1", "period": 60, "stat": "Sum",
        "metrics": [["AWS/DynamoDB", "ReadThrottleEvents", "TableName", "local-ProductsTable"]]}}  # fmt: skip
    drawn = draw_widget(widget, load_run(run_dir), 5, tmp_path / "w.png")
    assert drawn["missing"] == ["ReadThrottleEvents: the stage counts throttled requests, not throttle events"]
    assert (tmp_path / "w.png").stat().st_size > 0


def test_the_run_is_drawn_with_every_metric_from_a_local_source(run_dir: Path) -> None:
    # When the run folder is rendered
    page = render_run(run_dir)
    # Then there is a picture per widget, the whole dashboard, and a page naming the chaos phase
    drawn = json.loads((run_dir / "dashboard" / "widgets.json").read_text())
    body = definition.dashboard_body(definition.Facts.from_template(load_template()))
    assert len(drawn) == len(body["widgets"])
    assert all((run_dir / "dashboard" / w["file"]).stat().st_size > 0 for w in drawn)
    from PIL import Image

    with Image.open(run_dir / "dashboard" / "dashboard.png") as whole:
        assert whole.width == 24 * CELL_W
    assert "sqs outage" in page.read_text()
    # And only the alarm widget lacks a local source
    assert [w["title"] for w in drawn if w["missing"]] == ["Alarms"]


def test_the_run_data_counts_what_the_sources_say(run_dir: Path) -> None:
    data = load_run(run_dir)
    variables = json.loads((run_dir / "stage.json").read_text())["variables"]
    api = {"ApiName": "create-order-local-orders", "Stage": "local"}
    assert [v for _, v in data.series("AWS/ApiGateway", "5XXError", api)] == [0, 0, 1, 0]
    function = variables["CreateOrderFunction"]
    alias = {"FunctionName": function, "Resource": f"{function}:{definition.ALIAS}"}
    assert len(data.series("AWS/Lambda", "Invocations", alias)) == 3  # the 401 never reached the function
    assert len(data.series("AWS/Lambda", "Duration", alias)) == 3
    assert data.series("AWS/Lambda", "ConcurrentExecutions", {"FunctionName": function})  # every version's
    put = {"TableName": "local-OrdersTable", "Operation": "PutItem"}
    assert data.series("AWS/DynamoDB", "SuccessfulRequestLatency", put) == [(T0 + 1, 4.0)]  # set-up excluded
    assert data.series("AWS/DynamoDB", "ConditionalCheckFailedRequests", {"TableName": "local-OrdersTable"})
    age = data.series("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "local-ProcessingQueue"})
    assert age == [(T0 + 1.5, 0.5)]


LAMBDA_ALLOTMENT = {
    "memory_size_mb": 256, "memory_limit": True, "memory_limit_off": "", "cgroup_version": 1, "cpu_model": "lambda",
    "cpu_model_off": "", "invoke_vcpus": 0.1447, "init_vcpus": 2.0, "host_cores_per_vcpu": 1.0, "throttle_init": False,
}  # fmt: skip
"""The stage file's ``allotment`` of a run under the Lambda CPU model at 256 MB (``ControlGroups.summary``)."""


@pytest.mark.parametrize(
    ("allotment", "line"),
    [
        (LAMBDA_ALLOTMENT, "256 MB, limited (cgroup v1); cpu model lambda: 0.1447 host cores per INVOKE, 2.0 per INIT"),
        (
            LAMBDA_ALLOTMENT | {"memory_size_mb": 1024, "memory_limit": False, "memory_limit_off": "not root",
                                "cpu_model": "host", "cpu_model_off": "asked for (--cpu-model host)"},
            "1024 MB, not limited: not root; cpu model host (asked for (--cpu-model host))",
        ),
        (None, "not recorded (a run from before the stage applied memory and CPU limits)"),
    ],
)  # fmt: skip
def test_the_allotment_is_named_in_one_line(allotment: dict[str, Any] | None, line: str) -> None:
    assert allotment_line(allotment) == line


def test_the_run_page_names_the_memory_size_and_cpu_model(run_dir: Path) -> None:
    stage = json.loads((run_dir / "stage.json").read_text())
    (run_dir / "stage.json").write_text(json.dumps(stage | {"allotment": LAMBDA_ALLOTMENT}))

    page = render_run(run_dir).read_text()

    assert "Allotment: 256 MB, limited (cgroup v1); cpu model lambda: 0.1447 host cores per INVOKE" in page


def test_the_run_page_draws_the_cost_panel_with_its_what_ifs(run_dir: Path) -> None:
    # Given a run priced from its own consumption (two orders)
    priced = cost.price(cost.consumption(run_dir), arch="arm64")
    (run_dir / "summary.json").write_text(json.dumps({"cost": priced}))

    page = render_run(run_dir).read_text()

    # Then the page shows each component and the total per million orders, for the run and each what-if
    assert "<h2>What an order costs: USD per million orders</h2>" in page
    assert "<th>this run</th><th>http api</th><th>x86 64</th><th>logs at warn</th>" in page
    lambda_row = f"<td>Lambda</td><td>{priced['components_per_million_orders']['lambda']:,.2f}</td>"
    assert lambda_row in page
    assert f"<tr><th>total</th><th>{priced['per_million_orders']:,.2f}</th>" in page
    # and a run that was not priced shows none
    (run_dir / "summary.json").write_text(json.dumps({}))
    assert "What an order costs" not in render_run(run_dir).read_text()
