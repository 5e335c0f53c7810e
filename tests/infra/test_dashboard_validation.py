"""The dashboard validator catches each class of problem CloudWatch would store silently.

Every case starts from one small body that validates clean (a metric, a log, a text and an alarm
widget, with CloudFormation placeholders as the template has them) and breaks it one way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.cloudwatch_body import MetricRef, metrics_of, validate_body
from tests.support.cloudwatch_metrics import AWS_METRICS, is_valid_stat, problems_with_metric

METRIC, LOG, TEXT, ALARM = 0, 1, 2, 3
API = ["ApiName", "${AWS::StackName}-orders", "Stage", "${StageName}"]
FUNCTION = ["FunctionName", "${CreateOrderFunction}"]


def valid_body() -> dict[str, Any]:
    return {
        "start": "-PT3H",
        "periodOverride": "inherit",
        "widgets": [
            {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
                "title": "Latency (ms)",
                "view": "timeSeries",
                "region": "${AWS::Region}",
                "stat": "p99",
                "period": 60,
                "stacked": False,
                "metrics": [
                    ["AWS/ApiGateway", "Latency", *API, {"id": "m1", "label": "p99"}],
                    ["...", {"id": "m2", "stat": "p50", "label": "p50"}],
                    ["AWS/Lambda", "Duration", *FUNCTION, {"id": "m3", "yAxis": "right"}],
                    [{"expression": "m1 - m3", "label": "outside the function", "id": "e1"}],
                ],
                "yAxis": {"left": {"min": 0, "label": "ms", "showUnits": False}},
                "annotations": {"horizontal": [{"value": 1000, "label": "p99 objective", "color": "#d62728"}]},
            }},
            {"type": "log", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {
                "title": "Errors by code",
                "region": "${AWS::Region}",
                "query": "SOURCE '${CreateOrderLogGroup}' | filter level = \"ERROR\" | stats count(*) by error_code",
                "view": "table",
            }},
            {"type": "text", "x": 0, "y": 6, "width": 24, "height": 2, "properties": {"markdown": "# create-order"}},
            {"type": "alarm", "x": 0, "y": 8, "width": 24, "height": 3, "properties": {
                "title": "Alarms",
                "alarms": ["${ApiLatencyAlarm.Arn}", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-5xx"],
                "sortBy": "stateUpdatedTimestamp",
                "states": ["ALARM", "INSUFFICIENT_DATA"],
            }},
        ],
    }  # fmt: skip


Mutation = Callable[[dict[str, Any]], None]


def props(widget: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: body["widgets"][widget]["properties"]


def put(where: Callable[[dict[str, Any]], Any], key: str | int, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        where(body)[key] = value

    return mutate


def drop(where: Callable[[dict[str, Any]], Any], key: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        del where(body)[key]

    return mutate


def widget(index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: body["widgets"][index]


def lines(body: dict[str, Any]) -> list[Any]:
    return body["widgets"][METRIC]["properties"]["metrics"]


def line_options(index: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: lines(body)[index][-1]


def test_the_starting_body_is_valid() -> None:
    # Given the body every other case breaks; When it is validated; Then nothing is reported.
    assert validate_body(valid_body()) == []


# Each row: what is broken, the mutation, and words the problem must carry (the field's path first).
BROKEN: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("no widgets array", drop(lambda body: body, "widgets"), ("widgets",)),
    ("an unknown top-level field", put(lambda body: body, "widget", []), ("'widget'",)),
    (
        "periodOverride neither auto nor inherit",
        put(lambda body: body, "periodOverride", "always"),
        ("periodOverride",),
    ),
    ("an unknown widget type", put(widget(TEXT), "type", "markdown"), ("widgets[2].type", "markdown")),
    ("width 25", put(widget(TEXT), "width", 25), ("widgets[2].width",)),
    ("height 0", put(widget(TEXT), "height", 0), ("widgets[2].height",)),
    ("a negative x", put(widget(TEXT), "x", -1), ("widgets[2].x",)),
    ("x + width past the grid", put(widget(LOG), "x", 13), ("widgets[1]", "x + width")),
    ("no properties", drop(widget(TEXT), "properties"), ("widgets[2].properties",)),
    ("a metric widget without region", drop(props(METRIC), "region"), ("widgets[0].properties.region",)),
    ("a log widget without region", drop(props(LOG), "region"), ("widgets[1].properties.region",)),
    ("stat p101", put(props(METRIC), "stat", "p101"), ("widgets[0].properties.stat", "p101")),
    ("stat Avg", put(props(METRIC), "stat", "Avg"), ("widgets[0].properties.stat", "Avg")),
    ("a line's stat p0", put(line_options(1), "stat", "p0"), ("metrics[1] options.stat", "p0")),
    ("period 45", put(props(METRIC), "period", 45), ("widgets[0].properties.period", "45")),
    ("a line's period 90", put(line_options(0), "period", 90), ("metrics[0] options.period", "90")),
    ("view line", put(props(METRIC), "view", "line"), ("widgets[0].properties.view", "line")),
    ("stacked as a string", put(props(METRIC), "stacked", "false"), ("widgets[0].properties.stacked",)),
    (
        "a metric Lambda does not publish",
        put(lines, 2, ["AWS/Lambda", "Latency", *FUNCTION, {"id": "m3"}]),
        ("metrics[2]", "AWS/Lambda", "Latency"),
    ),
    (
        "SuccessfulRequestLatency by table only",
        put(lines, 2, ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", "${OrdersTable}", {"id": "m3"}]),
        ("metrics[2]", "SuccessfulRequestLatency", "dimensions {TableName}"),
    ),
    (
        "an account-level metric given a table",
        put(lines, 2, ["AWS/DynamoDB", "UserErrors", "TableName", "t", {"id": "m3"}]),
        ("metrics[2]", "UserErrors", "no dimension"),
    ),
    (
        "a misspelt AWS namespace",
        put(lines, 2, ["AWS/Lamda", "Duration", *FUNCTION, {"id": "m3"}]),
        ("metrics[2]", "AWS/Lamda"),
    ),
    ("'...' on the first line", put(lines, 0, ["...", {"id": "m1"}]), ("metrics[0]", "'...'")),
    ("'.' on the first line", put(lines, 0, [".", "Latency", *API, {"id": "m1"}]), ("metrics[0]", "'.'")),
    (
        "a dimension name without its value",
        put(lines, 2, ["AWS/Lambda", "Duration", "FunctionName", {"id": "m3"}]),
        ("metrics[2]", "dimension"),
    ),
    ("a duplicate metric id", put(line_options(1), "id", "m1"), ("metrics[1] options.id", "'m1'", "twice")),
    ("an id in upper case", put(line_options(2), "id", "M3"), ("metrics[2] options.id", "'M3'")),
    (
        "an expression naming an unknown id",
        put(line_options(3), "expression", "m1 - m9"),
        ("metrics[3] options.expression", "'m9'"),
    ),
    ("an unknown rendering property", put(line_options(0), "colour", "#ff0000"), ("metrics[0] options", "'colour'")),
    ("a line's yAxis neither left nor right", put(line_options(2), "yAxis", "top"), ("metrics[2] options.yAxis",)),
    ("a colour that is not hex", put(line_options(0), "color", "red"), ("metrics[0] options.color",)),
    ("a gauge without yAxis min and max", put(props(METRIC), "view", "gauge"), ("properties.yAxis.left", "gauge")),
    ("yAxis min above max", put(props(METRIC), "yAxis", {"left": {"min": 10, "max": 1}}), ("yAxis.left.min",)),
    (
        "a horizontal annotation without value",
        put(props(METRIC), "annotations", {"horizontal": [{"label": "x"}]}),
        ("annotations.horizontal[0].value",),
    ),
    (
        "a vertical annotation with a numeric value",
        put(props(METRIC), "annotations", {"vertical": [{"value": 3}]}),
        ("annotations.vertical[0].value", "ISO 8601"),
    ),
    (
        "a log query without SOURCE",
        put(props(LOG), "query", "fields @message | limit 20"),
        ("widgets[1].properties.query", "SOURCE"),
    ),
    ("a log query without a pipe", put(props(LOG), "query", "SOURCE 'group'"), ("widgets[1].properties.query",)),
    ("a log view a log widget lacks", put(props(LOG), "view", "gauge"), ("widgets[1].properties.view",)),
    ("a text widget without markdown", drop(props(TEXT), "markdown"), ("widgets[2].properties.markdown",)),
    ("an alarm widget with no alarms", put(props(ALARM), "alarms", []), ("widgets[3].properties.alarms",)),
    (
        "an alarm that is a name, not an ARN",
        put(props(ALARM), "alarms", ["orders-5xx"]),
        ("widgets[3].properties.alarms[0]", "orders-5xx"),
    ),
    ("an unknown alarm state", put(props(ALARM), "states", ["FIRING"]), ("widgets[3].properties.states",)),
    ("an unknown sort", put(props(ALARM), "sortBy", "name"), ("widgets[3].properties.sortBy",)),
]


@pytest.mark.parametrize(("mutate", "words"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN])
def test_a_body_broken_one_way_is_reported(mutate: Mutation, words: tuple[str, ...]) -> None:
    # Given the valid body, broken one way
    body = valid_body()
    mutate(body)

    # When it is validated
    problems = validate_body(body)

    # Then one problem names the field and what is wrong with it
    assert any(all(word in problem for word in words) for problem in problems), problems


def test_end_without_start_is_reported() -> None:
    # Given an absolute end but no start
    body = valid_body()
    del body["start"]
    body["end"] = "2026-01-01T00:00:00.000Z"

    # When / Then: CloudWatch needs both for an absolute range
    assert any("end needs start" in problem for problem in validate_body(body))


def test_a_custom_namespace_is_left_to_its_own_checks() -> None:
    # Given a line in the function's own namespace, which the AWS catalog does not hold
    body = valid_body()
    lines(body)[2] = ["CreateOrder", "OrdersCreated", "service", "create-order", {"id": "m3"}]

    # When / Then: nothing is reported for it
    assert validate_body(body) == []


def test_an_alarm_annotation_may_stand_in_for_metrics() -> None:
    # Given a metric widget that draws an alarm instead of metrics
    body = valid_body()
    properties = props(METRIC)(body)
    del properties["metrics"]
    properties["annotations"] = {"alarms": ["${ApiLatencyAlarm.Arn}"]}

    # When / Then: that is the one case the page allows without metrics
    assert validate_body(body) == []


def test_metrics_of_resolves_shorthand_and_falls_back_to_the_widget() -> None:
    # Given lines repeated with '...' and '.', one overriding the widget's stat and period, and an expression
    body = valid_body()
    lines(body)[:] = [
        ["AWS/Lambda", "Invocations", "FunctionName", "${CreateOrderFunction}", {"id": "m1"}],
        ["...", "${OtherFunction}", {"id": "m2"}],
        [".", "Errors", ".", ".", {"stat": "Sum", "period": 300, "id": "m3"}],
        [{"expression": "m3 / m2", "id": "e1"}],
    ]

    # When the metrics are listed
    refs = metrics_of(body)

    # Then each line is spelled out in full, the expression left out
    fn = "${CreateOrderFunction}"
    assert refs == [
        MetricRef("AWS/Lambda", "Invocations", (("FunctionName", fn),), "p99", 60, "Latency (ms)"),
        MetricRef("AWS/Lambda", "Invocations", (("FunctionName", "${OtherFunction}"),), "p99", 60, "Latency (ms)"),
        MetricRef("AWS/Lambda", "Errors", (("FunctionName", "${OtherFunction}"),), "Sum", 300, "Latency (ms)"),
    ]


def test_metrics_of_uses_cloudwatch_defaults_when_nothing_is_said() -> None:
    # Given a widget naming neither stat nor period, and its first line's '...' repeat
    body = valid_body()
    properties = props(METRIC)(body)
    del properties["stat"], properties["period"], properties["title"]

    # When / Then: CloudWatch's defaults (Average, 300 s) apply, dimensions sorted by name
    first, second, *_ = metrics_of(body)
    api = (("ApiName", "${AWS::StackName}-orders"), ("Stage", "${StageName}"))
    assert first == MetricRef("AWS/ApiGateway", "Latency", api, "Average", 300, "")
    assert second == MetricRef("AWS/ApiGateway", "Latency", api, "p50", 300, "")


@pytest.mark.parametrize(
    "stat",
    ["SampleCount", "Average", "Sum", "Minimum", "Maximum", "IQM", "p50", "p99.9", "p100", "p0.1", "tm99",
     "wm98", "tc90", "ts90", "TM(10%:90%)", "TM(:95%)", "TM(10%:)", "TM(150:1000)", "WM(10%:90%)",
     "TC(0.005:0.030)", "TC(:0.5)", "TS(80%:)", "PR(:300)", "PR(100:2000)"],
)  # fmt: skip
def test_the_documented_statistics_are_accepted(stat: str) -> None:
    assert is_valid_stat(stat)


@pytest.mark.parametrize(
    "stat",
    ["Avg", "average", "Max", "P99", "p101", "p0", "p", "p99.12345678901", "TM99", "tm(10%:90%)", "TM()",
     "TM(:)", "TM(10%:500)", "TM(90%:10%)", "TM(10%:120%)", "PR(10%:)", "PR(500:100)", "", "iqm"],
)  # fmt: skip
def test_misspelt_statistics_are_refused(stat: str) -> None:
    assert not is_valid_stat(stat)


@pytest.mark.parametrize(
    ("namespace", "name", "dimensions"),
    [
        ("AWS/ApiGateway", "Latency", {"ApiName"}),
        ("AWS/ApiGateway", "Latency", {"ApiName", "Stage"}),
        ("AWS/ApiGateway", "Count", {"ApiName", "Method", "Resource", "Stage"}),
        ("AWS/Lambda", "Duration", {"FunctionName"}),
        ("AWS/Lambda", "Errors", {"FunctionName", "Resource", "ExecutedVersion"}),
        ("AWS/Lambda", "ConcurrentExecutions", set()),
        ("AWS/Lambda", "ClaimedAccountConcurrency", set()),
        ("AWS/Lambda", "PolledEventCount", {"EventSourceMappingUUID"}),
        ("AWS/DynamoDB", "SuccessfulRequestLatency", {"TableName", "Operation"}),
        ("AWS/DynamoDB", "ThrottledRequests", {"TableName", "Operation"}),
        ("AWS/DynamoDB", "SystemErrors", {"TableName", "Operation"}),
        ("AWS/DynamoDB", "UserErrors", set()),
        ("AWS/DynamoDB", "ReadThrottleEvents", {"TableName", "GlobalSecondaryIndexName"}),
        ("AWS/DynamoDB", "ConditionalCheckFailedRequests", {"TableName"}),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName"}),
    ],
)
def test_the_catalog_accepts_what_aws_publishes(namespace: str, name: str, dimensions: set[str]) -> None:
    assert problems_with_metric(namespace, name, frozenset(dimensions)) is None


@pytest.mark.parametrize(
    ("namespace", "name", "dimensions", "words"),
    [
        ("AWS/ApiGateway", "Latency", {"ApiName", "Method"}, "dimensions {ApiName, Method}"),
        ("AWS/ApiGateway", "Latency", set(), "dimensions no dimension"),
        ("AWS/Lambda", "UnreservedConcurrentExecutions", {"FunctionName"}, "dimensions {FunctionName}"),
        ("AWS/Lambda", "Latency", {"FunctionName"}, "no metric named 'Latency'"),
        ("AWS/DynamoDB", "SuccessfulRequestLatency", {"TableName"}, "{Operation, TableName}"),
        ("AWS/DynamoDB", "GlobalSecondaryIndexName", {"TableName"}, "no metric named"),
        ("AWS/SQS", "NumberOfMessagesSent", {"QueueUrl"}, "{QueueName}"),
        ("AWS/EC2", "CPUUtilization", {"InstanceId"}, "namespace 'AWS/EC2'"),
    ],
)
def test_the_catalog_names_what_aws_does_not_publish(
    namespace: str, name: str, dimensions: set[str], words: str
) -> None:
    problem = problems_with_metric(namespace, name, frozenset(dimensions))

    assert problem is not None
    assert words in problem


def test_every_catalogued_metric_has_a_dimension_set() -> None:
    # An empty tuple would make a metric impossible to draw: a transcription slip, not AWS.
    empty = [f"{ns} {name}" for ns, metrics in AWS_METRICS.items() for name, sets in metrics.items() if not sets]

    assert empty == []
    assert set(AWS_METRICS) == {"AWS/ApiGateway", "AWS/Lambda", "AWS/DynamoDB", "AWS/SQS"}
