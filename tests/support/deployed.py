"""Playing a deployed account with the local stage: a CloudFormation stack in moto naming its parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from localstage.local import LocalStage

ROOT = Path(__file__).resolve().parents[2]


def stack_outputs(stage: LocalStage) -> dict[str, str]:
    """The outputs a deployed stack of template.yaml has, pointing at the stage's parts."""
    info = stage.describe()
    return {
        "ApiUrl": info["orders_url"],
        "UserPoolId": info["user_pool_id"],
        "UserPoolClientId": info["client_id"],
        "OrdersTableName": info["physical"]["OrdersTable"],
        "ProductsTableName": info["physical"]["ProductsTable"],
    }


def fake_stack(name: str, outputs: dict[str, str]) -> None:
    """A stack in moto's CloudFormation with these outputs, as ``sam deploy`` leaves one."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def customer_ids_in_pool(pool_id: str) -> set[str]:
    """The ``custom:customer_id`` of every user in the pool."""
    pages = boto3.client("cognito-idp").get_paginator("list_users").paginate(UserPoolId=pool_id)
    return {
        attribute["Value"]
        for page in pages
        for user in page["Users"]
        for attribute in user["Attributes"]
        if attribute["Name"] == "custom:customer_id"
    }


def orders_by_customer(table: str) -> dict[str, str]:
    """Every order of the table: its id and its customer id."""
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return {item["id"]["S"]: item["customer_id"]["S"] for page in pages for item in page["Items"]}


def remote(stage: LocalStage, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m loadtests.deployed ARGUMENTS`` as an operator runs it, with the account's credentials."""
    return subprocess.run(
        [sys.executable, "-m", "loadtests.deployed", *arguments],
        cwd=ROOT,
        env={**os.environ, **stage.describe()["aws_env"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """What a failed assertion on a run should show: the ends of its output."""
    return result.stdout[-4000:] + result.stderr[-4000:]
