"""The dashboard and alarms: one definition (dashboards/), held to the template, AWS and the code."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from create_order import names
from dashboards import definition
from dashboards import template as generated
from dashboards.publish import publish, stack_variables
from harness import slo
from harness.template import UnresolvedError, resolve
from loadtests.run import load_arguments
from tests.support import cloudwatch_metrics as catalog
from tests.support.cloudwatch_body import validate_body
from tests.support.template import FUNCTION, TEMPLATE, function_environment, iam_actions_by_resource, load_template

PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::StackName"}
ATTRIBUTES = {
    "AWS::SQS::Queue": {"QueueName", "Arn"},
    "AWS::CloudWatch::Alarm": {"Arn"},
    "AWS::CloudWatch::CompositeAlarm": {"Arn"},
}
STACK_ID = "arn:aws:cloudformation:eu-west-1:210987654321:stack/orders-prod/0f6c"


def body() -> dict:
    return definition.dashboard_body(definition.Facts.from_template(load_template()))


def test_the_template_holds_exactly_what_the_definition_generates() -> None:
    assert not generated.drift(), "template.yaml has drifted: run `python -m dashboards sync`"


def test_a_metric_renamed_in_the_function_only_is_drift(monkeypatch) -> None:
    # Given the function's metric is renamed and the template is not regenerated
    monkeypatch.setattr(names, "ORDERS_CREATED", "OrdersMade")
    # Then the template no longer matches
    assert generated.drift()


def test_a_hand_edit_inside_the_generated_block_is_drift(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, copy)
    text = copy.read_text()
    copy.write_text(text.replace("Threshold: 0.01", "Threshold: 0.05", 1))
    assert generated.drift(copy)


def test_sync_rewrites_a_drifted_template_and_then_is_still(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, copy)
    copy.write_text(copy.read_text().replace("EvaluationPeriods: 5", "EvaluationPeriods: 9"))
    assert generated.sync(copy)
    assert copy.read_text() == TEMPLATE.read_text()
    assert not generated.sync(copy)


def test_the_dashboard_body_is_valid_as_cloudwatch_defines_it() -> None:
    assert validate_body(body()) == []


def test_every_aws_metric_an_alarm_watches_is_one_aws_publishes() -> None:
    for logical_id, spec in definition.alarms().items():
        for metric in definition.watched_metrics(spec):
            if metric["Namespace"].startswith("AWS/"):
                dims = frozenset(d["Name"] for d in metric["Dimensions"])
                problem = catalog.problems_with_metric(metric["Namespace"], metric["MetricName"], dims)
                assert problem is None, f"{logical_id}: {problem}"


def test_every_placeholder_names_a_parameter_resource_or_attribute_of_the_template() -> None:
    template = load_template()
    resources = template["Resources"]
    text = json.dumps(body()) + json.dumps(definition.resources(definition.Facts.from_template(template)))
    for placeholder in set(re.findall(r"\$\{([^}!]+)\}", text)):
        logical, _, attribute = placeholder.partition(".")
        if placeholder in PSEUDO or placeholder in template["Parameters"]:
            continue
        assert logical in resources, f"${{{placeholder}}} names nothing in the template"
        if attribute:
            assert attribute in ATTRIBUTES.get(resources[logical]["Type"], set()), placeholder


def test_the_api_is_named_as_the_dashboard_and_alarms_expect() -> None:
    api = load_template()["Resources"]["OrdersApi"]["Properties"]
    assert api["Name"] == {"Fn::Sub": definition.API_NAME}


def test_the_composite_alarm_watches_every_alarm_and_stops_every_experiment() -> None:
    template = load_template()
    rule = template["Resources"][definition.COMPOSITE]["Properties"]["AlarmRule"]["Fn::Sub"]
    alarms = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(re.findall(r'ALARM\("\$\{(\w+)\.Arn\}"\)', rule)) == alarms
    experiments = [v for v in template["Resources"].values() if v["Type"] == "AWS::FIS::ExperimentTemplate"]
    assert experiments
    for experiment in experiments:
        [stop] = experiment["Properties"]["StopConditions"]
        assert stop["Value"] == {"Fn::GetAtt": [definition.COMPOSITE, "Arn"]}


def test_alarms_and_locust_gate_read_the_same_objectives() -> None:
    resources = load_template()["Resources"]
    assert resources["ApiLatencyAlarm"]["Properties"]["Threshold"] == slo.LATENCY_P99_MS
    assert resources["ApiServerErrorsAlarm"]["Properties"]["Threshold"] == slo.SERVER_ERROR_RATIO
    assert resources["QueueAgeAlarm"]["Properties"]["Threshold"] == slo.QUEUE_AGE_S
    gate = load_arguments("", "60s", 20).parse_args([])
    assert (gate.slo_p95_ms, gate.slo_error_ratio) == (slo.LATENCY_P95_MS, slo.SERVER_ERROR_RATIO)


# ---- What each alarm means -------------------------------------------------------------------
# The snapshot above holds the template to the definition, whatever the definition says. These
# hold the definition to what its alarms are named for, with every expected resource read from the
# hand-written part of template.yaml (the API that invokes the function, the function and its
# alias, the queue it sends to and that queue's dead-letter queue, the tables its role may call)
# and every threshold from harness/slo.py: nothing is taken from dashboards/definition.py.


def _sub_text(value: Any) -> str:
    """A name as the ``Fn::Sub`` text that stands for it: a literal, an ``Fn::Sub``, a ``Ref`` or a ``GetAtt``."""
    if isinstance(value, str):
        return value
    [(kind, argument)] = value.items()
    if kind == "Fn::Sub":
        return str(argument)
    if kind == "Ref":
        return f"${{{argument}}}"
    if kind == "Fn::GetAtt":
        logical, attribute = argument
        return f"${{{logical}.{attribute}}}"
    raise AssertionError(f"not a name: {value!r}")


def _ref(value: dict[str, Any]) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names."""
    return str(value["Ref"]) if "Ref" in value else str(value["Fn::GetAtt"][0])


