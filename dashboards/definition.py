"""The endpoint's dashboard and alarms, defined once.

The body reads top to bottom from what a caller sees to the cause: alarms, API Gateway, the
function, the business, DynamoDB, SQS, then the errors themselves. Resource names are
CloudFormation ``${...}`` placeholders, resolved by ``Fn::Sub`` in the template, by the
publish command from a stack, and by the local renderer from the stage; nothing here names a
deployed resource. ``python -m dashboards sync`` writes the alarms and the dashboard into
``template.yaml``; a test fails when the two drift.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from create_order import names
from harness import slo

# The placeholders, as the template's Fn::Sub resolves them.
REGION = "${AWS::Region}"
STAGE = "${StageName}"
"""The environment: the API's stage, and the suffix of every physical name (dev, staging and prod share an account)."""
PREFIX = f"create-order-{STAGE}"
"""How the template names what it creates for one environment."""
API_NAME = f"{PREFIX}-orders"
"""The REST API's name, which API Gateway's metrics carry as ``ApiName`` (set in the template)."""
FUNCTION = f"order-processing-create-order-{STAGE}"
"""The function's name (the template's ``FunctionName``, a test holds them equal). By name, not by reference: the
function's deployment preference names the rollback alarms, and alarms referring back to the function would look
like a cycle to cfn-lint, which reads the template before SAM splits the function into its parts."""
ALIAS = "live"
"""The alias API Gateway invokes and a deploy shifts to the new version (the template's ``AutoPublishAlias``)."""
LOG_GROUP = "${CreateOrderLogGroup}"
TABLES = {names.ORDERS_TABLE: "${OrdersTable}", names.PRODUCTS_TABLE: "${ProductsTable}"}
QUEUE = "${ProcessingQueue.QueueName}"
DLQ = "${ProcessingDLQ.QueueName}"
TABLE_OPERATIONS = {names.ORDERS_TABLE: "PutItem", names.PRODUCTS_TABLE: "BatchGetItem"}
"""The one DynamoDB operation the function calls on each table (the IAM role allows no other)."""

DASHBOARD = "CreateOrderDashboard"
TOPIC = "AlarmTopic"
DATA_KEY = "DataKey"
"""The template's customer-managed key, and the condition that makes it (the CustomerManagedKey knob)."""
CUSTOMER_MANAGED_KEY = "UseCustomerManagedKey"
TOPIC_UNENCRYPTED = (
    "CloudWatch alarms cannot publish under the AWS-managed SNS key, and a notification carries an alarm's name "
    "and state only; CustomerManagedKey=true puts it under DataKey"
)
COMPOSITE = "EndpointHealthAlarm"
PERIOD = 60
GRID = 24

API = {"ApiName": API_NAME, "Stage": STAGE}
LAMBDA = {"FunctionName": FUNCTION}
"""The whole function, every version: what reserved concurrency caps."""
LAMBDA_ALIAS = {"FunctionName": FUNCTION, "Resource": f"{FUNCTION}:{ALIAS}"}
"""The alias every request goes through: what a deploy changes, and what its rollback alarms watch."""
ROLLBACK_ALARMS = ("EndpointHealthAlarm", "FunctionErrorsAlarm", "FunctionErrorRateAlarm")
"""The alarms that stop a deploy and send the alias back to the old version (the template's DeploymentPreference)."""
CUSTOM = {"service": names.SERVICE}


@dataclass(frozen=True)
class Facts:
    """What the dashboard draws against, read from the template (never typed twice)."""

    timeout_ms: int
    memory_mb: int

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> Facts:
        """The function's timeout and memory from the template's ``CreateOrderFunction``."""
        props = template["Resources"]["CreateOrderFunction"]["Properties"]
        return cls(timeout_ms=int(props["Timeout"]) * 1000, memory_mb=int(props["MemorySize"]))


def metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> list[Any]:
    """One line of a metric widget: ``[namespace, name, dim, value, ..., {options}]``."""
    line: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        line += [key, value]
    return [*line, options] if options else line


