"""Comments keep the reason and point to BENCHMARKS.md; the figures live there, beside their run.

A comment or docstring that quoted a measured figure (µs, ms, MiB, a ratio, a share) went stale
the next time the suite ran, and disagreed with BENCHMARKS.md. So a comment gives the reason for
a choice and names the tuning that measured it, ``(BENCHMARKS.md, T3)``:

- every ``BENCHMARKS.md, T<n>`` in the code names a ``### T<n>.`` heading of BENCHMARKS.md, and
  every ``BENCHMARKS.md, "…"`` / ``MUTATION.md, "…"`` a heading of that file;
- no comment or docstring of the code states a figure in a unit of time per call, memory,
  ratio, share or rate (µs, us, ms, MiB, MB, KiB, x or the multiplication sign, %, /s), nor
  an approximate one ("~0.6 s", "about 3 MB"), unless it is a configured value or a limit of
  a service, named in ``CONFIGURED`` with its reason.

The code is every tracked file outside tests/ and the Markdown documents: Python (comments by
the tokenizer, docstrings by the parser: every bare string statement), ``#`` comments of the
configuration files (TOML, INI, YAML, the Makefile), ``//`` comments of JavaScript.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CONFIGURED: dict[str, str] = {
    "10 MB": "API Gateway's payload limit, which the local gateway enforces",
    "6 MB": "Lambda's limit on a synchronous invocation's response, which the local Runtime API enforces",
    "64 KiB": "the largest UDP datagram, the bound on one X-Ray document",
    "1 %": "the SLO's failure budget (harness/slo.py)",
    "10 %": "the canary's share of traffic in samconfig.toml's deployment preference",
    "80 %": "how busy the load generator lets a worker core run (benchmarks/loadgen.py)",
    "90 %": "the CPU share at which Locust warns a worker is overloaded",
    "1,769 MB": "the memory size at which AWS documents one vCPU, quoted from its documentation",
    "1 KB": "DynamoDB bills a write request unit per KB of an item written",
    "4 KB": "DynamoDB bills a read request unit per 4 KB of an item read",
    "64 KB": "SQS bills each 64 KB chunk of a request's payload as one request",
    "512 KB": "an HTTP API meters requests in 512 KB increments",
    "400 KB": "DynamoDB's limit on an item's size, which moto enforces",
    "5 %": "X-Ray's default sampling rule records 5 % of the requests past the first each second",
}
"""Figures that are settings or contract limits, not measurements; each kept because the code has it."""

_TIMES = "\u00d7"  # the multiplication sign, as BENCHMARKS.md writes ratios
_UNIT = rf"µs|us|ms|s|min|MiB|MB|KiB|KB|GiB|GB|bytes|x|{_TIMES}|%|req/s|orders/s|/s"
_FIGURE = re.compile(
    rf"(?P<approx>~\s?|\babout |\broughly |\baround )?"
    rf"(?<![\w.])(?P<number>\d+(?:[.,]\d+)*(?:\s?[-\u2013]\s?\d+(?:[.,]\d+)*)?)\s?(?P<unit>{_UNIT})(?![\w/])"
)
_ALWAYS_MEASURED = {"µs", "us", "ms", "MiB", "MB", "KiB", "KB", "GiB", "GB", "bytes", "x", _TIMES, "%"}
_TUNING_REFERENCE = re.compile(r"BENCHMARKS\.md,\s*(?:#\s*)?T(\d+)\b")
_SECTION_REFERENCE = re.compile(r"\b(BENCHMARKS|MUTATION)\.md,\s*(?:#\s*)?\"([^\"]+)\"")
_HASH_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
_SLASH_COMMENT = re.compile(r"(?:^|\s)//(.*)$")
_CONFIG_SUFFIXES = {".toml", ".ini", ".yaml", ".yml", ".cfg"}


def code_files() -> list[Path]:
    """Every tracked file of the code: outside tests/, not a Markdown document."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return sorted(
        ROOT / name
        for name in listed
        if not name.startswith("tests/") and not name.endswith(".md") and (ROOT / name).is_file()
    )


