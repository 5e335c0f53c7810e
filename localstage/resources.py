"""The stage's AWS resources, created in moto from template.yaml, and seeded (``harness/seed.py``).

Every resource type in the template is either created here or named in ``NOT_LOCAL`` with
the part of the stage that stands in for it; a new type fails the stage's tests until it is
handled, so the template stays the single definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from harness.cloudformation import deployed
from harness.seed import CATALOG, create_customer, product_item
from harness.template import function_environment, parameter_defaults, resources_of_type
from localstage.backend import ACCOUNT, REGION
from localstage.gateway import STAGE_NAME

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType

NOT_LOCAL = {
    "AWS::Serverless::Api": "the stage's API Gateway front (gateway.py)",
    "AWS::Serverless::Function": "the stage's Lambda-like workers (workers.py)",
    "AWS::IAM::Role": "no IAM locally; tests/unit/test_iam_contract.py holds the role to the code",
    "AWS::IAM::Policy": "no IAM locally (the FIS extension's S3 read policy)",
    "AWS::S3::Bucket": "the FIS configuration bucket: no FIS locally, chaos/ injects faults instead",
    "AWS::FIS::ExperimentTemplate": "fault injection on a deployed stack; locally chaos/ injects faults",
    "AWS::CloudWatch::Alarm": "alarms act on a deployed stack only",
    "AWS::CloudWatch::CompositeAlarm": "alarms act on a deployed stack only",
    "AWS::SNS::Topic": "the alarm topic: alarms act on a deployed stack only",
    "AWS::SNS::Subscription": "the alarm topic's subscriber: alarms act on a deployed stack only",
    "AWS::KMS::Key": "the CustomerManagedKey knob: moto's tables and queues are not encrypted (knobs.NOT_EMULATED)",
    "AWS::KMS::Alias": "the CustomerManagedKey knob's alias: no key locally",
}
CREATED = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Dashboard",
)
PASSWORD = "Local-Stage-Pa55word!"  # noqa: S105 - a throw-away password for local users only


@dataclass
class StageResources:
    """Names and ids of what the stage created, keyed by template logical id."""

    physical: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    user_pool_id: str = ""
    client_id: str = ""
    customers: list[dict[str, str]] = field(default_factory=list)
    admin: dict[str, str] = field(default_factory=dict)
    function_env: dict[str, str] = field(default_factory=dict)
    dashboard: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    """The template's ``Fn::Sub`` variables as the stage resolves them (the local dashboard uses them)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (written to the run folder for the load test and the audit)."""
        return {
            "physical": self.physical,
            "user_pool_id": self.user_pool_id,
            "client_id": self.client_id,
            "customers": self.customers,
            "admin": self.admin,
            "function_env": self.function_env,
            "dashboard": self.dashboard,
            "variables": self.variables,
            "catalog": {k: {"price": p, "currency": c, "active": a} for k, (p, c, a) in CATALOG.items()},
        }


def create_resources(
    template: dict[str, Any], prefix: str = "create-order-local", parameters: dict[str, str] | None = None
) -> StageResources:
    """Create every resource of the types in ``CREATED`` as the template declares it.

    ``parameters`` override the template's defaults (e.g. an environment's values).
    """
    unknown = {r["Type"] for r in template["Resources"].values()} - set(CREATED) - set(NOT_LOCAL)
    if unknown:
        raise ValueError(f"the local stage does not know how to stand up {sorted(unknown)}")
    created = StageResources()
    # The data stores as these values deploy them (a queue's encryption is the key knob's choice).
    stores = deployed(template, parameters or {})
    _create_tables(stores, prefix, created)
    _create_queues(stores, prefix, created)
    _create_cognito(template, prefix, created)
    created.variables = _variables(template, prefix, created)
    _create_log_groups(template, created.variables)
    created.function_env = _function_env(template, created, parameters or {})
    created.dashboard = _create_dashboard(template, created)
    return created


def _create_tables(template: dict[str, Any], prefix: str, created: StageResources) -> None:
    dynamodb = boto3.client("dynamodb")
    for logical_id, spec in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = spec["Properties"]
        name = f"{prefix}-{logical_id}"
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            SSESpecification={"Enabled": bool(props.get("SSESpecification", {}).get("SSEEnabled", False))},
        )
        created.physical[logical_id] = name


_QUEUE_ATTRIBUTES: tuple[QueueAttributeNameType, ...] = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "SqsManagedSseEnabled",
    "DelaySeconds",
)
"""The queue's properties in the template that are also its attributes, as written."""


