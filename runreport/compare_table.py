"""A comparison (``runreport.compare``) as a table: plain text for a terminal, Markdown for a pull request.

Both put the same heading first: the runs, the verdict, and, when the runs' setups differ,
a warning naming each difference (their figures may differ for that alone), then a caution
for each run whose host was saturated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runreport.compare import REGRESSION, UNJUDGED

if TYPE_CHECKING:
    from runreport.compare import Comparison, Row

COLUMNS = ("figure", "base", "new", "change", "verdict", "note")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "not recorded"
    number = f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"
    return f"{number} {unit}".strip()


def change(row: Row) -> str:
    """How far ``new`` moved from ``base``: the amount, and the share of ``base`` where it has one."""
    if row.base is None or row.new is None:
        return UNJUDGED
    moved = row.new - row.base
    share = f" ({moved / row.base:+.0%})" if row.base else ""
    amount = f"{moved:+.0f}" if float(moved).is_integer() or abs(moved) >= 100 else f"{moved:+.2f}"
    return f"{amount} {row.unit}".strip() + share


def cells(row: Row) -> list[str]:
    """The row's cells, in the order of ``COLUMNS``."""
    return [row.figure, _value(row.base, row.unit), _value(row.new, row.unit), change(row), row.verdict, row.note]


def heading(comparison: Comparison) -> list[str]:
    """The lines above the table: what was compared, the verdict, and any unlike setup."""
    regressions = comparison.regressions
    verdict = (
        f"REGRESSION in {len(regressions)} rows: " + ", ".join(row.figure for row in regressions)
        if regressions
        else "no regression"
    )
    lines = [f"{comparison.new} against the baseline {comparison.base}: {verdict}"]
    if comparison.unlike:
        lines.append(
            "WARNING: unlike runs, their figures may differ for this alone: "
            + "; ".join(difference.line() for difference in comparison.unlike)
        )
    lines += [f"CAUTION: {caution}" for caution in comparison.cautions]
    return lines


def text(comparison: Comparison) -> str:
    """The comparison for a terminal: the heading, then aligned columns."""
    table = [list(COLUMNS), *(cells(row) for row in comparison.rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    body = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    return "\n".join([*heading(comparison), "", *body])


def _escaped(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown(comparison: Comparison) -> str:
    """The comparison for a pull-request comment: the heading in bold, warnings quoted, one table."""
    first, *warnings = heading(comparison)
    lines = [f"**{_escaped(first)}**", ""]
    if warnings:
        # One quote, a paragraph per line: Markdown would run consecutive quoted lines together.
        lines += ["\n>\n".join(f"> {_escaped(warning)}" for warning in warnings), ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in comparison.rows:
        row_cells = cells(row)
        if row.verdict == REGRESSION:
            row_cells[COLUMNS.index("verdict")] = f"**{REGRESSION}**"
        lines.append("| " + " | ".join(_escaped(cell) for cell in row_cells) + " |")
    return "\n".join(lines) + "\n"
