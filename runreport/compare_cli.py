"""Judge one load run against a baseline run: the command, and its files in the newer run.

    python -m runreport compare BASE NEW [--strict] [--latency-pct 15 ...]   # BASE: a run folder, or latest

``latest``: the newest finished load run folder beside NEW and older than it. Prints the
table (``runreport.compare_table``), writes ``compare.md`` and ``compare.png`` into NEW.
Exit status: 0 no regression, 1 a regression, 2 refused (no such run, no baseline, or under
``--strict`` runs whose setups differ: each difference named).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from harness.runfolder import RunFolder, latest_before
from runreport import compare_chart, compare_table
from runreport.compare import Thresholds, judge
from runreport.runfigures import read_run

LATEST = "latest"
NO_REGRESSION, REGRESSED, REFUSED = 0, 1, 2


class RefusedError(Exception):
    """The comparison cannot be made as asked; the message says why."""


def parser() -> argparse.ArgumentParser:
    """The command's options: the two runs, ``--strict``, and one option per threshold (``Thresholds``)."""
    options = argparse.ArgumentParser(prog="python -m runreport compare", description=__doc__.splitlines()[0])
    options.add_argument("base", help=f"the baseline run folder, or {LATEST}: the newest earlier load run")
    options.add_argument("new", type=Path, help="the run folder judged")
    add_arguments(options)
    return options


def add_arguments(options: argparse.ArgumentParser) -> None:
    """``--strict`` and the thresholds, for this command and the main job's ``--baseline``."""
    options.add_argument("--strict", action="store_true", help="refuse runs whose host, allotment or load differ")
    group = options.add_argument_group("thresholds: a regression grows by more than both a share and an amount")
    for threshold in fields(Thresholds):
        group.add_argument(
            "--" + threshold.name.replace("_", "-"),
            dest=f"threshold_{threshold.name}",
            type=type(threshold.default),
            default=threshold.default,
            help=f"{threshold.metadata['help']} (default {threshold.default})".replace("%", "%%"),
        )


def thresholds_of(args: argparse.Namespace) -> Thresholds:
    """The thresholds the options give."""
    return Thresholds(**{name: getattr(args, f"threshold_{name}") for name in Thresholds.names()})


def baseline(base: str, new: Path) -> Path:
    """The baseline folder ``base`` names for ``new``.

    Raises:
        RefusedError: ``latest`` with no earlier load run, or a folder that is no finished run.
    """
    if base == LATEST:
        found = latest_before(new)
        if found is None:
            raise RefusedError(f"no earlier finished load run beside {new} to compare with")
        return found.path
    return finished(Path(base))


def finished(path: Path) -> Path:
    """``path``, a finished run's folder.

    Raises:
        RefusedError: it has no summary (no such folder, or a run killed half-way).
    """
    if not RunFolder(path).summary.is_file():
        raise RefusedError(f"{path} is not a finished run folder (it has no summary)")
    return path


def compare_runs(base: str, new: Path, thresholds: Thresholds, *, strict: bool = False) -> int:
    """Judge ``new`` against ``base``, print the table, write its files into ``new``; the exit status."""
    try:
        base_dir = baseline(base, finished(new))
        base_run, new_run = read_run(base_dir), read_run(new)
    except (RefusedError, OSError) as refused:  # OSError: a file the run never wrote
        print(f"compare: refused: {refused}", file=sys.stderr)
        return REFUSED
    comparison = judge(base_run, new_run, thresholds)
    if strict and comparison.unlike:
        differences = "; ".join(difference.line() for difference in comparison.unlike)
        print(f"compare: refused under --strict, the runs differ in {differences}", file=sys.stderr)
        return REFUSED
    print(compare_table.text(comparison))
    folder = RunFolder(new)
    folder.compare_table.write_text(compare_table.markdown(comparison))
    compare_chart.draw(base_dir, new, base_run, new_run, folder.compare_chart)
    print(f"comparison: {folder.compare_table} and {folder.compare_chart}")
    return REGRESSED if comparison.regressions else NO_REGRESSION


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and compare; the exit status."""
    args = parser().parse_args(argv)
    return compare_runs(args.base, args.new, thresholds_of(args), strict=args.strict)