@dataclass(frozen=True)
class _Watched:
    """The metric dimensions of what the endpoint runs on, read from template.yaml's own resources."""

    api: dict[str, str]
    function: dict[str, str]
    alias: dict[str, str]
    queue: dict[str, str]
    dead_letter_queue: dict[str, str]
    table_calls: set[tuple[str, str]]
    """(TableName, Operation) of every DynamoDB call the function's role allows."""
    custom_namespace: str
    service: dict[str, str]

    @classmethod
    def from_template(cls) -> _Watched:
        template = load_template()
        resources = template["Resources"]
        function = resources[FUNCTION]["Properties"]
        [event] = (e for e in function["Events"].values() if e["Type"] == "Api")
        api = resources[_ref(event["Properties"]["RestApiId"])]["Properties"]
        name = _sub_text(function["FunctionName"])
        environment = function_environment(template)
        queue = _ref(environment["PROCESSING_QUEUE_URL"])
        dead_letter = _ref(resources[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        calls = {
            (f"${{{logical}}}", action.removeprefix("dynamodb:"))
            for logical, actions in iam_actions_by_resource(template).items()
            for action in actions
            if action.startswith("dynamodb:")
        }
        return cls(
            # API Gateway's metrics name a REST API by its name and stage
            api={"ApiName": _sub_text(api["Name"]), "Stage": _sub_text(api["StageName"])},
            function={"FunctionName": name},
            # the alias the API invokes (SAM points the Api event at AutoPublishAlias): what a deploy shifts
            alias={"FunctionName": name, "Resource": f"{name}:{function['AutoPublishAlias']}"},
            queue={"QueueName": f"${{{queue}.QueueName}}"},
            dead_letter_queue={"QueueName": f"${{{dead_letter}.QueueName}}"},
            table_calls=calls,
            custom_namespace=environment["POWERTOOLS_METRICS_NAMESPACE"],
            service={"service": environment["POWERTOOLS_SERVICE_NAME"]},  # Powertools' default dimension
        )


def _watches(metric: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(namespace, metric, dimensions) of an alarm or a query's ``Metric``, dimension values as ``Fn::Sub`` text."""
    dimensions = {d["Name"]: _sub_text(d["Value"]) for d in metric.get("Dimensions", [])}
    return metric["Namespace"], metric["MetricName"], dimensions


def _queries(alarm: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, str]]]:
    """A metric-math alarm's metric queries by id, each as :func:`_watches` reads it."""
    return {q["Id"]: _watches(q["MetricStat"]["Metric"]) for q in alarm["Properties"]["Metrics"] if "MetricStat" in q}


def _expression(alarm: dict[str, Any]) -> str:
    [returned] = [q for q in alarm["Properties"]["Metrics"] if q.get("ReturnData")]
    return str(returned["Expression"])


WATCHED = _Watched.from_template()
SINGLE_METRIC = {
    "ApiServerErrorsAlarm": ("AWS/ApiGateway", "5XXError", WATCHED.api),
    "ApiLatencyAlarm": ("AWS/ApiGateway", "Latency", WATCHED.api),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors", WATCHED.alias),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles", WATCHED.alias),
    "DeadLetterQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", WATCHED.dead_letter_queue),
    "QueueAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", WATCHED.queue),
}
"""What each one-metric alarm is named for: (namespace, metric, the dimensions of the resource)."""