def search(name: str, dimensions: tuple[str, ...], stat: str, line_id: str, label: str, **options: Any) -> list[Any]:
    """One SEARCH expression line: a series per value of the dimensions (e.g. per currency)."""
    schema = ",".join((names.METRICS_NAMESPACE, *dimensions))
    expression = f"SEARCH('{{{schema}}} MetricName=\"{name}\"', '{stat}', {PERIOD})"
    return [{"expression": expression, "id": line_id, "label": label, **options}]


def graph(title: str, metrics: list[list[Any]], *, stat: str = "Sum", width: int = 8, **props: Any) -> dict[str, Any]:
    """A metric widget (timeSeries unless ``view`` says otherwise)."""
    properties = {"title": title, "view": "timeSeries", "region": REGION, "stat": stat, "period": PERIOD}
    properties.update(metrics=metrics, **props)
    return {"type": "metric", "width": width, "height": 6, "properties": properties}


def insights(title: str, query: str, *, view: str = "timeSeries", width: int = 12) -> dict[str, Any]:
    """A Logs Insights widget over the function's log group."""
    properties = {"title": title, "query": f"SOURCE '{LOG_GROUP}' | {query}", "region": REGION, "view": view}
    return {"type": "log", "width": width, "height": 6, "properties": properties}


def text(markdown: str, height: int = 2) -> dict[str, Any]:
    """A full-width text widget (section headings)."""
    return {"type": "text", "width": GRID, "height": height, "properties": {"markdown": markdown}}


def line_at(value: float, label: str) -> dict[str, Any]:
    """A horizontal annotation (an SLO, a limit)."""
    return {"horizontal": [{"value": value, "label": label}]}


def _custom(name: str, **options: Any) -> list[Any]:
    return metric(names.METRICS_NAMESPACE, name, CUSTOM, **options)


def _table(logical_id: str, name: str, **options: Any) -> list[Any]:
    dims = {"TableName": TABLES[logical_id], "Operation": TABLE_OPERATIONS[logical_id]}
    return metric("AWS/DynamoDB", name, dims, **options)


