"""The command lines a Markdown page tells a person to run, and what parses each of them.

A command line is a line of a shell code block (`sh`, `bash`, `shell`, `console`) or an inline
code span that starts with a program the project runs (`tox`, `python -m …`, `locust`, also as
`.venv/bin/tox`, `.tox/load/bin/python`, `python3 -m tox`). An inline span that starts with
`-- ` continues the nearest `tox -e NAME` before it in the same paragraph, list item or table
row (`tox -e openapi -- sync` / `-- check`). An inline `tox -e NAME` with nothing after it names
the environment in prose ("a deployed stack's run (`tox -e deployed`)"): the environment must exist,
and its commands are not parsed (with `--` and arguments, or in a code block, they are).
`#` starts a comment; `\\` continues a line; `&&`, `&`, `;` and `|` separate commands.

Conventions for what a person fills in, so that the line can be parsed as written:

- a placeholder is a word in capitals (`NAME`, `RUN_ID`) or in angle brackets (`<run>`) and is
  replaced by its sample in :data:`PLACEHOLDERS`; one not in the table is an error, so a new
  placeholder is added there (with a sample the parser accepts) rather than slipping through;
- `[ ... ]` is optional: the line is parsed with every optional part and with none;
- `…` alone at the end of a command means "and more options" and is dropped; anywhere else it
  stands for a value and is replaced by `x`.

What parses a command: `tox` by the small part of its grammar the pages use (see
:func:`_tox`), then each command of the environment, from tox.ini, with `{posargs}` replaced;
`python -m MODULE` by that module's own argparse parser (:data:`PARSERS`); options a runner
hands to Locust, and `locust` lines, by Locust's parser with the locustfile's options (in a
child process: importing Locust patches gevent into the importer); `pytest` by pytest itself
(`--collect-only`). Other programs (`sam`, `aws`, pip, venv) are not the project's and are
skipped; an unknown program is an error.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests import run, soak
from loadtests.deployed import cli

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"

PLACEHOLDERS = {
    "NAME": "create-order-dev",
    "RUN_ID": "run_1",
    "RUN_DIR": "reports/20261130-120000-load",
    "BASE": "latest",
    "NEW": "reports/20261130-120000-load",
    "<run>": "20261130-120000-load",
    "ADDR": "10.0.0.2",
    "PORT": "8080",
    "SUBCOMMAND": "seed",
    "N": "2",
    "FILE": "catalog.json",
    "DIR": "reports/elsewhere",
}
"""Every placeholder a command line may hold, and the sample value it is parsed with."""

ELLIPSIS = "…"
SHELL_BLOCKS = frozenset({"sh", "bash", "shell", "console"})
EXTERNAL = frozenset({"sam", "aws", "wait", "curl", "git", "cd", "rm", "npm", "node", "make", "open"})
"""Programs that are not the project's: their lines are not parsed here."""
EXTERNAL_MODULES = frozenset({"pip", "venv"})
SEPARATORS = frozenset({"&&", "&", ";", "|", "||"})

_PLACEHOLDER = re.compile(r"<[^<>\s]+>|(?<![\w-])[A-Z][A-Z0-9_]*(?![\w-])")
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_OPTIONAL = re.compile(r"\s*\[([^\[\]]*)\]")
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class CommandLine:
    """One command line of a page, as written (continuations joined), and where it is."""

    text: str
    line: int
    mention: bool = False
    """An inline ``tox -e NAME`` alone: it names the environment, whose commands are not parsed."""

    def __str__(self) -> str:
        return f"line {self.line}: `{self.text}`"