@pytest.mark.parametrize("logical_id", sorted(SINGLE_METRIC))
def test_each_alarm_watches_the_resource_it_is_named_for(logical_id: str) -> None:
    alarm = definition.alarms()[logical_id]

    assert _watches(alarm["Properties"]) == SINGLE_METRIC[logical_id]


def test_the_dead_letter_alarm_watches_the_queue_the_processing_queue_redrives_to_not_that_queue() -> None:
    watched = _watches(definition.alarms()["DeadLetterQueueAlarm"]["Properties"])

    assert watched[2] == WATCHED.dead_letter_queue
    assert WATCHED.dead_letter_queue != WATCHED.queue


def test_the_dynamodb_alarm_adds_up_every_call_the_role_allows_and_nothing_else() -> None:
    alarm = definition.alarms()["DynamoDBThrottlesAlarm"]
    queries = _queries(alarm)

    assert {(ns, name) for ns, name, _ in queries.values()} == {("AWS/DynamoDB", "ThrottledRequests")}
    assert {(dims["TableName"], dims["Operation"]) for _, _, dims in queries.values()} == WATCHED.table_calls
    assert len(queries) == len(WATCHED.table_calls)
    expression = _expression(alarm)
    assert all(re.search(rf"\b{query_id}\b", expression) for query_id in queries), expression  # each one counted
    assert expression.count("+") == len(queries) - 1  # added up


def test_the_no_orders_alarm_compares_the_alias_invocations_with_the_functions_orders() -> None:
    alarm = definition.alarms()["NoOrdersAlarm"]
    watched = sorted(_queries(alarm).values())

    assert watched == sorted([
        ("AWS/Lambda", "Invocations", WATCHED.alias),
        (WATCHED.custom_namespace, names.ORDERS_CREATED, WATCHED.service),
    ])  # fmt: skip
    assert re.search(rf"\b{slo.MIN_REQUESTS_FOR_NO_ORDERS}\b", _expression(alarm))


def test_each_alarm_fires_at_its_objective_on_the_statistic_it_names() -> None:
    alarms = {logical_id: alarm["Properties"] for logical_id, alarm in definition.alarms().items()}
    errors, latency, age, dead = (alarms[a] for a in ("ApiServerErrorsAlarm", "ApiLatencyAlarm", "QueueAgeAlarm",
                                                      "DeadLetterQueueAlarm"))  # fmt: skip

    # 5XXError's average is the share of requests answered 5XX
    assert (errors["Statistic"], errors["Threshold"], errors["ComparisonOperator"]) == (
        "Average", slo.SERVER_ERROR_RATIO, "GreaterThanThreshold")  # fmt: skip
    assert (latency["ExtendedStatistic"], latency["Threshold"], latency["ComparisonOperator"]) == (
        "p99", slo.LATENCY_P99_MS, "GreaterThanThreshold")  # fmt: skip
    assert (age["Statistic"], age["Threshold"], age["ComparisonOperator"]) == (
        "Maximum", slo.QUEUE_AGE_S, "GreaterThanThreshold")  # fmt: skip
    # one message in the dead-letter queue is enough
    assert (dead["Statistic"], dead["Threshold"], dead["ComparisonOperator"]) == (
        "Maximum", 1, "GreaterThanOrEqualToThreshold")  # fmt: skip


WINDOW = re.compile(r"(\d+) minutes out of (\d+)|in (\d+) minutes|in a minute")
"""How a description names the window an alarm evaluates: N minutes out of M, in N minutes, in a minute."""


def _windowed() -> list[str]:
    alarms = definition.alarms()
    described = [a for a in definition.ALARM_IDS if WINDOW.search(alarms[a]["Properties"]["AlarmDescription"])]
    # all but the dead-letter alarm (any message, at once) and the composite (any alarm)
    assert set(definition.ALARM_IDS) - set(described) == {"DeadLetterQueueAlarm", definition.COMPOSITE}
    return described


@pytest.mark.parametrize("logical_id", _windowed())
def test_an_alarm_evaluates_over_the_minutes_its_description_says(logical_id: str) -> None:
    props = definition.alarms()[logical_id]["Properties"]
    periods = {props["Period"]} if "Period" in props else {q["MetricStat"]["Period"] for q in props["Metrics"]
                                                          if "MetricStat" in q}  # fmt: skip
    window = WINDOW.search(props["AlarmDescription"])
    assert window is not None
    out_of, minutes = window.group(1, 2), window.group(3)
    if out_of[0]:
        assert periods == {60}
        assert (props["DatapointsToAlarm"], props["EvaluationPeriods"]) == tuple(map(int, out_of))
    else:
        assert periods == {60 * int(minutes or 1)}
        assert props["EvaluationPeriods"] == 1


