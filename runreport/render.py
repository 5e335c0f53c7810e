"""Draws the dashboard definition from a local run's own data, into ``<run>/dashboard/``.

One PNG per widget, the whole dashboard as one PNG, and an HTML page.

The body drawn is the one AWS gets (the definition, resolved with the stage's names); each
metric is computed from the run's samples with the widget's statistic, over a period scaled to
the run's length (a 60 s run has no minute-long datapoints). Chaos phases shade every time
axis. A metric with no local source, and an alarm widget, say so on the picture.
"""

from __future__ import annotations

import html
import json
import math
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from PIL import Image

from dashboards.publish import resolved_body
from harness.runfolder import DashboardFolder, RunFolder
from harness.template import load_template
from runreport.cost import COMPONENTS
from runreport.insights import run_query
from runreport.rundata import RunData, load_run

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from matplotlib.axes import Axes

CELL_W, CELL_H, DPI = 64, 46, 100  # pixels per grid column and row
ENVIRONMENTS_QUERY = (
    'filter @type = "REPORT" '
    "| parse @message /Restore Duration: (?<restoreDuration>[0-9.]+) ms/ "
    "| stats count(@initDuration) as cold_starts, avg(@initDuration) as avg_init_ms, "
    "count(restoreDuration) as restores, avg(restoreDuration) as avg_restore_ms"
)
"""The new environments a run's REPORT lines show: cold starts (their init), SnapStart restores (their restore).

A restore is parsed out of the line, as AWS's SnapStart latency query does
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html): CloudWatch discovers
``@initDuration`` in a REPORT, and no field for a restore.
"""
PERIODS = (1, 5, 10, 30, 60, 300)
MAX_POINTS = 40
PHASE_COLOURS = ("#fde2e1", "#fff1cc", "#e3f0ff", "#efe3ff", "#e2f5e4")
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")


def local_period(span_s: float) -> int:
    """The shortest period that draws the run in at most ``MAX_POINTS`` datapoints."""
    return next((p for p in PERIODS if span_s / p <= MAX_POINTS), PERIODS[-1])


_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Average": lambda values: sum(values) / len(values),
    "Maximum": max,
    "Minimum": min,
    "SampleCount": lambda values: float(len(values)),
}


