"""Checks a CloudWatch dashboard body against AWS's "Dashboard Body Structure and Syntax".

``PutDashboard`` rejects little beyond malformed JSON: a widget 25 columns wide, a statistic
spelled ``Avg`` or a metric AWS never publishes is stored, and shows up as an empty graph on the
day it is needed. :func:`validate_body` reports those, each as one sentence naming the field, so a
test can hold the body to the documented structure. :func:`metrics_of` lists the metrics a body
draws, shorthand resolved, for tests that compare the dashboard with the alarms.

Values may be CloudFormation ``${...}`` placeholders (the template's ``Fn::Sub`` resolves them);
they are treated as opaque strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.support import cloudwatch_metrics as catalog

WIDGET_TYPES = frozenset({"metric", "text", "log", "alarm", "explorer"})
METRIC_VIEWS = frozenset({"timeSeries", "singleValue", "gauge", "bar", "pie", "table"})
LOG_VIEWS = frozenset({"table", "timeSeries", "bar", "pie"})
GRID = 24
MAX_HEIGHT = 1000
MAX_WIDGETS = 500
MAX_METRICS = 500
MAX_ALARMS = 100
MAX_EXPLORER_METRICS = 100
MAX_VARIABLES = 25
DEFAULT_STAT = "Average"
"""What CloudWatch draws when neither the line nor the widget names a statistic."""
DEFAULT_PERIOD = 300
"""What CloudWatch uses when neither the line nor the widget names a period."""
DEFAULT_WIDTH = 6

_TOP_LEVEL = frozenset({"widgets", "variables", "start", "end", "periodOverride"})
_WIDGET_KEYS = frozenset({"type", "x", "y", "width", "height", "properties"})
_LINE_OPTIONS = frozenset({"accountId", "color", "id", "label", "period", "region", "stat", "visible", "yAxis"})
"""A metric line's own fields and its rendering properties (the page lists both)."""
_EXPRESSION_OPTIONS = frozenset({"expression", "label", "id", "accountId", "color", "period", "region", "visible",
                                 "yAxis"})  # fmt: skip
"""An expression takes no statistic: its inputs carry theirs."""
_AXIS_KEYS = frozenset({"label", "min", "max", "showUnits"})
_ALARM_STATES = frozenset({"ALARM", "INSUFFICIENT_DATA", "OK"})
_ALARM_SORTS = frozenset({"default", "stateUpdatedTimestamp", "timestamp"})
_HIGH_RESOLUTION_PERIODS = frozenset({1, 5, 10, 30})
"""High-resolution metrics can be drawn below a minute; every other period is a multiple of 60."""

_METRIC_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}")
_TIMEZONE = re.compile(r"[+-]\d{4}")
_RELATIVE_START = re.compile(r"-P(?:T\d+[MH]|\d+[DWM])")
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_VARIABLE_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
"""String literals in an expression (search terms, labels) hold no metric ids."""
_IDENTIFIER = re.compile(r"\b[a-z][a-zA-Z0-9_]*\b")
"""Metric math functions are upper case, so a lower-case word in an expression is a metric id."""


@dataclass(frozen=True)
class MetricRef:
    """One metric a dashboard draws, as CloudWatch resolves its line.

    Attributes:
        namespace: The CloudWatch namespace.
        name: The metric name.
        dimensions: ``(name, value)`` pairs, sorted by name; values may be ``${...}`` placeholders.
        stat: The line's statistic, else the widget's, else CloudWatch's default (``Average``).
        period: The line's period, else the widget's, else CloudWatch's default (300 s).
        widget_title: The title of the widget that draws it ("" when it has none).
    """

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int
    widget_title: str


@dataclass(frozen=True)
class _Line:
    """One entry of a ``metrics`` array, with ``.`` and ``...`` already replaced."""

    path: str
    tokens: tuple[str, ...] | None
    """Namespace, metric name, then dimension name/value pairs; None for an expression."""
    options: dict[str, Any]


