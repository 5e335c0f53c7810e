"""A small CloudWatch Logs Insights interpreter for the dashboard's own queries, over a run's records.

It runs the very query text the dashboard holds (no second definition), for the subset of the
language the dashboard uses: ``SOURCE``, ``fields``, ``filter``, ``parse FIELD /REGEX/`` (named
groups ``(?<name>...)``, as AWS's SnapStart queries read ``Restore Duration`` out of a REPORT line),
``stats ... by bin(...)`` or by fields with ``count``/``sum``/``avg``/``min``/``max``/``pct``,
``sort`` and ``limit``; arithmetic, comparisons, ``and``/``or``/``not`` and ``ispresent``.
Anything else is refused by name, so a query the interpreter cannot run fails the dashboard's
tests instead of drawing something else.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

_BIN = re.compile(r"^bin\((\d+)([smh])\)$")
_PARSE = re.compile(r"^(@?\w+)\s+/(.*)/$")
_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
"""Logs Insights' (and PCRE's) named group ``(?<name>``; Python's is ``(?P<name>``."""
_AGGREGATE = re.compile(r"^(count|sum|avg|min|max|pct)\((.*)\)(?:\s+as\s+(\w+))?$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}  # fmt: skip


class QueryError(ValueError):
    """The query uses a part of Logs Insights this interpreter does not run."""


@dataclass
class Result:
    """Rows as Logs Insights returns them; ``bin_s`` is set when the first column is a time bin."""

    columns: list[str]
    rows: list[dict[str, Any]]
    bin_s: int | None = None


def _split(query: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in query:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _python(expression: str) -> ast.expr:
    text = re.sub(r"@(\w+)", r"_at_\1", expression)
    text = re.sub(r"(?<![=!<>])=(?!=)", "==", text)
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise QueryError(f"cannot read the expression {expression!r}") from exc


def _evaluate(node: ast.expr, record: dict[str, Any]) -> Any:  # noqa: PLR0911 - one branch per node kind
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return record.get("@" + node.id[4:] if node.id.startswith("_at_") else node.id)
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(v, record) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _evaluate(node.operand, record)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, record), _evaluate(node.right, record)
        return None if left is None or right is None else _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        left, right = _evaluate(node.left, record), _evaluate(node.comparators[0], record)
        if left is None or right is None:
            return False
        return _COMPARE[type(node.ops[0])](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ispresent":
        return _evaluate(node.args[0], record) is not None
    raise QueryError(f"unsupported in a local query: {ast.unparse(node)}")


_AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {
    "sum": sum,
    "avg": lambda present: sum(present) / len(present),
    "min": min,
    "max": max,
}


def _aggregate(function: str, values: list[Any], extra: float | None) -> float | None:
    present = [v for v in values if v is not None]
    if function == "count":
        return float(len(present))
    if not present:
        return None
    if function in _AGGREGATES:
        return float(_AGGREGATES[function](present))
    ordered = sorted(present)
    return float(ordered[min(len(ordered) - 1, math.ceil((extra or 0) / 100 * len(ordered)) - 1)])


def _stats(spec: str, rows: list[dict[str, Any]], bin_override_s: int | None) -> Result:
    body, _, by = spec.partition(" by ")
    outputs = []
    for part in _commas(body):
        match = _AGGREGATE.match(part.strip())
        if match is None:
            raise QueryError(f"unsupported statistic {part.strip()!r}")
        function, argument, alias = match.group(1).lower(), match.group(2).strip(), match.group(3)
        extra = None
        if function == "pct":
            argument, _, percent = argument.rpartition(",")
            extra = float(percent)
        node = None if argument == "*" else _python(argument)
        outputs.append((alias or f"{function}({match.group(2)})", function, node, extra))
    keys = [k.strip() for k in _commas(by)] if by else []
    bin_s = None
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = []
        for name in keys:
            binned = _BIN.match(name)
            if binned:
                bin_s = bin_override_s or int(binned.group(1)) * _UNITS[binned.group(2)]
                key.append(math.floor(row["@timestamp"] / bin_s) * bin_s)
            else:
                key.append(row.get(name))
        groups[tuple(key)].append(row)
    columns = [*keys, *(o[0] for o in outputs)]
    result = []
    for group_key, members in groups.items():
        out = dict(zip(keys, group_key, strict=True))
        for alias, function, node, extra in outputs:
            values = [1 if node is None else _evaluate(node, m) for m in members]
            out[alias] = _aggregate(function, values, extra)
        result.append(out)
    if bin_s is not None:
        first = next(k for k in keys if _BIN.match(k))
        result.sort(key=lambda r: r[first])
    return Result(columns, result, bin_s)


def _commas(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def _parse(spec: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``parse FIELD /REGEX/``: each row with the regex's named groups as fields (numbers read as numbers).

    A row the regex does not match gets none of them (``ispresent`` is false for it), as in Logs Insights.
    """
    match = _PARSE.match(spec.strip())
    if match is None:
        raise QueryError(f"unsupported parse {spec.strip()!r}: only parse FIELD /REGEX/")
    field_name, pattern = match.group(1), re.compile(_NAMED_GROUP.sub("(?P<", match.group(2)))
    if not pattern.groupindex:
        raise QueryError(f"parse {spec.strip()!r} names no field: give its groups names, (?<name>...)")
    parsed = []
    for row in rows:
        found = pattern.search(str(row.get(field_name) or ""))
        extra = {name: _number(value) for name, value in found.groupdict().items()} if found else {}
        parsed.append({**row, **extra})
    return parsed


def _number(text: str | None) -> Any:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return text


def run_query(query: str, records: list[dict[str, Any]], *, bin_override_s: int | None = None) -> Result:
    """Run ``query`` over ``records`` (dicts with ``@timestamp`` in epoch seconds).

    ``bin_override_s`` replaces the width of ``bin(...)``: a short local run is drawn in short bins,
    as its metrics are in short periods.
    """
    rows = records
    columns: list[str] = []
    result: Result | None = None
    for command in _split(query):
        word, _, rest = command.partition(" ")
        word = word.lower()
        if word == "source":
            continue
        if word == "fields":
            columns = [c.strip() for c in _commas(rest)]
        elif word == "filter":
            node = _python(rest)
            rows = [r for r in rows if _evaluate(node, r)]
        elif word == "parse":
            rows = _parse(rest, rows)
        elif word == "stats":
            result = _stats(rest, rows, bin_override_s)
            rows, columns = result.rows, result.columns
        elif word == "sort":
            name, _, direction = rest.strip().partition(" ")
            present = sorted((r for r in rows if r.get(name) is not None), key=lambda r: r[name],
                             reverse=direction.strip().lower() == "desc")  # fmt: skip
            rows = present + [r for r in rows if r.get(name) is None]
        elif word == "limit":
            rows = rows[: int(rest)]
        else:
            raise QueryError(f"unsupported command {word!r}")
    if result is not None:
        return Result(result.columns, rows, result.bin_s)
    return Result(columns, [{c: r.get(c) for c in columns} for r in rows])
