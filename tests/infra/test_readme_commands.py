"""Every command line of the README parses with the parser that will read it; its figures are the code's.

The lines are found and parsed by ``tests/support/readme_commands.py`` (its docstring gives the
conventions for placeholders, optional parts and `…`): tox's environment and its commands from
tox.ini, each ``python -m MODULE`` by the module's own argparse parser, what a runner hands to
Locust and every ``locust`` line by Locust's parser with the locustfile's options, pytest's
arguments by pytest. A parser's error fails the test, naming the README line. No ``--help``:
the exact arguments are parsed.

The figures: the main job's users and run time as the Quick start states them, the soak's and
the chaos run's, the SLO gate's objectives and the distributed run's defaults, read back from
the parsers' defaults (which take the objectives from ``harness/slo.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import slo
from loadtests import run, soak
from tests.support.readme_commands import CommandLine, command_lines, parse_requests, problems_of

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
COMMANDS = command_lines(README)


def _texts(commands: list[CommandLine]) -> list[str]:
    return [command.text for command in commands]


def test_the_readme_s_command_lines_are_found_in_blocks_inline_and_as_fragments() -> None:
    texts = _texts(COMMANDS)

    assert len(texts) > 30
    assert any(
        " ".join(text.split()).startswith("tox -e deployed -- users --stack create-order-dev --count") for text in texts
    )
    assert "tox -e load -- --users 50 --run-time 2m --shape spike" in texts  # inline, across two lines
    assert "tox -e chaos -- --chaos sdk-blackhole" in texts  # a fragment, after its `tox -e chaos`
    assert "python -m runreport RUN_DIR" in texts
    assert any(text.startswith(".tox/load/bin/python -m locust -f loadtests/locustfile.py") for text in texts)
    assert not any(text.startswith("#") for text in texts)


def test_every_command_line_of_the_readme_parses() -> None:
    assert problems_of(COMMANDS) == []


# ---- the check itself: fed lines their parsers refuse, it fails and names them ---------------------


@pytest.mark.parametrize(
    ("line", "said"),
    [
        # The README's own lines before issue 22: the stage runner has subcommands since.
        ("tox -e deployed -- --stack create-order-staging --create-users 100", "python -m loadtests.deployed --stack"),
        ("tox -e deployed -- --stack create-order-staging --users 100 --run-time 10m &", "exit 2: "),
        ("tox -e load -- --users fifty", "invalid int value: 'fifty'"),
        ("tox -e deployed -- seed --stack NAME [--orders]", "unrecognized arguments: --orders"),
        ("tox -e load -- --no-such-option 1", "locust "),  # handed to Locust, which refuses it
        ("locust -f loadtests/locustfile.py --stage-file", "expected one argument"),
        ("locust -f other.py --host http://127.0.0.1:PORT", "the project's locustfile"),
        ("tox -e dashboards -- publish", "the following arguments are required: --stack"),
        ("python -m runreport", "the following arguments are required: run_dir"),
        ("tox -e lint -- --fix", "its commands take no arguments"),
        ("tox -e nosuch", "no environment `nosuch`"),
        ("tox --recreate -e load", "`--recreate` is not an option this check knows"),
        ("FOO=1 tox -e unit", "does not pass FOO"),
        ("tox -e deployed -- audit --stack STACK_NAME --run-id RUN_ID", "unknown placeholder STACK_NAME"),
        ("python -m loadtests.nothing", "no parser known"),
        ("frobnicate --now", "no parser known"),
        ("python scripts/openapi.py check", "as `python -m MODULE`"),
        ("tox -e unit -- tests/no_such_test_file.py", "pytest "),
    ],
)
def test_a_line_its_parser_refuses_fails_naming_the_line(line: str, said: str) -> None:
    problems = problems_of([CommandLine(line, 7)])

    assert problems
    assert all(problem.startswith(f"line 7: `{line}`: ") for problem in problems)
    assert said in "\n".join(problems)


def test_a_fragment_with_no_command_before_it_is_refused() -> None:
    [fragment] = command_lines("Then `-- --chaos sdk-blackhole` runs another plan.\n")

    assert problems_of([fragment]) == [
        "line 1: `-- --chaos sdk-blackhole`: a `-- ...` fragment with no `tox -e NAME` before it in its paragraph"
    ]


def test_lines_are_read_as_a_shell_would_and_the_venv_and_pip_steps_are_not_the_project_s() -> None:
    page = "\n".join(
        [
            "```sh",
            "python3 -m venv .venv && .venv/bin/python -m pip install -q tox==4.67.13 && .venv/bin/tox -e load  # job",
            "python3 -m venv .venv && .venv/bin/python -m pip install -q tox==4.67.13 && .venv/bin/tox run",
            "python3 -m pip install -q tox==4.67.13 && python3 -m tox -e soak -- \\",
            "    --run-time 30m",
            "# a comment line, and a line of someone else's:",
            "sam build && sam deploy --config-env dev",
            "```",
            "",
            "The openapi check: `tox -e openapi -- sync` / `-- check`; elsewhere `tox -e chaos`.",
            "",
            "- `tox -e bench` runs it; `-- --no-e2e` skips",
            "  the stage (`--smoke`: tiny).",
            "",
        ]
    )

    commands = command_lines(page)

    assert _texts(commands) == [
        "python3 -m venv .venv && .venv/bin/python -m pip install -q tox==4.67.13 && .venv/bin/tox -e load",
        "python3 -m venv .venv && .venv/bin/python -m pip install -q tox==4.67.13 && .venv/bin/tox run",
        "python3 -m pip install -q tox==4.67.13 && python3 -m tox -e soak -- --run-time 30m",
        "sam build && sam deploy --config-env dev",
        "tox -e openapi -- sync",
        "tox -e openapi -- check",
        "tox -e chaos",
        "tox -e bench",
        "tox -e bench -- --no-e2e",
    ]
    assert [command.line for command in commands] == [2, 3, 4, 7, 10, 10, 10, 12, 12]
    assert parse_requests(commands[0]).modules == [("loadtests.run", [])]
    assert parse_requests(commands[1]).modules == []  # tox.ini's env_list runs no `python -m` of ours
    assert parse_requests(commands[2]).modules == [("loadtests.soak", ["--run-time", "30m"])]
    assert parse_requests(commands[5]).modules == [("scripts.openapi", ["check"])]
    assert parse_requests(commands[7]).modules == []  # `tox -e bench` in prose names the environment
    assert parse_requests(commands[8]).modules == [("benchmarks.run", ["--no-e2e"])]
    assert problems_of(commands) == []


def test_a_bare_tox_e_name_in_prose_names_the_environment_and_in_a_code_block_runs_it() -> None:
    [named] = command_lines("A deployed stack's run (`tox -e deployed`), or (`tox -e stages`).\n")[:1]
    [unknown] = command_lines("A deployed stack's run (`tox -e stages`).\n")
    [run] = command_lines("```sh\ntox -e deployed\n```\n")

    assert named.mention
    assert problems_of([named]) == []
    assert problems_of([unknown]) == ["line 1: `tox -e stages`: tox: no environment `stages` in tox.ini"]
    assert not run.mention
    assert "the following arguments are required: {seed,users,run,audit,cost,cleanup}" in problems_of([run])[0]
    assert parse_requests(CommandLine("tox -e chaos", 1)).modules == [
        ("loadtests.run", ["--chaos", "default", "--run-time", "90s"])
    ]


def test_placeholders_optional_parts_and_the_ellipsis_are_filled_in() -> None:
    [request] = [parse_requests(CommandLine("tox -e deployed -- cleanup --stack NAME --run-id RUN_ID [--orders] …", 1))]
    [bare] = [parse_requests(CommandLine("tox -e dashboards -- …", 1))]
    [locust] = [parse_requests(CommandLine("locust -f loadtests/locustfile.py --host https://…/dev", 1))]

    assert request.modules == [
        ("loadtests.deployed", ["cleanup", "--stack", "create-order-dev", "--run-id", "run_1", "--orders"]),
        ("loadtests.deployed", ["cleanup", "--stack", "create-order-dev", "--run-id", "run_1"]),
    ]
    assert bare.modules == [("dashboards", ["check"])]  # tox.ini's {posargs:check}
    assert locust.locust == [["-f", "loadtests/locustfile.py", "--host", "https://x/dev"]]


# ---- the figures ---------------------------------------------------------------------------------


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return " ".join(README[start : end if end != -1 else len(README)].split())


def _seconds(run_time: str) -> float:
    """Locust's run time (``90s``, ``10m``, ``1h30m``) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", run_time)
    assert run_time, run_time
    assert parts is not None, run_time
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def _tox_job(env: str) -> tuple[str, list[str]]:
    [(module, argv)] = parse_requests(CommandLine(f"tox -e {env}", 0)).modules
    return module, argv