def _is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_valid_period(value: Any) -> bool:
    return _is_int(value) and (value in _HIGH_RESOLUTION_PERIODS or (value >= 60 and value % 60 == 0))


def _expand(items: list[str], previous: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, str | None]:
    """Replaces ``...`` (the previous line's leading tokens) and ``.`` (its token at that position)."""
    tokens = list(items)
    if "..." in tokens[1:]:
        return None, "'...' may only open a line"
    if tokens[0] == "...":
        if previous is None:
            return None, "'...' repeats the previous metric line, and there is none before it"
        rest = tokens[1:]
        if len(rest) > len(previous):
            return None, "'...' is followed by more tokens than the previous line has"
        tokens = [*previous[: len(previous) - len(rest)], *rest]
    for position, item in enumerate(tokens):
        if item != ".":
            continue
        if previous is None:
            return None, "'.' repeats the previous metric line's token, and there is none before it"
        if position >= len(previous):
            return None, f"'.' at position {position} has no counterpart in the previous line"
        tokens[position] = previous[position]
    return tuple(tokens), None


def _token_problem(tokens: tuple[str, ...]) -> str | None:
    if len(tokens) < 2 or len(tokens) % 2:
        return "a metric line is [namespace, metric name, dimension name, dimension value, ...]"
    if any(not token for token in tokens):
        return "a metric line has an empty namespace, name or dimension"
    names = tokens[2::2]
    if len(set(names)) != len(names):
        return f"a dimension is named twice: {list(names)}"
    return None


def _resolve(metrics: list[Any], path: str) -> tuple[list[_Line], list[str]]:
    """The lines of a ``metrics`` array, shorthand resolved; lines that cannot be resolved are reported."""
    lines: list[_Line] = []
    problems: list[str] = []
    previous: tuple[str, ...] | None = None
    for index, raw in enumerate(metrics):
        where = f"{path}[{index}]"
        if not isinstance(raw, list) or not raw:
            problems.append(f"{where}: a metric line is a non-empty array")
            continue
        items = list(raw)
        options = items.pop() if isinstance(items[-1], dict) else {}
        if not items:
            if "expression" not in options:
                problems.append(f"{where}: an array holding only an object must be an expression line")
                continue
            lines.append(_Line(where, None, options))
            continue
        if not all(isinstance(item, str) for item in items):
            problems.append(f"{where}: namespace, name and dimensions are strings; only the last item may be an object")
            continue
        tokens, problem = _expand(items, previous)
        problem = problem or (_token_problem(tokens) if tokens else None)
        if problem or tokens is None:
            problems.append(f"{where}: {problem}")
            continue
        if "expression" in options:
            problems.append(f"{where}: an expression goes on a line of its own, [{{'expression': ...}}]")
        previous = tokens
        lines.append(_Line(where, tokens, options))
    return lines, problems


# ---- Shared property checks ------------------------------------------------------------------------


def _check_string(props: dict[str, Any], key: str, path: str, *, required: bool = False) -> list[str]:
    if key not in props:
        return [f"{path}.{key} is required"] if required else []
    if not isinstance(props[key], str) or not props[key]:
        return [f"{path}.{key} must be a non-empty string, not {props[key]!r}"]
    return []


def _check_bool(props: dict[str, Any], key: str, path: str) -> list[str]:
    if key in props and not isinstance(props[key], bool):
        return [f"{path}.{key} must be true or false, not {props[key]!r}"]
    return []


def _check_choice(props: dict[str, Any], key: str, choices: frozenset[str], path: str) -> list[str]:
    if key in props and props[key] not in choices:
        return [f"{path}.{key} is {props[key]!r}; CloudWatch accepts {', '.join(sorted(choices))}"]
    return []