def statistic(stat: str, values: list[float]) -> float | None:
    """CloudWatch's statistic over one period's raw values (None: no datapoint)."""
    if not values:
        return None
    if stat in _STATISTICS:
        return float(_STATISTICS[stat](values))
    match = _PERCENTILE.match(stat)
    if match is None:
        raise ValueError(f"the local renderer does not compute the statistic {stat!r}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(float(match.group(1)) / 100 * len(ordered)) - 1)]


def bucketed(
    points: list[tuple[float, float]], stat: str, start: float, end: float, period: int
) -> tuple[list[float], list[float]]:
    """Datapoints (x in seconds from ``start``, value) per period, as CloudWatch aggregates them."""
    buckets: dict[int, list[float]] = {}
    for ts, value in points:
        if start <= ts <= end + period:
            buckets.setdefault(int((ts - start) // period), []).append(value)
    xs, ys = [], []
    for index in sorted(buckets):
        aggregated = statistic(stat, buckets[index])
        if aggregated is not None:
            xs.append(index * period + period / 2)
            ys.append(aggregated)
    return xs, ys


_SEARCH = re.compile(r"""^SEARCH\('\{([^}]*)\}\s+MetricName="([^"]+)"',\s*'([^']+)',\s*(\d+)\)$""")


@dataclass
class Line:
    """One drawable series of a metric widget: its datapoints, or why there are none locally."""

    label: str
    stat: str
    options: dict[str, Any]
    points: list[tuple[float, float]]
    missing: str | None = None


def metric_lines(properties: dict[str, Any], data: RunData) -> list[Line]:
    """The widget's metrics as series of the run's samples; a SEARCH gives one series per match."""
    lines = []
    for raw in properties["metrics"]:
        options = raw[-1] if raw and isinstance(raw[-1], dict) else {}
        parts = raw[:-1] if options else raw
        stat = options.get("stat", properties.get("stat", "Average"))
        if not parts:
            lines += _search(options, data)
            continue
        namespace, name, *dims = parts
        label = options.get("label", name)
        reason = data.no_source(namespace, name)
        points = [] if reason else data.series(namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)))
        lines.append(Line(label, stat, options, points, reason))
    return lines


def _search(options: dict[str, Any], data: RunData) -> list[Line]:
    match = _SEARCH.match(options["expression"])
    if match is None:
        raise ValueError(f"the local renderer does not evaluate {options['expression']!r}")
    namespace, *dimension_names = match.group(1).split(",")
    name: str = match.group(2)
    stat: str = match.group(3)
    label = options.get("label", name)
    reason = data.no_source(namespace, name)
    found = [
        (dict(dims), points)
        for (ns, metric, dims), points in sorted(data.samples.items(), key=lambda item: sorted(item[0][2]))
        if ns == namespace and metric == name and {k for k, _ in dims} == set(dimension_names)
    ]
    if reason or not found:
        return [Line(label, stat, options, [], reason)]
    varying = [d for d in dimension_names if len({dims[d] for dims, _ in found}) > 1] or dimension_names[:1]
    return [Line(f"{label} {' '.join(dims[d] for d in varying)}", stat, options, points) for dims, points in found]


def _note(ax: Axes, message: str, *, colour: str = "#666666") -> None:
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 60)), ha="center", va="center",
            transform=ax.transAxes, fontsize=9, color=colour)  # fmt: skip


def _phases(ax: Axes, data: RunData) -> None:
    for index, phase in enumerate(data.phases):
        colour = PHASE_COLOURS[index % len(PHASE_COLOURS)]
        ax.axvspan(phase["start_s"], phase["end_s"], color=colour, alpha=0.6, lw=0, zorder=0)
        ax.text((phase["start_s"] + phase["end_s"]) / 2, 1.0, phase["name"], transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=6.5, color="#555555", clip_on=True)  # fmt: skip


def _draw_metric(ax: Axes, properties: dict[str, Any], data: RunData, period: int) -> list[str]:
    span = data.ended_at - data.started_at
    missing, drawn = [], 0
    right = None
    for line in metric_lines(properties, data):
        label, options = line.label, line.options
        if line.missing:
            missing.append(f"{label}: {line.missing}")
            continue
        xs, ys = bucketed(line.points, line.stat, data.started_at, data.ended_at, period)
        target = ax
        if options.get("yAxis") == "right":
            right = right or ax.twinx()
            target = right
        if not xs:
            label += " (no datapoints)"
        style = "--" if target is right else "-"  # the right axis has its own colour cycle: tell its lines apart
        target.plot(xs, ys, style, marker="o" if len(xs) < 15 else None, markersize=3, lw=1.4, label=label,
                    color=options.get("color"))  # fmt: skip
        drawn += 1
    _annotate(ax, properties.get("annotations", {}).get("horizontal", []))
    left = properties.get("yAxis", {}).get("left", {})
    if "min" in left:
        ax.set_ylim(bottom=left["min"])
    ax.set_xlim(0, max(span, period))
    _phases(ax, data)
    if drawn:
        handles, labels = [], []
        for axis in (ax, right) if right else (ax,):
            h, lab = axis.get_legend_handles_labels()
            handles += h
            labels += lab
        ax.legend(handles, labels, fontsize=6.5, loc="upper left", framealpha=0.7)
    if missing and not drawn:
        _note(ax, "no local source: " + "; ".join(missing))
    elif missing:
        ax.text(0.01, 0.01, "no local source: " + "; ".join(missing), transform=ax.transAxes, fontsize=6,
                color="#666666", va="bottom")  # fmt: skip
    ax.set_xlabel(f"seconds since the load started (local period {period} s; {properties['period']} s in AWS)",
                  fontsize=6.5)  # fmt: skip
    return missing


