"""The dashboard and alarms: one definition (dashboards/), held to the template, AWS and the code."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

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
from tests.support.template import TEMPLATE, load_template

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