def _rows(facts: Facts) -> list[list[dict[str, Any]]]:
    latency = [metric("AWS/ApiGateway", "Latency", API, stat=p, label=p) for p in ("p50", "p90", "p99")]
    integration = [metric("AWS/ApiGateway", "IntegrationLatency", API, stat=p, label=p) for p in ("p50", "p90", "p99")]
    duration = [
        metric("AWS/Lambda", "Duration", LAMBDA_ALIAS, stat=s, label=s) for s in ("p50", "p90", "p99", "Maximum")
    ]
    dependency_failures = [
        metric(names.METRICS_NAMESPACE, names.DEPENDENCY_FAILURES, {**CUSTOM, names.DEPENDENCY_DIMENSION: d}, label=d)
        for d in names.DEPENDENCIES
    ]
    return [
        [text("# create-order: `POST /orders`\nRead top to bottom: what callers see, the function, the business, "
              "then the dependencies (DynamoDB, SQS) and the errors. The composite alarm is the stop condition "
              "of the fault-injection experiments.")],
        [{"type": "alarm", "width": GRID, "height": 3, "properties": {
            "title": "Alarms", "alarms": [f"${{{logical_id}.Arn}}" for logical_id in ALARM_IDS],
            "sortBy": "stateUpdatedTimestamp"}}],
        [text("## API Gateway: what callers see", height=1)],
        [
            graph("Requests and errors", [
                metric("AWS/ApiGateway", "Count", API, label="requests"),
                metric("AWS/ApiGateway", "4XXError", API, label="4XX"),
                metric("AWS/ApiGateway", "5XXError", API, label="5XX", color="#d62728"),
            ], width=6),
            graph("5XX and 4XX rate", [
                metric("AWS/ApiGateway", "5XXError", API, label="5XX rate", color="#d62728"),
                metric("AWS/ApiGateway", "4XXError", API, label="4XX rate"),
            ], stat="Average", width=6,
                annotations=line_at(slo.SERVER_ERROR_RATIO, f"5XX objective {slo.SERVER_ERROR_RATIO:.0%}"),
                yAxis={"left": {"min": 0, "label": "share of requests", "showUnits": False}}),
            graph("Latency (ms)", latency, stat="p99", width=6,
                  annotations=line_at(slo.LATENCY_P99_MS, f"p99 objective {slo.LATENCY_P99_MS} ms"),
                  yAxis={"left": {"min": 0}}),
            graph("Integration latency (ms)", integration, stat="p99", width=6, yAxis={"left": {"min": 0}}),
        ],
        [text(f"## The function: `{FUNCTION}`, alias `{ALIAS}` (what API Gateway invokes and a deploy shifts)",
              height=1)],
        [
            graph("Invocations, errors, throttles", [
                metric("AWS/Lambda", "Invocations", LAMBDA_ALIAS, label="invocations"),
                metric("AWS/Lambda", "Errors", LAMBDA_ALIAS, label="errors", color="#d62728"),
                metric("AWS/Lambda", "Throttles", LAMBDA_ALIAS, label="throttles", color="#ff7f0e"),
            ], width=6),
            graph("Duration (ms) against the timeout", duration, stat="p99", width=6,
                  annotations=line_at(facts.timeout_ms, f"timeout {facts.timeout_ms // 1000} s"),
                  yAxis={"left": {"min": 0}}),
            # The function's, every version's: reserved concurrency caps them together, canary and all.
            graph("Concurrent executions", [
                metric("AWS/Lambda", "ConcurrentExecutions", LAMBDA, label="concurrent executions"),
            ], stat="Maximum", width=6),
            graph("Cold starts", [
                metric(names.METRICS_NAMESPACE, "ColdStart", {"function_name": FUNCTION, **CUSTOM},
                       label="cold starts"),
            ], width=6),
        ],
        [
            insights("Init duration (ms), from REPORT lines",
                     'filter @type = "REPORT" and ispresent(@initDuration) '
                     "| stats avg(@initDuration) as avg_init_ms, max(@initDuration) as max_init_ms by bin(1m)"),
            insights(f"Max memory used (MB of {facts.memory_mb}), from REPORT lines",
                     'filter @type = "REPORT" '
                     "| stats max(@maxMemoryUsed / 1000 / 1000) as max_memory_mb, "
                     "avg(@maxMemoryUsed / 1000 / 1000) as avg_memory_mb by bin(1m)"),
        ],
        [text("## The business: orders", height=1)],
        [
            graph("Orders and repeats", [
                _custom(names.ORDERS_CREATED, label="orders created", color="#2ca02c"),
                _custom(names.DUPLICATE_REQUESTS, label="duplicates (409, re-queued)"),
                _custom(names.IDEMPOTENCY_KEY_REUSED, label="key reused (409)"),
                _custom(names.REJECTED_REQUESTS, label="rejected (4XX)"),
            ], width=6),
            graph("Order value by currency", [
                search(names.ORDER_VALUE, (names.CURRENCY_DIMENSION, "service"), "Sum", "value", "value of orders"),
                search(names.ORDER_VALUE, (names.CURRENCY_DIMENSION, "service"), "Average", "average",
                       "average order", yAxis="right"),
            ], width=6),
            graph("Lines per order", [
                _custom(names.ORDER_LINES, label="average lines", stat="Average"),
                _custom(names.ORDER_LINES, label="most lines", stat="Maximum"),
            ], width=6),
            graph("Dependency failures (500) by dependency", [
                _custom(names.DEPENDENCY_FAILURES, label="all dependencies", color="#7f7f7f"),
                *dependency_failures,
                _custom(names.ORDERS_NOT_QUEUED, label="stored, not queued", color="#9467bd"),
                _custom(names.UNHANDLED_ERRORS, label="unhandled", color="#d62728"),
            ], width=6),
        ],
        [text("## DynamoDB: the orders and products tables", height=1)],
        [
            graph("Latency of the calls the function makes (ms)", [
                _table(names.ORDERS_TABLE, "SuccessfulRequestLatency", label="orders PutItem avg"),
                _table(names.ORDERS_TABLE, "SuccessfulRequestLatency", label="orders PutItem max", stat="Maximum"),
                _table(names.PRODUCTS_TABLE, "SuccessfulRequestLatency", label="products BatchGetItem avg"),
                _table(names.PRODUCTS_TABLE, "SuccessfulRequestLatency", label="products BatchGetItem max",
                       stat="Maximum"),
            ], stat="Average", width=6),
            graph("Throttled requests", [
                _table(names.ORDERS_TABLE, "ThrottledRequests", label="orders PutItem"),
                _table(names.PRODUCTS_TABLE, "ThrottledRequests", label="products BatchGetItem"),
            ], width=6),
            graph("System and user errors", [
                _table(names.ORDERS_TABLE, "SystemErrors", label="orders PutItem system errors"),
                _table(names.PRODUCTS_TABLE, "SystemErrors", label="products BatchGetItem system errors"),
                metric("AWS/DynamoDB", "UserErrors", {}, label="user errors (account)"),
            ], width=6),
            graph("Conditional check failures (repeats of a key)", [
                metric("AWS/DynamoDB", "ConditionalCheckFailedRequests", {"TableName": TABLES[names.ORDERS_TABLE]},
                       label="orders"),
            ], width=6),
        ],
        [text("## SQS: the processing queue and its dead-letter queue", height=1)],
        [
            graph("Messages sent and received", [
                metric("AWS/SQS", "NumberOfMessagesSent", {"QueueName": QUEUE}, label="sent"),
                metric("AWS/SQS", "NumberOfMessagesReceived", {"QueueName": QUEUE}, label="received"),
            ], width=6),
            graph("Messages waiting", [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": QUEUE}, label="visible"),
            ], stat="Maximum", width=6),
            graph("Age of the oldest message (s)", [
                metric("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": QUEUE}, label="oldest"),
            ], stat="Maximum", width=6, annotations=line_at(slo.QUEUE_AGE_S, f"alarm {slo.QUEUE_AGE_S} s")),
            graph("Dead-letter queue depth", [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": DLQ}, label="in DLQ",
                       color="#d62728"),
            ], stat="Maximum", width=6, annotations=line_at(1, "alarm")),
        ],
        [text("## Errors: the function's own words", height=1)],
        [
            insights("Errors by dependency and code",
                     'filter level = "ERROR" | stats count(*) as errors by dependency, error_code '
                     "| sort errors desc | limit 20", view="table", width=8),
            insights("Latest errors",
                     "fields @timestamp, message, dependency, error_code, order_id, function_request_id "
                     '| filter level = "ERROR" | sort @timestamp desc | limit 20', view="table", width=16),
        ],
    ]  # fmt: skip