def _annotate(ax: Axes, lines: list[dict[str, Any]]) -> None:
    # A limit far above the data (the 30 s timeout over invocations of milliseconds) would flatten the lines
    # to nothing: it is named in the corner instead of drawn.
    top = ax.get_ylim()[1]
    for line in lines:
        colour = line.get("color", "#d62728")
        if line["value"] > 3 * top:
            ax.text(0.995, 0.98, f"{line.get('label', '')} (above the scale)", transform=ax.transAxes, ha="right",
                    va="top", fontsize=6.5, color=colour)  # fmt: skip
            continue
        ax.axhline(line["value"], ls="--", lw=1, color=colour)
        ax.text(0.995, line["value"], line.get("label", ""), transform=ax.get_yaxis_transform(), ha="right",
                va="bottom", fontsize=6.5, color=colour)  # fmt: skip


def _draw_log(ax: Axes, properties: dict[str, Any], data: RunData, period: int) -> None:
    result = run_query(properties["query"], data.records, bin_override_s=period)
    if not result.rows:
        ax.axis("off")
        _note(ax, "no rows: the query matched nothing in this run")
        return
    if properties["view"] == "timeSeries" and result.bin_s is not None:
        time_column = result.columns[0]
        for column in result.columns[1:]:
            xs = [r[time_column] - data.started_at + result.bin_s / 2 for r in result.rows if r[column] is not None]
            ys = [r[column] for r in result.rows if r[column] is not None]
            ax.plot(xs, ys, marker="o", markersize=3, lw=1.4, label=column)
        ax.set_xlim(0, max(data.ended_at - data.started_at, period))
        _phases(ax, data)
        ax.legend(fontsize=6.5, loc="upper left", framealpha=0.7)
        ax.set_xlabel(f"seconds since the load started (local bin {period} s; as the query says in AWS)", fontsize=6.5)
        return
    ax.axis("off")
    cells = [[_cell(row.get(c)) for c in result.columns] for row in result.rows[:12]]
    table = ax.table(cellText=cells, colLabels=result.columns, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.auto_set_column_width(list(range(len(result.columns))))
    table.scale(1, 1.15)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if value < 1e9 else _stamp(value)
    return textwrap.shorten(str(value if value is not None else "-"), 48)


def _stamp(ts: float) -> str:
    import datetime  # noqa: PLC0415

    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC).strftime("%H:%M:%S.%f")[:-3]


def _draw_alarm(ax: Axes, properties: dict[str, Any]) -> None:
    names = [arn.rsplit(":", 1)[-1] for arn in properties["alarms"]]
    _note(ax, "no local source: alarms are evaluated by CloudWatch on a deployed stack. "
              f"This widget shows the state of: {', '.join(names)}.")  # fmt: skip


def draw_widget(widget: dict[str, Any], data: RunData, period: int, path: Path) -> dict[str, Any]:
    """Draw one widget into ``path``; what the page needs to know about it."""
    properties = widget["properties"]
    size = (widget["width"] * CELL_W / DPI, widget["height"] * CELL_H / DPI)
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    missing: list[str] = []
    title = properties.get("title", "")
    if widget["type"] == "metric":
        missing = _draw_metric(ax, properties, data, period)
    elif widget["type"] == "log":
        _draw_log(ax, properties, data, period)
    elif widget["type"] == "alarm":
        ax.axis("off")
        _draw_alarm(ax, properties)
        missing = ["alarms"]
    else:
        ax.axis("off")
        markdown = properties["markdown"].replace("#", "").replace("`", "").strip()
        ax.text(0.005, 0.5, "\n".join(textwrap.wrap(markdown, widget["width"] * 9)), transform=ax.transAxes,
                fontsize=8 if widget["height"] > 1 else 10, va="center", weight="bold" if widget["height"] == 1
                else "normal")  # fmt: skip
    if title:
        ax.set_title(title, fontsize=8.5, loc="left")
    ax.tick_params(labelsize=6.5)
    fig.tight_layout(pad=0.4)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return {"title": title, "type": widget["type"], "missing": missing}