def _check_stat(props: dict[str, Any], path: str) -> list[str]:
    stat = props.get("stat")
    if "stat" in props and not (isinstance(stat, str) and catalog.is_valid_stat(stat)):
        return [f"{path}.stat {stat!r} is not a CloudWatch statistic (Average, p99, tm90, TM(5%:95%), ...)"]
    return []


def _check_period(props: dict[str, Any], path: str) -> list[str]:
    if "period" in props and not _is_valid_period(props["period"]):
        return [f"{path}.period {props['period']!r} must be 1, 5, 10, 30 or a multiple of 60 seconds"]
    return []


def _check_color(props: dict[str, Any], path: str) -> list[str]:
    color = props.get("color")
    if "color" in props and not (isinstance(color, str) and _COLOR.fullmatch(color)):
        return [f"{path}.color {color!r} is not an HTML hex colour (#rrggbb)"]
    return []


# ---- Metric widgets --------------------------------------------------------------------------------


def _check_line_options(line: _Line) -> list[str]:
    allowed = _LINE_OPTIONS if line.tokens is not None else _EXPRESSION_OPTIONS
    opts, path = line.options, f"{line.path} options"
    problems = [f"{path}: {key!r} is not a rendering property here" for key in sorted(set(opts) - allowed)]
    if "id" in opts and not (isinstance(opts["id"], str) and _METRIC_ID.fullmatch(opts["id"])):
        problems.append(f"{path}.id {opts['id']!r} must start with a lower-case letter, then letters, digits, _")
    if line.tokens is None and not (isinstance(opts.get("expression"), str) and opts["expression"].strip()):
        problems.append(f"{path}.expression must be a non-empty string")
    problems += _check_choice(opts, "yAxis", frozenset({"left", "right"}), path)
    problems += _check_bool(opts, "visible", path)
    for key in ("label", "region", "accountId"):
        problems += _check_string(opts, key, path)
    return problems + _check_stat(opts, path) + _check_period(opts, path) + _check_color(opts, path)


def _referenced_ids(expression: str) -> set[str]:
    if expression.lstrip().upper().startswith("SELECT"):
        # A Metrics Insights query names metrics and dimensions, never ids.
        return set()
    bare = _QUOTED.sub(" ", _PLACEHOLDER.sub(" ", expression))
    return set(_IDENTIFIER.findall(bare))


def _check_ids(lines: list[_Line], path: str) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for line in lines:
        metric_id = line.options.get("id")
        if isinstance(metric_id, str):
            if metric_id in seen:
                problems.append(f"{line.path} options.id {metric_id!r} is used twice in {path}")
            seen.add(metric_id)
    for line in lines:
        expression = line.options.get("expression")
        if line.tokens is None and isinstance(expression, str):
            problems += [
                f"{line.path} options.expression {expression!r} refers to id {name!r}, which no line of {path} has"
                for name in sorted(_referenced_ids(expression) - seen)
            ]
    return problems


def _check_catalog(lines: list[_Line]) -> list[str]:
    problems: list[str] = []
    for line in lines:
        if line.tokens is None or not line.tokens[0].startswith("AWS/"):
            continue  # custom namespaces are the function's own; another test holds them
        namespace, name, *pairs = line.tokens
        problem = catalog.problems_with_metric(namespace, name, frozenset(pairs[::2]))
        if problem:
            problems.append(f"{line.path}: {problem}")
    return problems


def _check_metrics(props: dict[str, Any], path: str) -> list[str]:
    alarm_annotation = isinstance(props.get("annotations"), dict) and "alarms" in props["annotations"]
    if "metrics" not in props:
        return [] if alarm_annotation else [f"{path}.metrics is required (unless an alarm annotation is drawn)"]
    metrics = props["metrics"]
    if not isinstance(metrics, list):
        return [f"{path}.metrics must be an array of metric lines"]
    problems: list[str] = []
    if len(metrics) > MAX_METRICS:
        problems.append(f"{path}.metrics holds {len(metrics)} lines, more than {MAX_METRICS}")
    if alarm_annotation:
        problems.append(f"{path}: a widget drawing an alarm annotation cannot also list metrics")
    lines, resolve_problems = _resolve(metrics, f"{path}.metrics")
    problems += resolve_problems
    for line in lines:
        problems += _check_line_options(line)
    return problems + _check_ids(lines, f"{path}.metrics") + _check_catalog(lines)