def test_the_dashboard_draws_the_templates_resources_and_the_dead_letter_queue_only_where_it_says_so() -> None:
    sqs: dict[str, set[str]] = {}
    for widget in body()["widgets"]:
        if widget["type"] != "metric":
            continue
        title = widget["properties"]["title"]
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                continue  # an expression (SEARCH) line
            namespace, _, *rest = [item for item in line if not isinstance(item, dict)]
            dims = dict(zip(rest[::2], rest[1::2], strict=True))
            if namespace == "AWS/ApiGateway":
                assert dims == WATCHED.api, title
            elif namespace == "AWS/Lambda":
                assert dims in (WATCHED.function, WATCHED.alias), title
            elif namespace == "AWS/SQS":
                sqs.setdefault(dims["QueueName"], set()).add(title)
            elif namespace == "AWS/DynamoDB" and "Operation" in dims:
                assert (dims["TableName"], dims["Operation"]) in WATCHED.table_calls, title
    dead_letter_titles = sqs.pop(WATCHED.dead_letter_queue["QueueName"])
    assert all("dead-letter" in title.lower() for title in dead_letter_titles)
    assert set(sqs) == {WATCHED.queue["QueueName"]}
    assert not any("dead-letter" in title.lower() for title in sqs[WATCHED.queue["QueueName"]])


def test_resolve_refuses_a_placeholder_it_has_no_value_for() -> None:
    with pytest.raises(UnresolvedError, match="OrdersTable"):
        resolve("${AWS::Region} ${OrdersTable}", {"AWS::Region": "eu-west-1"})
    assert resolve("${!Literal} ${A}", {"A": "a"}) == "${Literal} a"


def _stubbed_stack() -> tuple[object, Stubber]:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    stubber = Stubber(cloudformation)
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{"StackId": STACK_ID, "StackName": "orders-prod", "CreationTime": "2026-01-01T00:00:00Z",
                     "StackStatus": "CREATE_COMPLETE", "Parameters": [
                         {"ParameterKey": "StageName", "ParameterValue": "prod"}]}]},
        {"StackName": "orders-prod"},
    )  # fmt: skip
    # Names as the template gives them for StageName=prod (a queue's physical id is its URL).
    physical = {
        "CreateOrderFunction": ("AWS::Lambda::Function", "order-processing-create-order-prod"),
        "CreateOrderLogGroup": ("AWS::Logs::LogGroup", "/aws/lambda/order-processing-create-order-prod"),
        "OrdersTable": ("AWS::DynamoDB::Table", "create-order-prod-orders"),
        "ProductsTable": ("AWS::DynamoDB::Table", "create-order-prod-products"),
        "ProcessingQueue": ("AWS::SQS::Queue",
                            "https://sqs.eu-west-1.amazonaws.com/210987654321/create-order-prod-processing"),
        "ProcessingDLQ": ("AWS::SQS::Queue",
                          "https://sqs.eu-west-1.amazonaws.com/210987654321/create-order-prod-processing-dlq"),
        **{alarm: ("AWS::CloudWatch::Alarm", f"create-order-prod-{alarm}") for alarm in definition.ALARM_IDS},
        definition.COMPOSITE: ("AWS::CloudWatch::CompositeAlarm", "create-order-prod-EndpointHealthAlarm"),
    }  # fmt: skip
    summaries = [
        {"LogicalResourceId": logical, "PhysicalResourceId": name, "ResourceType": kind,
         "LastUpdatedTimestamp": "2026-01-01T00:00:00Z", "ResourceStatus": "CREATE_COMPLETE"}
        for logical, (kind, name) in physical.items()
    ]  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": "orders-prod"})
    return cloudformation, stubber


def test_publish_puts_the_dashboard_with_the_stacks_own_names() -> None:
    # Given a deployed stack's resources (CloudFormation stubbed) and CloudWatch (moto)
    cloudformation, stubber = _stubbed_stack()
    with stubber, mock_aws():
        variables = stack_variables("orders-prod", cloudformation)
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
        # When the dashboard is published
        name = publish(cloudwatch, load_template(), variables)
        stored = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    # Then it carries the stack's names, and no placeholder is left
    assert name == "create-order-prod"
    text = json.dumps(stored)
    assert "${" not in text
    assert '"create-order-prod-orders"' in text
    assert '"create-order-prod-processing"' in text
    assert '"ApiName", "create-order-prod-orders", "Stage", "prod"' in text
    assert "SOURCE '/aws/lambda/order-processing-create-order-prod'" in text
    assert '"Resource", "order-processing-create-order-prod:live"' in text  # the function's row reads the alias
    assert "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:create-order-prod-EndpointHealthAlarm" in text
    assert "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:create-order-prod-ApiLatencyAlarm" in text
    assert [w["type"] for w in stored["widgets"]] == [w["type"] for w in body()["widgets"]]
