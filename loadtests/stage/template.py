"""template.yaml as data: CloudFormation short-form tags become their long form.

The local stage builds its resources from this, so the template stays the one definition.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
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
def _load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A fresh copy of the template."""
    return copy.deepcopy(_load(path))


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource of the template by logical id."""
    return template["Resources"][logical_id]


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The function's environment variables, as written (intrinsics unresolved)."""
    return resource(template, FUNCTION)["Properties"]["Environment"]["Variables"]


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's default value."""
    return {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