def dashboard_body(facts: Facts) -> dict[str, Any]:
    """The dashboard body, widgets laid out row by row on CloudWatch's 24-column grid."""
    widgets = []
    y = 0
    for row in _rows(facts):
        x = 0
        for widget in row:
            widgets.append({"type": widget["type"], "x": x, "y": y, **widget})
            x += widget["width"]
        if x > GRID:
            raise ValueError(f"a dashboard row is {x} columns wide, more than {GRID}")
        y += max(widget["height"] for widget in row)
    return {"start": "-PT3H", "periodOverride": "inherit", "widgets": widgets}


def body_text(body: dict[str, Any]) -> str:
    """The body as the template holds it: one widget per line, so a change reads as a one-line diff."""
    import json  # noqa: PLC0415 - only the writers need it

    head = {k: v for k, v in body.items() if k != "widgets"}
    lines = [json.dumps(w, separators=(",", ":")) for w in body["widgets"]]
    opening = json.dumps(head)[:-1] + ', "widgets": [\n'
    return opening + ",\n".join(lines) + "\n]}\n"


# ---- Alarms ----------------------------------------------------------------------------------


def _sub(value: str) -> Any:
    return {"Fn::Sub": value} if "${" in value else value


def _dimensions(dims: dict[str, str]) -> list[dict[str, Any]]:
    return [{"Name": key, "Value": _sub(value)} for key, value in dims.items()]


