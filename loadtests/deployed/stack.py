"""A deployed stack, as the runner knows it: its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import boto3
from botocore.exceptions import ClientError

from loadtests.deployed.errors import DeployedInputError


@dataclass(frozen=True)
class Stack:
    """A CloudFormation stack's name, outputs (``ApiUrl``, ``UserPoolId``, ``OrdersTableName``...) and parameters."""

    name: str
    outputs: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)
    """The parameters it was deployed with (``StageName``...)."""

    @classmethod
    def describe(cls, name: str) -> Stack:
        """The stack's outputs, read with the operator's credentials; refused when there is no such stack."""
        cloudformation = boto3.client("cloudformation")
        try:
            [description] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationError":
                raise
            region = cloudformation.meta.region_name
            raise DeployedInputError(f"no stack {name!r} in {region}: {exc.response['Error']['Message']}") from exc
        outputs = {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in description.get("Parameters", [])}
        return cls(name, outputs, parameters)

    def output(self, key: str) -> str:
        """One output, refused when the stack does not have it."""
        if key not in self.outputs:
            have = ", ".join(sorted(self.outputs)) or "none"
            raise DeployedInputError(f"stack {self.name!r} has no output {key} (its outputs: {have})")
        return self.outputs[key]

    @property
    def host(self) -> str:
        """Locust's host: the API's stage URL, without the ``/orders`` route."""
        return self.output("ApiUrl").removesuffix("/").removesuffix("/orders")
