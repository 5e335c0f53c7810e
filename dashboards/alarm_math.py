"""CloudWatch's metric math and alarm evaluation, as far as the template's alarms use them.

So that an alarm can be shown firing, or not, on made-up metric series before it is deployed:
the series go in by query id (one value per period, ``None`` for a period without data), the
alarm's own ``Metrics`` (its expression) or ``MetricName`` from the template come out as the
state CloudWatch would set.

Expressions: numbers, query ids, ``+ - * /``, comparisons (``> >= < <= == !=``), ``AND``,
``OR``, ``IF(condition, value)`` and ``IF(condition, value, otherwise)``, ``FILL(series,
value)``. As CloudWatch computes them, point by point: arithmetic with a missing point is
missing; ``FILL`` puts its value where a point is missing; ``IF`` without ``otherwise`` gives no
point where the condition is false (a period left out); a condition is true where non-zero.

The alarm (:func:`state`): the last ``EvaluationPeriods`` points against ``Threshold`` by
``ComparisonOperator``; ``ALARM`` when ``DatapointsToAlarm`` of them breach. A missing point
counts as ``TreatMissingData`` says: ``breaching``, ``notBreaching``, or ``missing`` (left out:
judged on the points there are, ``INSUFFICIENT_DATA`` with none; CloudWatch may also look
further back for points, which a test's series has none of).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Series = list[float | None]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>>=|<=|==|!=|[-+*/(),<>]))"
)
_COMPARE = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__, "==": float.__eq__,
            "!=": float.__ne__}  # fmt: skip
_ARITHMETIC = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__, "/": float.__truediv__}
_PRECEDENCE = {"OR": 1, "AND": 2, **dict.fromkeys(_COMPARE, 3), "+": 4, "-": 4, "*": 5, "/": 5}
OPERATORS = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
             "LessThanOrEqualToThreshold": "<="}  # fmt: skip


class MathError(ValueError):
    """An expression this evaluator cannot read (a function or token CloudWatch's alarms here do not use)."""


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        found = _TOKEN.match(expression, position)
        if found is None:
            raise MathError(f"cannot read {expression[position:]!r} in {expression!r}")
        tokens.append(found.group(found.lastgroup or "op"))
        position = found.end()
    return tokens


def _combine(op: str, left: Series, right: Series) -> Series:
    out: Series = []
    for a, b in zip(left, right, strict=True):
        if a is None or b is None:
            out.append(None)
        elif op in _COMPARE:
            out.append(1.0 if _COMPARE[op](a, b) else 0.0)
        elif op == "AND":
            out.append(1.0 if a and b else 0.0)
        elif op == "OR":
            out.append(1.0 if a or b else 0.0)
        elif op == "/" and b == 0:
            out.append(None)  # CloudWatch drops a division by zero
        else:
            out.append(_ARITHMETIC[op](a, b))
    return out


@dataclass
class _Parser:
    tokens: list[str]
    series: dict[str, Series]
    periods: int
    at: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise MathError(f"expected {expected or 'more'} at token {self.at} of {' '.join(self.tokens)}")
        self.at += 1
        return token

    def expression(self, floor: int = 0) -> Series:
        left = self.operand()
        while (op := self.peek()) in _PRECEDENCE and _PRECEDENCE[op] > floor:
            self.take()
            left = _combine(op, left, self.expression(_PRECEDENCE[op]))
        return left

    def operand(self) -> Series:
        word = self.take()
        if word == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if word == "-":
            return [None if v is None else -v for v in self.operand()]
        if re.fullmatch(r"\d+(?:\.\d+)?", word):
            return [float(word)] * self.periods
        if self.peek() == "(":
            return self.call(word)
        if word not in self.series:
            raise MathError(f"no series for {word!r}")
        return list(self.series[word])

    def call(self, function: str) -> Series:
        self.take("(")
        arguments = [self.expression()]
        while self.peek() == ",":
            self.take()
            arguments.append(self.expression())
        self.take(")")
        if function == "FILL" and len(arguments) == 2:
            values, fill = arguments
            return [fill[i] if v is None else v for i, v in enumerate(values)]
        if function == "IF" and len(arguments) in (2, 3):
            condition, value, *otherwise = arguments
            other = otherwise[0] if otherwise else [None] * self.periods
            return [None if c is None else (v if c else o) for c, v, o in zip(condition, value, other, strict=True)]
        raise MathError(f"{function} with {len(arguments)} arguments is not evaluated here")


def evaluate(expression: str, series: dict[str, Series]) -> Series:
    """The expression's value at each period, over ``series`` (every one as long as the others)."""
    periods = len(next(iter(series.values()), []))
    parser = _Parser(_tokens(expression), series, periods)
    result = parser.expression()
    if parser.peek() is not None:
        raise MathError(f"cannot read past {parser.peek()!r} in {expression!r}")
    return result


def alarm_series(properties: dict[str, Any], series: dict[str, Series]) -> Series:
    """What an alarm judges: its returned expression over its queries' series, or its one metric's series."""
    if "Metrics" not in properties:
        return list(series[properties["MetricName"]])
    [returned] = [query for query in properties["Metrics"] if query.get("ReturnData")]
    return evaluate(returned["Expression"], series)


def state(properties: dict[str, Any], series: dict[str, Series]) -> str:
    """The state the alarm (its ``Properties`` as the template has them) is in at the last period."""
    points = alarm_series(properties, series)[-int(properties["EvaluationPeriods"]) :]
    needed = int(properties.get("DatapointsToAlarm", properties["EvaluationPeriods"]))
    treat = properties.get("TreatMissingData", "missing")
    compare = _COMPARE[OPERATORS[properties["ComparisonOperator"]]]
    threshold = float(properties["Threshold"])
    present = [p for p in points if p is not None]
    breaching = sum(1 for p in present if compare(p, threshold))
    if treat == "breaching":
        breaching += len(points) - len(present)
    if breaching >= needed:
        return "ALARM"
    if not present and treat in ("missing", "ignore"):
        return "INSUFFICIENT_DATA"
    return "OK"