def _alarm(description: str, namespace: str, name: str, dims: dict[str, str], **props: Any) -> dict[str, Any]:
    properties = {
        "AlarmDescription": description,
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": _dimensions(dims),
        "Period": PERIOD,
        "TreatMissingData": "notBreaching",
        **props,
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _query(query_id: str, namespace: str, name: str, dims: dict[str, str], *, stat: str, period: int) -> dict[str, Any]:
    return {
        "Id": query_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": _dimensions(dims)},
            "Stat": stat,
            "Period": period,
        },
    }


def alarms() -> dict[str, dict[str, Any]]:
    """The alarms, keyed by logical id; the last is the composite that stands for the endpoint."""
    orders, products = names.ORDERS_TABLE, names.PRODUCTS_TABLE
    throttle_queries = [
        _query(f"{table[0].lower()}{table[1:]}", "AWS/DynamoDB", "ThrottledRequests",
               {"TableName": TABLES[table], "Operation": TABLE_OPERATIONS[table]}, stat="Sum", period=PERIOD)
        for table in (orders, products)
    ]  # fmt: skip
    resources: dict[str, dict[str, Any]] = {
        "ApiServerErrorsAlarm": _alarm(
            f"More than {slo.SERVER_ERROR_RATIO:.0%} of POST /orders answered 5XX, 3 minutes out of 5.",
            "AWS/ApiGateway", "5XXError", API, Statistic="Average", EvaluationPeriods=5, DatapointsToAlarm=3,
            Threshold=slo.SERVER_ERROR_RATIO, ComparisonOperator="GreaterThanThreshold"),
        "ApiLatencyAlarm": _alarm(
            f"p99 latency of POST /orders above {slo.LATENCY_P99_MS} ms, 3 minutes out of 5.",
            "AWS/ApiGateway", "Latency", API, ExtendedStatistic="p99", EvaluationPeriods=5, DatapointsToAlarm=3,
            Threshold=slo.LATENCY_P99_MS, ComparisonOperator="GreaterThanThreshold"),
        "FunctionErrorsAlarm": _alarm(
            "create-order failing: 5 or more function errors (crashes, timeouts) in a minute.",
            "AWS/Lambda", "Errors", LAMBDA_ALIAS, Statistic="Sum", EvaluationPeriods=1, Threshold=5,
            ComparisonOperator="GreaterThanOrEqualToThreshold"),
        "FunctionErrorRateAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": f"More than {slo.SERVER_ERROR_RATIO:.0%} of the live alias's invocations failed "
                                "(crashed, timed out, or answered 500), 2 minutes out of 3; a minute with fewer than "
                                f"{slo.MIN_INVOCATIONS_FOR_ERROR_RATE} invocations is left out. A broken canary "
                                "at low traffic fires it where a count of errors would not.",
            "Metrics": [
                _query("invocations", "AWS/Lambda", "Invocations", LAMBDA_ALIAS, stat="Sum", period=PERIOD),
                _query("crashes", "AWS/Lambda", "Errors", LAMBDA_ALIAS, stat="Sum", period=PERIOD),
                _query("failures", names.METRICS_NAMESPACE, names.DEPENDENCY_FAILURES, CUSTOM, stat="Sum",
                       period=PERIOD),
                _query("bugs", names.METRICS_NAMESPACE, names.UNHANDLED_ERRORS, CUSTOM, stat="Sum", period=PERIOD),
                {"Id": "error_rate", "Label": "share of invocations failed", "ReturnData": True,
                 "Expression": f"IF(invocations >= {slo.MIN_INVOCATIONS_FOR_ERROR_RATE}, "
                               "(FILL(crashes, 0) + FILL(failures, 0) + FILL(bugs, 0)) / invocations)"},
            ],
            "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": slo.SERVER_ERROR_RATIO,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing"}},
        "FunctionThrottlesAlarm": _alarm(
            "create-order throttled: invocations refused for lack of concurrency, 2 minutes out of 3.",
            "AWS/Lambda", "Throttles", LAMBDA_ALIAS, Statistic="Sum", EvaluationPeriods=3, DatapointsToAlarm=2,
            Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold"),
        "DeadLetterQueueAlarm": _alarm(
            "Order messages in the dead-letter queue: a consumer could not process them.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": DLQ}, Statistic="Maximum",
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold"),
        "QueueAgeAlarm": _alarm(
            f"Orders waiting in the processing queue for more than {slo.QUEUE_AGE_S} s, 3 minutes out of 5.",
            "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": QUEUE}, Statistic="Maximum",
            EvaluationPeriods=5, DatapointsToAlarm=3, Threshold=slo.QUEUE_AGE_S,
            ComparisonOperator="GreaterThanThreshold"),
        "DynamoDBThrottlesAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": "DynamoDB throttled the function's calls (5 or more a minute, 2 minutes out of 3).",
            "Metrics": [*throttle_queries, {
                "Id": "throttled", "Label": "throttled requests", "ReturnData": True,
                "Expression": " + ".join(f"FILL({q['Id']}, 0)" for q in throttle_queries)}],
            "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": 5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}},
        "NoOrdersAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": f"Requests arrive ({slo.MIN_REQUESTS_FOR_NO_ORDERS} or more invocations in "
                                "5 minutes) but no order was created.",
            "Metrics": [
                _query("invocations", "AWS/Lambda", "Invocations", LAMBDA_ALIAS, stat="Sum", period=300),
                _query("orders", names.METRICS_NAMESPACE, names.ORDERS_CREATED, CUSTOM, stat="Sum", period=300),
                {"Id": "starved", "Label": "requests without orders", "ReturnData": True,
                 "Expression": f"IF(invocations >= {slo.MIN_REQUESTS_FOR_NO_ORDERS} AND FILL(orders, 0) == 0, 1, 0)"},
            ],
            "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching"}},
    }  # fmt: skip
    rule = " OR ".join(f'ALARM("${{{logical_id}.Arn}}")' for logical_id in resources)
    resources[COMPOSITE] = {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {
        "AlarmDescription": "create-order is unhealthy: any of its alarms fires. The stop condition of the "
                            "fault-injection experiments; notifies the alarm topic.",
        "AlarmRule": {"Fn::Sub": rule},
        "AlarmActions": [{"Ref": TOPIC}],
        "OKActions": [{"Ref": TOPIC}]}}  # fmt: skip
    for logical_id, alarm in resources.items():
        alarm["Properties"] = {"AlarmName": {"Fn::Sub": alarm_name(logical_id)}, **alarm["Properties"]}
    return resources