def comments(path: Path, text: str) -> list[tuple[int, str]]:
    """The comments and docstrings of one file, each with its first line."""
    if path.suffix == ".py":
        found = [
            (token.start[0], token.string)
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
        found += [
            (node.lineno, node.value.value)
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        ]
        return found
    if path.suffix in _CONFIG_SUFFIXES or path.name == "Makefile":
        pattern = _HASH_COMMENT
    elif path.suffix in {".mjs", ".js"}:
        pattern = _SLASH_COMMENT
    else:
        return []
    return [
        (number, match[1]) for number, line in enumerate(text.splitlines(), start=1) if (match := pattern.search(line))
    ]


def measured_figures(comment: str) -> list[str]:
    """The figures a comment states that read as measurements, configured values left out."""
    flat = " ".join(comment.split())
    found = []
    for match in _FIGURE.finditer(flat):
        figure = f"{match['number']} {match['unit']}"
        if (match["unit"] in _ALWAYS_MEASURED or match["approx"]) and figure not in CONFIGURED:
            found.append(match[0].strip())
    return found


def _headings(document: str) -> list[str]:
    return [line.lstrip("#").strip() for line in (ROOT / document).read_text().splitlines() if line.startswith("#")]


def tunings() -> set[int]:
    """The numbers of BENCHMARKS.md's ``### T<n>.`` headings."""
    return {int(match[1]) for heading in _headings("BENCHMARKS.md") if (match := re.match(r"T(\d+)\. ", heading))}


def _all_comments() -> list[tuple[str, int, str]]:
    return [
        (str(path.relative_to(ROOT)), line, comment)
        for path in code_files()
        for line, comment in comments(path, path.read_text(encoding="utf-8", errors="replace"))
    ]


def test_benchmarks_numbers_its_tunings_once_each_from_one() -> None:
    # Given BENCHMARKS.md's tuning headings
    numbers = [int(match[1]) for heading in _headings("BENCHMARKS.md") if (match := re.match(r"T(\d+)\. ", heading))]

    # Then they are T1, T2, … in order, none twice: a number, once given, names one tuning
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_benchmarks_reference_in_the_code_names_a_tuning_or_heading_that_exists() -> None:
    # Given every tuning of BENCHMARKS.md and every heading of the documents referred to
    known = tunings()
    headings = {name: _headings(f"{name}.md") for name in ("BENCHMARKS", "MUTATION")}
    dangling = []
    referenced = set()

    # When every comment and docstring of the code is read for references
    for path, line, comment in _all_comments():
        for match in _TUNING_REFERENCE.finditer(comment):
            referenced.add(int(match[1]))
            if int(match[1]) not in known:
                dangling.append(f"{path}:{line}: BENCHMARKS.md, T{match[1]}")
        dangling.extend(
            f'{path}:{line}: {match[1]}.md, "{match[2]}"'
            for match in _SECTION_REFERENCE.finditer(" ".join(comment.split()))
            if not any(heading.startswith(match[2]) for heading in headings[match[1]])
        )

    # Then each names one that exists (and the code does refer to tunings)
    assert not dangling, "references to no tuning or heading:\n" + "\n".join(dangling)
    assert referenced


def test_no_comment_in_the_code_states_a_measured_figure() -> None:
    # Given every comment and docstring of the code
    stated = [
        f"{path}:{line}: {figure}" for path, line, comment in _all_comments() for figure in measured_figures(comment)
    ]

    # Then none states a measured figure: the reason stays, the figure is BENCHMARKS.md's
    assert not stated, "measured figures in comments (move them to BENCHMARKS.md, cite the T<n>):\n" + "\n".join(stated)


def test_every_configured_figure_allowed_is_still_in_the_code() -> None:
    # Given the figures every comment states, configured or not
    flat = [" ".join(comment.split()) for _, _, comment in _all_comments()]
    stated = {f"{match['number']} {match['unit']}" for text in flat for match in _FIGURE.finditer(text)}

    # Then each allowed figure is one the code states: the list holds nothing it does not need
    assert set(CONFIGURED) <= stated, set(CONFIGURED) - stated


def test_the_figure_reader_tells_a_measurement_from_a_setting() -> None:
    # Given comments as the code had them, and settings as it has them
    measured = "botocore's re-check cost ~12 % of each call's CPU; inits (~0.6 s of CPU each); ~13x the floor"
    settings = "API Gateway gives up after 29 s; the 10 MB payload limit; 3 attempts; the 30 s timeout"

    # Then the first are measurements and the second are not
    assert measured_figures(measured) == ["~12 %", "~0.6 s", "~13x"]
    assert measured_figures(settings) == []