def _slug(index: int, widget: dict[str, Any]) -> str:
    title = widget["properties"].get("title") or widget["type"]
    return f"{index:02d}-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def render_run(run_dir: Path) -> Path:
    """Draw ``run_dir``'s dashboard; the HTML page's path."""
    data = load_run(run_dir)
    folder = RunFolder(run_dir)
    stage = json.loads(folder.stage_file.read_text())
    body = json.loads(resolved_body(load_template(), stage["variables"]))
    out = folder.dashboard
    out.widgets_dir.mkdir(parents=True, exist_ok=True)
    for stale in out.widget_images():  # a second render of the same run starts clean
        stale.unlink()
    period = local_period(data.ended_at - data.started_at)
    drawn = []
    for index, widget in enumerate(body["widgets"]):
        image = out.widget(_slug(index, widget))
        info = draw_widget(widget, data, period, image)
        file = image.relative_to(out.path).as_posix()
        drawn.append({**info, "file": file, **{k: widget[k] for k in ("x", "y", "width", "height")}})
    _compose(out, drawn)
    page = out.page
    page.write_text(_page(run_dir, data, drawn, stage))
    out.widgets.write_text(json.dumps(drawn, indent=1))
    return page


def _compose(out: DashboardFolder, drawn: list[dict[str, Any]]) -> None:
    rows = max(w["y"] + w["height"] for w in drawn)
    canvas = Image.new("RGB", (24 * CELL_W, rows * CELL_H), "white")
    for widget in drawn:
        with Image.open(out.path / widget["file"]) as image:
            canvas.paste(image.convert("RGB"), (widget["x"] * CELL_W, widget["y"] * CELL_H))
    canvas.save(out.image)


def allotment_line(allotment: dict[str, Any] | None) -> str:
    """The memory size and CPU model a run had (``allotment`` in the stage file: ``ControlGroups.summary``)."""
    if not allotment:
        return "not recorded (a run from before the stage applied memory and CPU limits)"
    memory = f"{allotment['memory_size_mb']} MB, " + (
        f"limited (cgroup v{allotment['cgroup_version']})"
        if allotment["memory_limit"]
        else f"not limited: {allotment['memory_limit_off']}"
    )
    if allotment["cpu_model"] == "lambda":
        cpu = f"cpu model lambda: {allotment['invoke_vcpus']} host cores per INVOKE, {allotment['init_vcpus']} per INIT"
    else:
        cpu = f"cpu model host ({allotment['cpu_model_off']})"
    return f"{memory}; {cpu}"


def environments_line(data: RunData) -> str:
    """How many new environments served the run, and how they began: cold starts, and restores from a snapshot.

    From the REPORT lines (:data:`ENVIRONMENTS_QUERY`): each environment's first REPORT carries its
    init or its restore. A SnapStart snapshot's own init is on no REPORT.
    """
    [row] = run_query(ENVIRONMENTS_QUERY, data.records).rows or [{}]
    cold, restores = int(row.get("cold_starts") or 0), int(row.get("restores") or 0)
    init = f" (init {row['avg_init_ms']:.0f} ms on average)" if cold else ""
    restore = f" (restore {row['avg_restore_ms']:.0f} ms on average)" if restores else ""
    return f"{cold} cold starts{init}, {restores} restored from a SnapStart snapshot{restore}"