MAIN_JOB = run.arguments([])[0]
SOAK = run.arguments(soak.command_line([]))[0]
CHAOS = run.arguments(_tox_job("chaos")[1])[0]


@pytest.mark.parametrize(
    ("where", "pattern", "code"),
    [
        # The Quick start: "runs Locust headless at 100 users for 60 s".
        ("Quick start", r"\b(\d+) users\b", MAIN_JOB.users),
        ("Quick start", r"\bfor (\d+) s\b", _seconds(MAIN_JOB.run_time)),
        ("Checks", r"`tox -e soak` \| the soak: (\d+) users", SOAK.users),
        ("Checks", r"`tox -e soak` \| the soak: \d+ users for (\d+) minutes", _seconds(SOAK.run_time) / 60),
        (
            "Hardening: an adversary and time",
            r"the main job for (\d+) minutes at \d+ users",
            _seconds(SOAK.run_time) / 60,
        ),
        ("Hardening: an adversary and time", r"the main job for \d+ minutes at (\d+) users", SOAK.users),
        ("Faults and chaos", r"`tox -e chaos`: the main job at (\d+) users", CHAOS.users),
        ("Faults and chaos", r"`chaos/plans/default\.toml` \((\d+) s", _seconds(CHAOS.run_time)),
        ("Load tests", r"`--slo-p95-ms` \((\d+)\)", MAIN_JOB.slo_p95_ms),
        ("Load tests", r"`--slo-error-ratio` \((\d+) %\)", MAIN_JOB.slo_error_ratio * 100),
        ("Load tests", r"The master port is (\d+)", MAIN_JOB.master_port),
        ("Load tests", r"`--worker-wait-s` \((\d+) s\)", MAIN_JOB.worker_wait_s),
        ("The local stage", r"`--concurrency`, default (\d+)", MAIN_JOB.concurrency),
    ],
)
def test_a_figure_the_readme_gives_is_the_code_s(where: str, pattern: str, code: float) -> None:
    stated = [float(figure) for figure in re.findall(pattern, _section(where))]

    assert stated, f"the README's {where!r} no longer says {pattern!r}: update the figure's pattern"
    assert set(stated) == {code}


def test_the_gate_s_defaults_are_the_objectives() -> None:
    assert MAIN_JOB.slo_p95_ms == slo.LATENCY_P95_MS
    assert MAIN_JOB.slo_error_ratio == slo.SERVER_ERROR_RATIO
