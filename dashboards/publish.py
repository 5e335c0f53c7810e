"""Put the dashboard into an account (or the local moto) from the one definition.

The body's ``${...}`` placeholders are the template's ``Fn::Sub`` variables; here they are
resolved from a deployed stack's resources and parameters, or from the local stage's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from dashboards.definition import ALARM_IDS, DASHBOARD, Facts, body_text, dashboard_body
from harness.template import load_template, physical_name, resolve, resource

if TYPE_CHECKING:
    from collections.abc import Mapping


def _alarm_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def stack_variables(stack: str, cloudformation: Any) -> dict[str, str]:
    """The ``Fn::Sub`` variables of a deployed stack: pseudo parameters, parameters, refs, attributes."""
    [description] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    _, _, _, region, account, _ = description["StackId"].split(":", 5)
    variables = {"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": description["StackName"]}
    variables |= {p["ParameterKey"]: p.get("ResolvedValue", p["ParameterValue"]) for p in description["Parameters"]}
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            logical, physical = summary["LogicalResourceId"], summary.get("PhysicalResourceId", "")
            variables[logical] = physical
            if summary["ResourceType"] == "AWS::SQS::Queue":
                variables[f"{logical}.QueueName"] = physical.rsplit("/", 1)[-1]
            if summary["ResourceType"] in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
                variables[f"{logical}.Arn"] = _alarm_arn(region, account, physical)
    return variables


def local_variables(
    template: dict[str, Any], physical: Mapping[str, str], *, stack: str, stage: str, region: str, account: str
) -> dict[str, str]:
    """The same variables for the local stage: its resources' names, the gateway's stage name.

    Alarms are not created locally; their ARNs are written as a deployed stack's would be.
    """
    function = resource(template, "CreateOrderFunction")["Properties"]
    variables = {"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": stack, "StageName": stage}
    # Names the template gives itself, resolved with the stage's own stage name.
    named = dict(variables)
    variables |= {"CreateOrderFunction": physical_name(function["FunctionName"], named)}
    for logical, spec in template["Resources"].items():
        if spec["Type"] == "AWS::Logs::LogGroup":
            variables[logical] = physical_name(spec["Properties"]["LogGroupName"], named)
    for logical, name in physical.items():
        variables[logical] = name
        if template["Resources"].get(logical, {}).get("Type") == "AWS::SQS::Queue":  # its URL
            variables[f"{logical}.QueueName"] = name.rsplit("/", 1)[-1]
    for logical in ALARM_IDS:
        alarm = resource(template, logical)["Properties"]["AlarmName"]
        variables[f"{logical}.Arn"] = _alarm_arn(region, account, physical_name(alarm, named))
    return variables


def dashboard_name(template: dict[str, Any], variables: Mapping[str, str]) -> str:
    """The dashboard's name as the template writes it (``DashboardName``), resolved."""
    return resolve(resource(template, DASHBOARD)["Properties"]["DashboardName"]["Fn::Sub"], variables)


def resolved_body(template: dict[str, Any], variables: Mapping[str, str]) -> str:
    """The dashboard body from the definition, every placeholder resolved."""
    return resolve(body_text(dashboard_body(Facts.from_template(template))), variables)


def publish(cloudwatch: Any, template: dict[str, Any], variables: Mapping[str, str]) -> str:
    """``PutDashboard``; raises when CloudWatch answers with validation messages. The name."""
    name = dashboard_name(template, variables)
    answer = cloudwatch.put_dashboard(DashboardName=name, DashboardBody=resolved_body(template, variables))
    problems = answer.get("DashboardValidationMessages") or []
    if problems:
        raise ValueError(f"CloudWatch refused the dashboard {name}: {problems}")
    return name


def publish_stack(stack: str, *, region: str | None = None, endpoint_url: str | None = None) -> str:
    """Publish the dashboard for a deployed stack (``endpoint_url`` e.g. a local moto server)."""
    session = boto3.session.Session(region_name=region)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
    cloudwatch = session.client("cloudwatch", endpoint_url=endpoint_url)
    return publish(cloudwatch, load_template(), stack_variables(stack, cloudformation))
