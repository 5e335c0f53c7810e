"""A transformed template as CloudFormation would deploy it with given parameter values.

Conditions are evaluated (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``
over parameter values), resources and outputs whose condition is false are dropped, and every
``Fn::If`` is replaced by its chosen branch (``AWS::NoValue`` removes the property). Other
intrinsics are left as they are.
"""

from __future__ import annotations

from typing import Any

_NO_VALUE = {"Ref": "AWS::NoValue"}
_REMOVED = object()


def deployed(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template with its conditions decided for ``parameters`` (defaults for the rest)."""
    declared = template.get("Parameters", {})
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()} | parameters
    conditions = template.get("Conditions", {})
    decided: dict[str, bool] = {}

    def operand(node: Any) -> str:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return values[node["Ref"]]
        if isinstance(node, str | int | float):
            return str(node)
        raise ValueError(f"a condition operand this helper cannot evaluate: {node!r}")

    def truth(node: dict[str, Any]) -> bool:
        [(function, args)] = node.items()
        if function == "Fn::Equals":
            return operand(args[0]) == operand(args[1])
        if function == "Fn::Not":
            return not truth(args[0])
        if function == "Fn::And":
            return all(truth(arg) for arg in args)
        if function == "Fn::Or":
            return any(truth(arg) for arg in args)
        if function == "Condition":
            return condition(args)
        raise ValueError(f"a condition function this helper cannot evaluate: {function}")

    def condition(name: str) -> bool:
        if name not in decided:
            decided[name] = truth(conditions[name])
        return decided[name]

    def choose(node: Any) -> Any:
        if node == _NO_VALUE:
            return _REMOVED
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return choose(yes if condition(name) else no)
            return {key: chosen for key, value in node.items() if (chosen := choose(value)) is not _REMOVED}
        if isinstance(node, list):
            return [chosen for value in node if (chosen := choose(value)) is not _REMOVED]
        return node

    def kept(section: dict[str, Any]) -> dict[str, Any]:
        return {
            key: choose(spec)
            for key, spec in section.items()
            if "Condition" not in spec or condition(spec["Condition"])
        }

    return {**template, "Resources": kept(template["Resources"]), "Outputs": kept(template.get("Outputs", {}))}