def alarm_name(logical_id: str) -> str:
    """An alarm's name (a placeholder): the environment's, so environments sharing an account never collide."""
    return f"{PREFIX}-{logical_id}"


def watched_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm resource watches (its own, or its metric-math queries'), as CloudFormation writes them."""
    props = alarm["Properties"]
    metrics = [query["MetricStat"]["Metric"] for query in props.get("Metrics", []) if "MetricStat" in query]
    return [props, *metrics] if "MetricName" in props else metrics


ALARM_IDS = (*alarms(),)
"""Every alarm's logical id, the composite last (the dashboard's alarm widget lists them all)."""


def resources(facts: Facts) -> dict[str, dict[str, Any]]:
    """Everything ``python -m dashboards sync`` writes into the template, keyed by logical id."""
    generated: dict[str, dict[str, Any]] = {
        TOPIC: {"Type": "AWS::SNS::Topic",
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_26", "comment": TOPIC_UNENCRYPTED}]}},
            "Properties": {
                "TopicName": {"Fn::Sub": f"{PREFIX}-alarms"},
                "DisplayName": {"Fn::Sub": f"create-order {STAGE} alarms"},
                "KmsMasterKeyId": {"Fn::If": [CUSTOMER_MANAGED_KEY, {"Ref": DATA_KEY}, {"Ref": "AWS::NoValue"}]}}},
        **copy.deepcopy(alarms()),
        DASHBOARD: {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
            "DashboardName": {"Fn::Sub": PREFIX},
            "DashboardBody": {"Fn::Sub": body_text(dashboard_body(facts))}}},
    }  # fmt: skip
    return generated