def _check_axis(axis: Any, path: str) -> list[str]:
    if not isinstance(axis, dict):
        return [f"{path} must be an object with label, min, max, showUnits"]
    problems = [f"{path}: {key!r} is not a y-axis setting" for key in sorted(set(axis) - _AXIS_KEYS)]
    problems += [
        f"{path}.{key} must be a number" for key in ("min", "max") if key in axis and not _is_number(axis[key])
    ]
    if _is_number(axis.get("min")) and _is_number(axis.get("max")) and axis["min"] >= axis["max"]:
        problems.append(f"{path}.min must be below {path}.max")
    return problems + _check_string(axis, "label", path) + _check_bool(axis, "showUnits", path)


def _check_y_axis(props: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    y_axis = props.get("yAxis")
    if "yAxis" in props:
        if not isinstance(y_axis, dict):
            return [f"{path}.yAxis must be an object with left and/or right"]
        extra = sorted(set(y_axis) - {"left", "right"})
        problems += [f"{path}.yAxis: {key!r} is neither left nor right" for key in extra]
        for side in ("left", "right"):
            if side in y_axis:
                problems += _check_axis(y_axis[side], f"{path}.yAxis.{side}")
    if props.get("view") == "gauge":
        left = y_axis.get("left") if isinstance(y_axis, dict) else None
        if not (isinstance(left, dict) and _is_number(left.get("min")) and _is_number(left.get("max"))):
            problems.append(f"{path}.yAxis.left.min and max are required for a gauge view")
    return problems


def _check_annotation(item: Any, path: str, *, vertical: bool) -> list[str]:
    if not isinstance(item, dict):
        return [f"{path} must be an object"]
    value = item.get("value")
    if vertical and not (isinstance(value, str) and _ISO_8601.fullmatch(value)):
        problems = [f"{path}.value must be an ISO 8601 date and time, not {value!r}"]
    elif not vertical and not _is_number(value):
        problems = [f"{path}.value must be a number, not {value!r}"]
    else:
        problems = []
    fills = frozenset({"before", "after", "none"} if vertical else {"above", "below", "none"})
    problems += _check_choice(item, "fill", fills, path) + _check_bool(item, "visible", path)
    if not vertical:
        problems += _check_choice(item, "yAxis", frozenset({"left", "right"}), path)
    return problems + _check_string(item, "label", path) + _check_color(item, path)


def _check_annotations(props: dict[str, Any], path: str) -> list[str]:
    if "annotations" not in props:
        return []
    annotations, where = props["annotations"], f"{path}.annotations"
    if not isinstance(annotations, dict):
        return [f"{where} must be an object with alarms, horizontal and/or vertical"]
    extra = sorted(set(annotations) - {"alarms", "horizontal", "vertical"})
    problems = [f"{where}: {key!r} is not an annotation kind" for key in extra]
    if "alarms" in annotations:
        alarms = annotations["alarms"]
        if not (isinstance(alarms, list) and len(alarms) <= 1 and all(_is_alarm_arn(a) for a in alarms)):
            problems.append(f"{where}.alarms must hold at most one alarm ARN")
        if "horizontal" in annotations or "vertical" in annotations:
            problems.append(f"{where}: an alarm annotation cannot be combined with horizontal or vertical ones")
    for kind in ("horizontal", "vertical"):
        items = annotations.get(kind, [])
        if not isinstance(items, list):
            problems.append(f"{where}.{kind} must be an array")
            continue
        for index, item in enumerate(items):
            # A band is a pair of annotations, drawn as one shaded range.
            for part, sub in enumerate(item if isinstance(item, list) else [item]):
                suffix = f"[{part}]" if isinstance(item, list) else ""
                problems += _check_annotation(sub, f"{where}.{kind}[{index}]{suffix}", vertical=kind == "vertical")
            if isinstance(item, list) and len(item) != 2:
                problems.append(f"{where}.{kind}[{index}]: a band annotation is exactly two annotations")
    return problems


def _check_metric_widget(props: dict[str, Any], path: str) -> list[str]:
    problems = _check_string(props, "region", path, required=True)
    problems += _check_choice(props, "view", METRIC_VIEWS, path)
    problems += _check_stat(props, path) + _check_period(props, path)
    for key in ("stacked", "liveData", "sparkline", "setPeriodToTimeRange"):
        problems += _check_bool(props, key, path)
    for key in ("title", "accountId"):
        problems += _check_string(props, key, path)
    if "timezone" in props and not (isinstance(props["timezone"], str) and _TIMEZONE.fullmatch(props["timezone"])):
        problems.append(f"{path}.timezone {props['timezone']!r} must be + or - then four digits, e.g. +0130")
    legend = props.get("legend")
    if "legend" in props and not (isinstance(legend, dict) and legend.get("position") in {"right", "bottom", "hidden"}):
        problems.append(f"{path}.legend must be {{'position': 'right' | 'bottom' | 'hidden'}}")
    return problems + _check_metrics(props, path) + _check_y_axis(props, path) + _check_annotations(props, path)


# ---- Other widgets ---------------------------------------------------------------------------------


def _check_log_widget(props: dict[str, Any], path: str) -> list[str]:
    problems = _check_string(props, "region", path, required=True)
    query = props.get("query")
    if not isinstance(query, str):
        problems.append(f"{path}.query is required: \"SOURCE 'log-group' | ...\"")
    elif not query.startswith("SOURCE '") or "|" not in query:
        problems.append(f"{path}.query must start with SOURCE 'log-group' and a | before the query: {query[:40]!r}")
    problems += _check_choice(props, "view", LOG_VIEWS, path) + _check_bool(props, "stacked", path)
    return problems + _check_string(props, "title", path) + _check_string(props, "accountId", path)


def _check_text_widget(props: dict[str, Any], path: str) -> list[str]:
    problems = _check_string(props, "markdown", path, required=True)
    return problems + _check_choice(props, "background", frozenset({"solid", "transparent"}), path)


def _is_alarm_arn(value: Any) -> bool:
    # A template names its alarms as ${Logical.Arn}, resolved by Fn::Sub at deploy time.
    return isinstance(value, str) and (value.startswith("arn:") or bool(_PLACEHOLDER.fullmatch(value)))


def _check_alarm_widget(props: dict[str, Any], path: str) -> list[str]:
    alarms = props.get("alarms")
    if not isinstance(alarms, list) or not 1 <= len(alarms) <= MAX_ALARMS:
        problems = [f"{path}.alarms must list 1 to {MAX_ALARMS} alarm ARNs"]
    else:
        problems = [
            f"{path}.alarms[{index}] {alarm!r} is not an alarm ARN (arn:... or a ${{...}} placeholder)"
            for index, alarm in enumerate(alarms)
            if not _is_alarm_arn(alarm)
        ]
    problems += _check_choice(props, "sortBy", _ALARM_SORTS, path) + _check_string(props, "title", path)
    states = props.get("states", [])
    if not (isinstance(states, list) and set(states) <= _ALARM_STATES):
        problems.append(f"{path}.states must list states among {', '.join(sorted(_ALARM_STATES))}")
    return problems


def _check_explorer_widget(props: dict[str, Any], path: str) -> list[str]:
    metrics = props.get("metrics")
    problems: list[str] = []
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= MAX_EXPLORER_METRICS:
        problems.append(f"{path}.metrics must list 1 to {MAX_EXPLORER_METRICS} metrics")
    else:
        for index, item in enumerate(metrics):
            where = f"{path}.metrics[{index}]"
            if not (isinstance(item, dict) and isinstance(item.get("metricName"), str)
                    and isinstance(item.get("resourceType"), str)):  # fmt: skip
                problems.append(f"{where} must name metricName and resourceType")
            elif "stat" in item:
                problems += _check_stat(item, where)
    if not isinstance(props.get("labels"), list):
        problems.append(f"{path}.labels is required: the tags or properties that pick the resources")
    return problems + _check_period(props, path) + _check_string(props, "title", path)


_PROPERTY_CHECKS = {
    "metric": _check_metric_widget,
    "log": _check_log_widget,
    "text": _check_text_widget,
    "alarm": _check_alarm_widget,
    "explorer": _check_explorer_widget,
}


# ---- Widgets and the body ------------------------------------------------------------------------


def _check_placement(widget: dict[str, Any], path: str) -> list[str]:
    problems = [
        f"{path}.{key} must be an integer, 0 or more, not {widget[key]!r}"
        for key in ("x", "y")
        if key in widget and not (_is_int(widget[key]) and widget[key] >= 0)
    ]
    if ("x" in widget) != ("y" in widget):
        problems.append(f"{path}: x and y go together (give both or neither)")
    width, height = widget.get("width", DEFAULT_WIDTH), widget.get("height", DEFAULT_WIDTH)
    if not (_is_int(width) and 1 <= width <= GRID):
        problems.append(f"{path}.width must be an integer from 1 to {GRID}, not {width!r}")
    if not (_is_int(height) and 1 <= height <= MAX_HEIGHT):
        problems.append(f"{path}.height must be an integer from 1 to {MAX_HEIGHT}, not {height!r}")
    x = widget.get("x")
    if _is_int(x) and _is_int(width) and 1 <= width <= GRID and x + width > GRID:
        problems.append(f"{path}: x + width is {x} + {width}, past the {GRID}-column grid")
    return problems


def _check_widget(widget: Any, path: str) -> list[str]:
    if not isinstance(widget, dict):
        return [f"{path} must be an object"]
    problems = [f"{path}: {key!r} is not a widget field" for key in sorted(set(widget) - _WIDGET_KEYS)]
    kind = widget.get("type")
    if kind not in WIDGET_TYPES:
        problems.append(f"{path}.type is {kind!r}; CloudWatch accepts {', '.join(sorted(WIDGET_TYPES))}")
    problems += _check_placement(widget, path)
    props = widget.get("properties")
    if not isinstance(props, dict):
        return [*problems, f"{path}.properties is required, an object"]
    if kind in _PROPERTY_CHECKS:
        problems += _PROPERTY_CHECKS[kind](props, f"{path}.properties")
    return problems


def _check_variables(body: dict[str, Any]) -> list[str]:
    variables = body.get("variables", [])
    if not isinstance(variables, list) or len(variables) > MAX_VARIABLES:
        return [f"variables must be an array of at most {MAX_VARIABLES} variable objects"]
    problems: list[str] = []
    for index, variable in enumerate(variables):
        path = f"variables[{index}]"
        if not isinstance(variable, dict):
            problems.append(f"{path} must be an object")
            continue
        problems += _check_choice(variable, "type", frozenset({"property", "pattern"}), path)
        problems += _check_choice(variable, "inputType", frozenset({"input", "select", "radio"}), path)
        problems += [f"{path}.{key} is required" for key in ("type", "inputType", "id") if key not in variable]
        if "id" in variable and not (isinstance(variable["id"], str) and _VARIABLE_ID.fullmatch(variable["id"])):
            problems.append(f"{path}.id must be 1 to 32 of 0-9A-Za-z-_")
        target = variable.get("type")
        if target in {"property", "pattern"} and target not in variable:
            problems.append(f"{path}.{target} is required for a {target} variable")
        if variable.get("inputType") in {"select", "radio"} and "values" not in variable and "search" not in variable:
            problems.append(f"{path}: a select or radio variable needs values or search")
    return problems


def _check_time_range(body: dict[str, Any]) -> list[str]:
    problems = _check_choice(body, "periodOverride", frozenset({"auto", "inherit"}), "body")
    start, end = body.get("start"), body.get("end")
    if "start" in body and not (
        isinstance(start, str) and (_RELATIVE_START.fullmatch(start) or _ISO_8601.fullmatch(start))
    ):
        problems.append(f"start {start!r} must be relative (-PT3H, -P7D) or an ISO 8601 time")
    if "end" in body:
        if not (isinstance(end, str) and _ISO_8601.fullmatch(end)):
            problems.append(f"end {end!r} must be an ISO 8601 time")
        if "start" not in body:
            problems.append("end needs start: together they give an absolute time range")
    return problems


def validate_body(body: dict[str, Any]) -> list[str]:
    """What is wrong with a dashboard body, beyond JSON syntax.

    Checks the structure the CloudWatch "Dashboard Body Structure and Syntax" page documents: the
    top-level fields, each widget's type, placement on the 24-column grid and properties (metric,
    log, text, alarm and explorer widgets), metric lines with their ``.`` / ``...`` shorthand,
    rendering options, ids and the ids expressions refer to, statistics, periods, views, y-axes and
    annotations; and that every metric in an ``AWS/`` namespace is one AWS publishes with those
    dimensions (:mod:`tests.support.cloudwatch_metrics`).

    Args:
        body: The dashboard body, as parsed from its JSON.

    Returns:
        One sentence per problem, naming the field's path (``widgets[3].properties.stat``); an empty
        list when the body is valid.
    """
    if not isinstance(body, dict):
        return ["the dashboard body must be a JSON object"]
    problems = [f"{key!r} is not a dashboard body field" for key in sorted(set(body) - _TOP_LEVEL)]
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        problems.append("widgets is required: an array of widgets (it may be empty)")
        widgets = []
    elif len(widgets) > MAX_WIDGETS:
        problems.append(f"widgets holds {len(widgets)} widgets, more than {MAX_WIDGETS}")
    problems += _check_time_range(body) + _check_variables(body)
    for index, widget in enumerate(widgets):
        problems += _check_widget(widget, f"widgets[{index}]")
    return problems


def metrics_of(body: dict[str, Any]) -> list[MetricRef]:
    """Every metric the body's metric widgets draw, in order, expressions left out.

    ``.`` and ``...`` are resolved against the previous metric line; each line's statistic and
    period fall back to the widget's, then to CloudWatch's defaults. Lines that cannot be resolved
    are skipped: :func:`validate_body` reports them.

    Args:
        body: The dashboard body, as parsed from its JSON.

    Returns:
        One :class:`MetricRef` per metric line, widget by widget.
    """
    refs: list[MetricRef] = []
    widgets = body.get("widgets") if isinstance(body, dict) else None
    for index, widget in enumerate(widgets if isinstance(widgets, list) else []):
        if not isinstance(widget, dict) or widget.get("type") != "metric":
            continue
        props = widget.get("properties")
        if not isinstance(props, dict) or not isinstance(props.get("metrics"), list):
            continue
        stat, period, title = (
            props.get("stat", DEFAULT_STAT),
            props.get("period", DEFAULT_PERIOD),
            props.get("title", ""),
        )
        lines, _ = _resolve(props["metrics"], f"widgets[{index}].properties.metrics")
        for line in lines:
            if line.tokens is None:
                continue
            namespace, name, *pairs = line.tokens
            refs.append(MetricRef(
                namespace=namespace,
                name=name,
                dimensions=tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True))),
                stat=line.options.get("stat", stat),
                period=line.options.get("period", period),
                widget_title=title,
            ))  # fmt: skip
    return refs
