"""A comparison's picture: both runs' latency percentiles over time on one chart, and their status mix side by side.

The latency comes from Locust's stats history (its ``Aggregated`` row, once a second), each run
on its own clock from its first second, so the runs lie over one another; the status mix is the
audit's count of each status (``summary.json``).
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from harness.runfolder import RunFolder
from runreport.runfigures import AGGREGATED

if TYPE_CHECKING:
    from pathlib import Path

    from runreport.runfigures import RunFigures

PERCENTILES = ("50%", "95%", "99%")


def latency_history(run_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Each percentile's (seconds from the first row, ms) over the run; empty when Locust wrote no history."""
    path = RunFolder(run_dir).locust_history
    series: dict[str, list[tuple[float, float]]] = {q: [] for q in PERCENTILES}
    if not path.is_file():
        return series
    with path.open() as lines:
        rows = [row for row in csv.DictReader(lines) if row["Name"] == AGGREGATED]
    if not rows:
        return series
    start = float(rows[0]["Timestamp"])
    for row in rows:
        for q in PERCENTILES:
            if row[q] not in ("", "N/A"):
                series[q].append((float(row["Timestamp"]) - start, float(row[q])))
    return series


def draw(base_dir: Path, new_dir: Path, base: RunFigures, new: RunFigures, path: Path) -> Path:
    """Draw the picture of ``new`` against ``base`` into ``path``; the path."""
    figure, (latency, statuses) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    colours = dict(zip(PERCENTILES, ("tab:blue", "tab:orange", "tab:red"), strict=True))
    for run_dir, run, style in ((base_dir, base, "--"), (new_dir, new, "-")):
        for q, points in latency_history(run_dir).items():
            if points:
                xs, ys = zip(*points, strict=True)
                latency.plot(xs, ys, style, color=colours[q], label=f"{run.name} p{q.rstrip('%')}")
    latency.set(title="latency over the run (dashed: base)", xlabel="s from the run's start", ylabel="ms")
    latency.legend(fontsize="small")
    codes = sorted(set(base.status_mix) | set(new.status_mix))
    width = 0.4
    for offset, run in ((-width / 2, base), (width / 2, new)):
        positions = [i + offset for i in range(len(codes))]
        statuses.bar(positions, [run.status_mix.get(code, 0) for code in codes], width, label=run.name)
    statuses.set_xticks(range(len(codes)), codes)
    statuses.set(title="status mix", ylabel="requests")
    statuses.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
