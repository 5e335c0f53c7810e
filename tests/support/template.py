"""template.yaml as data for tests (the loader is the local stage's own)."""

from __future__ import annotations

import copy
from functools import cache
from typing import TYPE_CHECKING, Any

from samtranslator.translator.transform import transform

from harness.cloudformation import deployed
from harness.template import (
    FUNCTION,
    ROLE,
    TEMPLATE,
    function_environment,
    load_template,
    resource,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FUNCTION",
    "ROLE",
    "TEMPLATE",
    "function_environment",
    "iam_actions_by_resource",
    "iam_statements",
    "load_template",
    "resource",
    "transformed",
]


def _logical_id(reference: Any) -> str:
    if reference == "*":
        return "*"
    if isinstance(reference, dict) and "Fn::GetAtt" in reference:
        return reference["Fn::GetAtt"][0]
    if isinstance(reference, dict) and "Ref" in reference:
        return reference["Ref"]
    raise AssertionError(f"unexpected IAM resource {reference!r}")


def iam_statements(template: dict[str, Any], parameters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The function role's statements as deployed with ``parameters`` (the template's defaults for the rest)."""
    policies = resource(deployed(template, dict(parameters or {})), ROLE)["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def iam_actions_by_resource(
    template: dict[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, set[str]]:
    """Allowed actions of the function's role, keyed by the logical id they are scoped to."""
    allowed: dict[str, set[str]] = {}
    for statement in iam_statements(template, parameters):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for target in targets:
            allowed.setdefault(_logical_id(target), set()).update(actions)
    return allowed


class _NoManagedPolicies:
    """The translator's policy loader, offline: the template names no managed policy."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def _transformed(parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    template = load_template()
    # As `sam package` leaves it: each function's code uploaded, its CodeUri pointing at the object.
    for logical_id, spec in template["Resources"].items():
        if spec["Type"] == "AWS::Serverless::Function":
            spec["Properties"]["CodeUri"] = f"s3://artifacts/{logical_id}.zip"
    return transform(template, dict(parameters), _NoManagedPolicies())  # type: ignore[arg-type]


def transformed(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The template after the SAM transform, offline, with these parameter values (defaults for the rest)."""
    return copy.deepcopy(_transformed(tuple(sorted((parameters or {}).items()))))
