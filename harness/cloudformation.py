"""A transformed template as CloudFormation would deploy it with given parameter values.

Conditions are evaluated (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``
over parameter values), resources and outputs whose condition is false are dropped, and every
``Fn::If`` is replaced by its chosen branch (``AWS::NoValue`` removes the property). Other
intrinsics are left as they are. ``Rules`` are checked the same way (:func:`broken_rules`).
"""

from __future__ import annotations

from typing import Any

_NO_VALUE = {"Ref": "AWS::NoValue"}
_REMOVED = object()


class _Values:
    """Parameter values (defaults for the rest) and the template's conditions decided over them."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        declared = template.get("Parameters", {})
        self.values = {name: str(spec.get("Default", "")) for name, spec in declared.items()} | parameters
        self.conditions = template.get("Conditions", {})
        self.decided: dict[str, bool] = {}

    def operand(self, node: Any) -> str:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return self.values[node["Ref"]]
        if isinstance(node, str | int | float):
            return str(node)
        raise ValueError(f"a condition operand this helper cannot evaluate: {node!r}")

    def truth(self, node: dict[str, Any]) -> bool:
        [(function, args)] = node.items()
        if function == "Fn::Equals":
            return self.operand(args[0]) == self.operand(args[1])
        if function == "Fn::Not":
            return not self.truth(args[0])
        if function == "Fn::And":
            return all(self.truth(arg) for arg in args)
        if function == "Fn::Or":
            return any(self.truth(arg) for arg in args)
        if function == "Condition":
            return self.condition(args)
        raise ValueError(f"a condition function this helper cannot evaluate: {function}")

    def condition(self, name: str) -> bool:
        if name not in self.decided:
            self.decided[name] = self.truth(self.conditions[name])
        return self.decided[name]


def broken_rules(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """Each ``Rules`` assertion ``parameters`` break, as CloudFormation refuses the stack: ``rule: its description``.

    A rule applies when its ``RuleCondition`` holds (or it has none); each of its assertions must
    then hold. The same functions as conditions (``Fn::Equals``, ``Fn::Not``, ``Fn::And``,
    ``Fn::Or``) over parameter values.
    """
    decide = _Values(template, parameters)
    broken = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not decide.truth(rule["RuleCondition"]):
            continue
        broken += [f"{name}: {a.get('AssertDescription', '')}".strip() for a in rule["Assertions"]
                   if not decide.truth(a["Assert"])]  # fmt: skip
    return broken


def deployed(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template with its conditions decided for ``parameters`` (defaults for the rest)."""
    decide = _Values(template, parameters)

    def choose(node: Any) -> Any:
        if node == _NO_VALUE:
            return _REMOVED
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return choose(yes if decide.condition(name) else no)
            return {key: chosen for key, value in node.items() if (chosen := choose(value)) is not _REMOVED}
        if isinstance(node, list):
            return [chosen for value in node if (chosen := choose(value)) is not _REMOVED]
        return node

    def kept(section: dict[str, Any]) -> dict[str, Any]:
        return {
            key: choose(spec)
            for key, spec in section.items()
            if "Condition" not in spec or decide.condition(spec["Condition"])
        }

    return {**template, "Resources": kept(template["Resources"]), "Outputs": kept(template.get("Outputs", {}))}
