"""template.yaml as data: CloudFormation short-form tags become their long form."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FUNCTION = "CreateOrderFunction"
ROLE = "CreateOrderFunctionRole"


class _CloudFormationLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@cache
def _load() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def load_template() -> dict[str, Any]:
    """A fresh copy of the template."""
    import copy

    return copy.deepcopy(_load())


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    return resource(template, FUNCTION)["Properties"]["Environment"]["Variables"]


def _logical_id(reference: Any) -> str:
    if reference == "*":
        return "*"
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return reference["Fn::GetAtt"][0]
    if isinstance(reference, dict) and "Ref" in reference:
        return reference["Ref"]
    raise AssertionError(f"unexpected IAM resource {reference!r}")


def iam_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = resource(template, ROLE)["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def iam_actions_by_resource(template: dict[str, Any]) -> dict[str, set[str]]:
    """Allowed actions of the function's role, keyed by the logical id they are scoped to."""
    allowed: dict[str, set[str]] = {}
    for statement in iam_statements(template):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for target in resources:
            allowed.setdefault(_logical_id(target), set()).update(actions)
    return allowed