def cost_panel(cost: dict[str, Any] | None) -> str:
    """The run's cost per million orders by component, beside each what-if (HTML); '' for a run not priced."""
    if not cost or cost.get("per_million_orders") is None:
        return ""
    columns = {"this run": cost, **{name.replace("_", " "): row for name, row in cost["what_if"].items()}}
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    rows = [
        f"<tr><td>{html.escape(COMPONENTS[key])}</td>"
        + "".join(f"<td>{column['components_per_million_orders'][key]:,.2f}</td>" for column in columns.values())
        + "</tr>"
        for key in COMPONENTS
    ]
    rows.append("<tr><th>total</th>" + "".join(f"<th>{c['per_million_orders']:,.2f}</th>" for c in columns.values()))
    return (
        f"<h2>What an order costs: USD per million orders</h2>"
        f"<p>At {cost['memory_mb']} MB {html.escape(cost['architecture'])}, {html.escape(cost['region'])} list "
        f"prices read {html.escape(cost['prices_read'])}; the queue's consumer "
        f"{cost['downstream_per_million_orders']:,.2f} more (the downstream's).</p>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def _page(run_dir: Path, data: RunData, drawn: list[dict[str, Any]], stage: dict[str, Any]) -> str:
    summary, audit = data.summary, data.audit
    rows = []
    for label in ("all", "create order"):
        if label in summary:
            s = summary[label]
            figures = [s["requests"], s["failures"], s["rps"], *(f"{s[f'p{q}_ms']:.0f}" for q in (50, 95, 99))]
            rows.append(f"<tr><td>{label}</td>" + "".join(f"<td>{v}</td>" for v in figures) + "</tr>")
    invariants = ", ".join(f"{k} {v}" for k, v in audit.get("invariants", summary.get("invariants", {})).items())
    verdict = "PASS" if summary.get("audit_passed") else "FAIL" if summary else "not run"
    phases = "".join(
        f"<li>{html.escape(p['name'])}: {p['start_s']:.0f} to {p['end_s']:.0f} s</li>" for p in data.phases
    )
    cells = "".join(
        f'<figure style="grid-column:{w["x"] + 1}/span {w["width"]};grid-row:{w["y"] + 1}/span {w["height"]}">'
        f'<img src="{w["file"]}" alt="{html.escape(w["title"] or w["type"])}"></figure>'
        for w in drawn
    )
    mix = ", ".join(f"{k}: {v}" for k, v in sorted(summary.get("status_mix", {}).items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>create-order: {html.escape(run_dir.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 16px; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; }}
.grid {{ display: grid; grid-template-columns: repeat(24, {CELL_W}px); grid-auto-rows: {CELL_H}px; }}
figure {{ margin: 0; }} img {{ width: 100%; height: 100%; }}
</style></head><body>
<h1>create-order dashboard: run {html.escape(run_dir.name)}</h1>
<p>The CloudWatch dashboard of <code>template.yaml</code>
(dashboard <code>{html.escape(stage.get("dashboard", ""))}</code>),
drawn from this run's own data: the handler's EMF and REPORT lines, the stage's access log, moto's request log,
the consumer's queue samples. Load ran {data.ended_at - data.started_at:.0f} s.</p>
<h2>What Locust saw, and the audit</h2>
<table><tr><th></th><th>requests</th><th>failures</th><th>RPS</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>
{"".join(rows)}</table>
<p>Status mix: {html.escape(mix)}<br>Audit: {html.escape(invariants)} &rarr; <b>{verdict}</b><br>
New environments, from the REPORT lines: {html.escape(environments_line(data))}</p>
<p>Allotment: {html.escape(allotment_line(stage.get("allotment")))}</p>
{cost_panel(summary.get("cost"))}
{f"<h2>Chaos phases (shaded on every time axis)</h2><ul>{phases}</ul>" if phases else ""}
<p><a href="{RunFolder(run_dir).dashboard.image.name}">The whole dashboard as one image</a></p>
<div class="grid">{cells}</div>
</body></html>
"""