@dataclass
class Parse:
    """What a command line asks the parsers for: argvs for each kind, and the problems found so far."""

    modules: list[tuple[str, list[str]]] = field(default_factory=list)
    locust: list[list[str]] = field(default_factory=list)
    pytest: list[tuple[dict[str, str], list[str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---- finding the command lines -------------------------------------------------------------


def command_lines(markdown: str) -> list[CommandLine]:
    """Every command line of the page: code blocks' lines and inline spans, in page order."""
    lines = markdown.splitlines()
    found: list[CommandLine] = []
    prose: list[str] = []
    fence: str | None = None
    pending, first = "", 0
    for number, line in enumerate(lines, start=1):
        opening = _FENCE.match(line)
        if fence is None and opening and line.startswith("```"):
            fence = opening[1]
            prose.append("")
            continue
        if fence is not None:
            if line.strip() == "```":
                fence = None
            elif fence in SHELL_BLOCKS:
                text = _without_comment(line).strip()
                first = first if pending else number
                if text.endswith("\\"):
                    pending += text[:-1].strip() + " "
                elif pending + text:
                    found.append(CommandLine(pending + text, first))
                    pending = ""
            prose.append("")
            continue
        prose.append(line)
    found += _inline_commands(prose)
    return sorted(found, key=lambda command: command.line)


def _without_comment(line: str) -> str:
    """The line up to a `#` that starts a shell comment (outside quotes, at a word's start)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _units(prose: list[str]) -> Iterator[tuple[int, str]]:
    """Paragraphs, list items and table rows, each with its first line's number."""
    start, text = 0, ""
    for number, line in enumerate(prose, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("|", "- ", "* ")) or re.match(r"\d+\. ", stripped):
            if text:
                yield start, text
            start, text = number, stripped
            continue
        if text:
            text += "\n" + stripped
        else:
            start, text = number, stripped
    if text:
        yield start, text


def _inline_commands(prose: list[str]) -> list[CommandLine]:
    found = []
    for start, unit in _units(prose):
        context = ""
        for span in re.finditer(r"(`+)(.+?)\1", unit, re.DOTALL):
            text = " ".join(span[2].replace("\\\n", " ").split())  # a `\` ending a line continues it
            line = start + unit[: span.start()].count("\n")
            if text.startswith("-- "):
                found.append(CommandLine(f"{context} {text}" if context else text, line))
            elif _is_command(text):
                found.append(
                    CommandLine(text, line, mention=re.fullmatch(r"(?:\S*/)?tox -e [\w,-]+", text) is not None)
                )
                if tox := re.match(r"(?:\S*/)?tox(?: run)? -e (\S+)", text):
                    context = f"tox -e {tox[1]}"
    return found


def _is_command(text: str) -> bool:
    words = [word for word in text.split() if not _ENV_ASSIGNMENT.match(word)]
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]
    return program in {"tox", "locust"} or (program in {"python", "python3"} and words[1:2] == ["-m"])


# ---- from a line to what parses it ------------------------------------------------------------


def parse_requests(command: CommandLine, tox_ini: Path = ROOT / "tox.ini") -> Parse:
    """What ``command`` asks each parser to read, every optional variant of it included."""
    request = Parse()
    if command.text.startswith("-- "):
        request.problems.append("a `-- ...` fragment with no `tox -e NAME` before it in its paragraph")
        return request
    tox = _read_tox(tox_ini)
    for variant in _variants(command.text):
        try:
            tokens = shlex.split(variant)
        except ValueError as exc:
            if variant.split()[0] not in EXTERNAL:  # someone else's line may quote as it likes
                request.problems.append(f"not a shell line: {exc}")
            continue
        for segment in _segments(tokens):
            _segment(segment, tox, request, mention=command.mention)
    return request


def _variants(text: str) -> list[str]:
    """The line with every optional part, and with none (the same line when it has none)."""
    every = _OPTIONAL.sub(lambda match: " " + match[1], text)
    none = _OPTIONAL.sub("", text)
    return list(dict.fromkeys([every, none]))


def _segments(tokens: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for token in tokens:
        if token in SEPARATORS:
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _segment(tokens: list[str], tox: configparser.ConfigParser, request: Parse, *, mention: bool) -> None:
    env: dict[str, str] = {}
    while tokens and _ENV_ASSIGNMENT.match(tokens[0]):
        name, _, value = tokens[0].partition("=")
        env[name] = value
        tokens = tokens[1:]
    if not tokens:
        return
    program = tokens[0].rsplit("/", 1)[-1]
    if program in EXTERNAL:
        return
    if program in {"python", "python3"} and tokens[1:2] == ["-m"] and len(tokens) > 2:
        module, rest = tokens[2], tokens[3:]
        if module in EXTERNAL_MODULES:
            return
        program, tokens = module, [module, *rest]
    elif program in {"python", "python3"}:
        request.problems.append(f"`{shlex.join(tokens)}`: run the project's code as `python -m MODULE`")
        return
    arguments = _filled(tokens[1:], request)
    if arguments is None:
        return
    if program == "tox":
        _tox([*arguments, "--notest"] if mention else arguments, env, tox, request)
    elif program == "locust":
        _locust(arguments, request)
    elif program == "pytest":
        request.pytest.append((env, arguments))
    elif program in PARSERS:
        request.modules.append((program, arguments))
    else:
        request.problems.append(f"`{tokens[0]}`: no parser known for it (add it to PARSERS or EXTERNAL)")


def _filled(arguments: list[str], request: Parse) -> list[str] | None:
    """The arguments with each placeholder replaced by its sample; ``None`` after an unknown one."""
    if arguments[-1:] == [ELLIPSIS]:
        arguments = arguments[:-1]
    filled = []
    for argument in arguments:
        unknown = [found for found in _PLACEHOLDER.findall(argument) if found not in PLACEHOLDERS]
        if unknown:
            request.problems.append(f"unknown placeholder {', '.join(unknown)} (add a sample to PLACEHOLDERS)")
            return None
        text = _PLACEHOLDER.sub(lambda match: PLACEHOLDERS[match[0]], argument)
        filled.append(text.replace(ELLIPSIS, "x"))
    return filled


def _read_tox(path: Path) -> configparser.ConfigParser:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(path)
    return tox


def _tox_value(tox: configparser.ConfigParser, env: str, key: str) -> str:
    section = f"testenv:{env}"
    return tox.get(section, key, fallback=None) or tox.get("testenv", key, fallback="")


def _tox(arguments: list[str], env: dict[str, str], tox: configparser.ConfigParser, request: Parse) -> None:
    """tox's own part of the line, then each command of each environment it runs.

    The grammar the pages use: ``tox [run] [-e ENV[,ENV]] [--notest] [-- POSARGS]``; anything
    else is refused here, so that a new tox option is added on purpose.
    """
    envs: list[str] = []
    notest = False
    posargs: list[str] = []
    rest = list(arguments)
    if rest[:1] == ["run"]:
        rest = rest[1:]
    while rest:
        word = rest.pop(0)
        if word == "--":
            posargs, rest = rest, []
        elif word == "-e" and rest:
            envs += rest.pop(0).split(",")
        elif word == "--notest":
            notest = True
        else:
            request.problems.append(f"tox: `{word}` is not an option this check knows")
            return
    known = {section.removeprefix("testenv:") for section in tox.sections() if section.startswith("testenv:")}
    if not envs:
        envs = [name.strip() for name in tox.get("tox", "env_list").split(",")]
    for name in envs:
        if name not in known:
            request.problems.append(f"tox: no environment `{name}` in tox.ini")
            continue
        passed = set(_tox_value(tox, name, "pass_env").split()) | set(_setenv_names(_tox_value(tox, name, "set_env")))
        request.problems += [
            f"tox -e {name} does not pass {variable} to its commands" for variable in env.keys() - passed
        ]
        if not notest:
            _tox_commands(name, _tox_value(tox, name, "commands"), posargs, request)


def _setenv_names(value: str) -> list[str]:
    return [line.split("=", 1)[0].strip() for line in value.splitlines() if "=" in line]


def _tox_commands(env: str, commands: str, posargs: list[str], request: Parse) -> None:
    lines = [line.strip() for line in commands.splitlines() if line.strip()]
    takes = [line for line in lines if "{posargs" in line]
    if posargs and not takes:
        request.problems.append(
            f"tox -e {env}: its commands take no arguments, yet the line gives {shlex.join(posargs)}"
        )
        return
    for line in lines:
        tokens: list[str] = []
        for token in shlex.split(line.replace("{toxinidir}", str(ROOT)).replace("{/}", "/")):
            if match := re.fullmatch(r"\{posargs(?::(.*))?\}", token):
                tokens += posargs or shlex.split(match[1] or "")
            else:
                tokens.append(token)
        program = tokens[0]
        if program == "python" and tokens[1:2] == ["-m"] and tokens[2] in PARSERS:
            request.modules.append((tokens[2], tokens[3:]))
        elif program == "pytest" and posargs:
            request.pytest.append(({}, tokens[1:]))
        elif posargs and line in takes:
            request.problems.append(f"tox -e {env}: no parser known for `{program}`, which gets the line's arguments")


def _locust(arguments: list[str], request: Parse) -> None:
    files = [arguments[index + 1] for index, word in enumerate(arguments[:-1]) if word in {"-f", "--locustfile"}]
    if [(ROOT / name).resolve() for name in files] != [LOCUSTFILE]:
        request.problems.append("locust: name the project's locustfile once, `-f loadtests/locustfile.py`")
        return
    request.locust.append(arguments)


# ---- the project's parsers ----------------------------------------------------------------------


def _locust_commands(args: argparse.Namespace, extra: list[str]) -> list[list[str]]:
    """The Locust command lines a runner would start for these options (the part after ``-m locust``)."""
    url, run_dir, target = "http://127.0.0.1:8080/local", Path("reports/check"), ["--stage-file", "stage.json"]
    commands = run.locust_commands(args, extra, url, run_dir, target)
    return [command[command.index("locust") + 1 :] for command in commands]


def _main_job(argv: list[str]) -> list[list[str]]:
    return _locust_commands(*run.arguments(argv))


def _soak(argv: list[str]) -> list[list[str]]:
    return _locust_commands(*run.arguments(soak.command_line(argv)))


def _remote(argv: list[str]) -> list[list[str]]:
    args, extra = cli.arguments(argv)
    return _locust_commands(args, extra) if args.command == "run" else []


def _plain(module: str) -> Callable[[list[str]], list[list[str]]]:
    """A command whose module builds its whole parser in ``parser()`` and hands nothing on."""

    def parse(argv: list[str]) -> list[list[str]]:
        importlib.import_module(module).parser().parse_args(argv)
        return []

    return parse


def _runreport(argv: list[str]) -> list[list[str]]:
    """``python -m runreport``: drawing a run, or ``compare`` with its own parser."""
    importlib.import_module("runreport.__main__").arguments(argv)
    return []


PARSERS: dict[str, Callable[[list[str]], list[list[str]]]] = {
    "loadtests.run": _main_job,
    "loadtests.soak": _soak,
    "loadtests.deployed": _remote,
    "localstage": _plain("localstage.__main__"),
    "loadtests.audit": _plain("loadtests.audit.cli"),
    "runreport": _runreport,
    "dashboards": _plain("dashboards.__main__"),
    "scripts.openapi": _plain("scripts.openapi"),
    "scripts.mutate": _plain("scripts.mutate_cli"),
    "benchmarks.run": _plain("benchmarks.run"),
    "benchmarks.loadgen": _plain("benchmarks.loadgen"),
    "loadtests.tune": _plain("loadtests.tune"),
}
"""``python -m MODULE`` -> its parser: parses the argv (argparse's SystemExit on an error) and
returns the Locust command lines it would hand on (the runners pass options they do not know to
Locust)."""


# ---- running the parsers -----------------------------------------------------------------------


def module_problems(request: Parse) -> list[str]:
    """Each ``python -m`` argv through its module's parser: argparse's error, if any; Locust's argvs collected."""
    problems = []
    for module, argv in request.modules:
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                request.locust += PARSERS[module](argv)
        except SystemExit as exit_:
            error = stderr.getvalue().strip().splitlines()
            problems.append(f"python -m {module} {shlex.join(argv)}: exit {exit_.code}: {error[-1] if error else ''}")
    return problems


def locust_problems(argvs: list[list[str]]) -> list[str | None]:
    """Each argv through Locust's own parser with the locustfile's options: its error, or None."""
    with tempfile.TemporaryDirectory() as scratch:
        answers = Path(scratch) / "answers.json"
        subprocess.run(
            [sys.executable, "-m", "tests.support.locust_arguments", str(answers)],
            input=json.dumps(argvs), text=True, cwd=ROOT, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        problems: list[str | None] = json.loads(answers.read_text())
    return problems


def pytest_problem(env: dict[str, str], argv: list[str]) -> str | None:
    """The arguments through pytest itself, collecting only: its error, or None."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *argv],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if done.returncode == 0:
        return None
    tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
    return f"pytest {shlex.join(argv)}: exit {done.returncode}: {' / '.join(tail)}"


def problems_of(commands: list[CommandLine]) -> list[str]:
    """Every problem of every command line, each naming its line; empty when they all parse."""
    found: list[str] = []
    locust: list[tuple[CommandLine, list[str]]] = []
    for command in commands:
        request = parse_requests(command)
        found += [f"{command}: {problem}" for problem in [*request.problems, *module_problems(request)]]
        locust += [(command, argv) for argv in request.locust]
        for env, argv in request.pytest:
            if problem := pytest_problem(env, argv):
                found.append(f"{command}: {problem}")
    answers = locust_problems([argv for _, argv in locust]) if locust else []
    for (command, argv), answer in zip(locust, answers, strict=True):
        if answer:
            found.append(f"{command}: locust {shlex.join(argv)}: {answer}")
    return found
