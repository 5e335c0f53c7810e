"""template.yaml as data: CloudFormation short-form tags become their long form.

The local stage builds its resources from this, so the template stays the one definition.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from harness.cloudformation import broken_rules

if TYPE_CHECKING:
    from collections.abc import Mapping

ROOT = Path(__file__).resolve().parents[1]
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
        # YAML has three kinds of node: what is neither a scalar nor a sequence is a mapping.
        value = loader.construct_mapping(cast("yaml.MappingNode", node), deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@cache
def _load(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    return template


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A fresh copy of the template."""
    return copy.deepcopy(_load(path))


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """One resource of the template by logical id."""
    found: dict[str, Any] = template["Resources"][logical_id]
    return found


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    """The function's environment variables, as written (intrinsics unresolved)."""
    variables: dict[str, Any] = resource(template, FUNCTION)["Properties"]["Environment"]["Variables"]
    return variables


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's default value."""
    return {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}


_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvedError(KeyError):
    """A placeholder has no value: the template and its reader disagree on a name."""


def resolve(text: str, variables: Mapping[str, str]) -> str:
    """``Fn::Sub`` semantics: replace every ``${Name}`` and ``${Name.Attr}``; ``${!x}`` stays ``${x}``."""
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in variables})
    if missing:
        raise UnresolvedError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], text).replace("${!", "${")


def physical_name(value: str | dict[str, Any], variables: Mapping[str, str]) -> str:
    """A name property as a deploy would give it: a literal, or an ``Fn::Sub`` string resolved with ``variables``."""
    if isinstance(value, str):
        return value
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return resolve(value["Fn::Sub"], variables)
    raise ValueError(f"a name the stage cannot resolve: {value!r}")


def parameter_problems(template: dict[str, Any], values: Mapping[str, str]) -> list[str]:
    """What CloudFormation would refuse in these parameter values, one line each; empty when it takes them all.

    An unknown name, a Number that is not one or is out of ``MinValue``/``MaxValue``, a value
    outside ``AllowedValues`` or not wholly matching ``AllowedPattern``; then, the values each
    accepted, every assertion of the template's ``Rules`` they break together. (cfn-lint does not check
    the values it is given, and ``sam deploy`` would find out only in the account.)
    """
    declared = template.get("Parameters", {})
    problems = [f"{name} is not a parameter of the template" for name in sorted(set(values) - set(declared))]
    for name, spec in declared.items():
        if name not in values:
            continue
        value = values[name]
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}={value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{name}={value} is under its MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{name}={value} is over its MaxValue {spec['MaxValue']}")
        if "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
            problems.append(f"{name}={value!r} is not one of its AllowedValues")
        if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
            problems.append(f"{name}={value!r} does not match its AllowedPattern {spec['AllowedPattern']}")
    if problems:
        return problems
    # Values each accepted: the template's Rules judge them together (SnapStart without provisioned concurrency).
    return [f"rule {broken}" for broken in broken_rules(template, dict(values))]