def _create_queues(template: dict[str, Any], prefix: str, created: StageResources) -> None:
    sqs = boto3.client("sqs")
    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its target by ARN.
    ordered = sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid]["Properties"])
    for logical_id in ordered:
        props = queues[logical_id]["Properties"]
        attributes: dict[QueueAttributeNameType, str] = {
            key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
            for key in _QUEUE_ATTRIBUTES
            if key in props
        }
        if "RedrivePolicy" in props:
            policy = props["RedrivePolicy"]
            target = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": created.queue_arns[target],
                    "maxReceiveCount": policy["maxReceiveCount"],
                }
            )
        name = f"{prefix}-{logical_id}" + (".fifo" if props.get("FifoQueue") else "")
        if props.get("FifoQueue"):
            attributes["FifoQueue"] = "true"
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        created.physical[logical_id] = url
        created.queue_arns[logical_id] = arn


def _create_cognito(template: dict[str, Any], prefix: str, created: StageResources) -> None:
    cognito = boto3.client("cognito-idp")
    [(pool_id, pool)] = resources_of_type(template, "AWS::Cognito::UserPool").items()
    props = pool["Properties"]
    created.user_pool_id = cognito.create_user_pool(
        PoolName=f"{prefix}-{pool_id}",
        Schema=props.get("Schema", []),
        UsernameAttributes=props.get("UsernameAttributes", []),
        AutoVerifiedAttributes=props.get("AutoVerifiedAttributes", []),
        Policies=props.get("Policies", {}),
    )["UserPool"]["Id"]
    created.physical[pool_id] = created.user_pool_id
    for client_id, client in resources_of_type(template, "AWS::Cognito::UserPoolClient").items():
        props = client["Properties"]
        created.client_id = cognito.create_user_pool_client(
            UserPoolId=created.user_pool_id,
            ClientName=f"{prefix}-{client_id}",
            GenerateSecret=props.get("GenerateSecret", False),
            ExplicitAuthFlows=props["ExplicitAuthFlows"],
            ReadAttributes=props.get("ReadAttributes", []),
            WriteAttributes=props.get("WriteAttributes", []),
        )["UserPoolClient"]["ClientId"]
        created.physical[client_id] = created.client_id
    for group_id, group in resources_of_type(template, "AWS::Cognito::UserPoolGroup").items():
        name = group["Properties"]["GroupName"]
        cognito.create_group(UserPoolId=created.user_pool_id, GroupName=name)
        created.physical[group_id] = name


def _variables(template: dict[str, Any], prefix: str, created: StageResources) -> dict[str, str]:
    # The template's names resolved with the stage's own stage name, as a deploy resolves them with its environment.
    from dashboards.publish import local_variables  # noqa: PLC0415 - keeps the stage's import light

    return local_variables(template, created.physical, stack=prefix, stage=STAGE_NAME, region=REGION, account=ACCOUNT)


def _create_dashboard(template: dict[str, Any], created: StageResources) -> str:
    # The same publish path as for a deployed stack, into moto's CloudWatch.
    from dashboards.publish import publish  # noqa: PLC0415 - keeps the stage's import light

    return publish(boto3.client("cloudwatch"), template, created.variables)


def _create_log_groups(template: dict[str, Any], variables: dict[str, str]) -> None:
    logs = boto3.client("logs")
    for logical_id in resources_of_type(template, "AWS::Logs::LogGroup"):
        logs.create_log_group(logGroupName=variables[logical_id])


def _function_env(template: dict[str, Any], created: StageResources, parameters: dict[str, str]) -> dict[str, str]:
    defaults = parameter_defaults(template) | parameters
    env: dict[str, str] = {}
    for name, value in function_environment(template).items():
        if isinstance(value, dict) and "Fn::If" in value:
            continue  # conditional settings (the FIS extension's) are for deployed stacks only
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            env[name] = str(created.physical[ref] if ref in created.physical else defaults[ref])
        else:
            env[name] = str(value)
    return env


def seed(created: StageResources, *, customers: int = 100) -> None:
    """Fill the catalog and create the Cognito users: ``customers`` customers and one admin."""
    dynamodb = boto3.client("dynamodb")
    table = created.physical["ProductsTable"]
    for product_id, (price, currency, active) in CATALOG.items():
        dynamodb.put_item(TableName=table, Item=product_item(product_id, price, currency, active))
    cognito = boto3.client("cognito-idp")
    for n in range(customers):
        created.customers.append(_user(cognito, created, f"customer{n:03d}@example.com", f"cust-{n:03d}"))
    created.admin = _user(cognito, created, "admin@example.com", "admin-000")
    cognito.admin_add_user_to_group(
        UserPoolId=created.user_pool_id, Username=created.admin["username"], GroupName=created.physical["AdminsGroup"]
    )


def _user(cognito: Any, created: StageResources, email: str, customer_id: str) -> dict[str, str]:
    return create_customer(cognito, created.user_pool_id, email, PASSWORD, customer_id)
