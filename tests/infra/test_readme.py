"""The README says what the code does: what it names and counts is read back from the code.

Every path of its layout table exists; every `tox -e NAME` it tells a person to run is an
environment of tox.ini; every alarm it names is one of the template's, and the one it calls the
experiments' stop condition is theirs; the main job's user count in the checks table is the
main job's own default; the folders the type check is said to cover are mypy's packages.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from pathlib import Path

from harness.template import load_template, resources_of_type
from loadtests.run import load_arguments

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def _layout_paths() -> list[str]:
    """Every path the layout table's first column names.

    ``a/{b,c}.py`` stands for two; a bare name after a path in the same cell is that path's sibling
    (```loadtests/distributed.py`, `roster.py```) when there is one, else at the root.
    """
    paths: list[str] = []
    for row in _section("Layout").splitlines():
        if not row.startswith("| `"):
            continue
        folder = ""
        for named in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if match := re.fullmatch(r"(.*)\{(.+)\}(.*)", named):
                expanded = [match[1] + part + match[3] for part in match[2].split(",")]
            else:
                sibling = folder + named
                expanded = [named if "/" in named or not (ROOT / sibling).exists() else sibling]
            if "/" in named:
                folder = named.rsplit("/", 1)[0] + "/" if not named.endswith("/") else named
            paths.extend(expanded)
    return paths


def test_every_path_of_the_layout_table_exists() -> None:
    paths = _layout_paths()
    # A folder the runs write (reports/) is git-ignored, and absent from a fresh clone.
    outputs = {line for line in (ROOT / ".gitignore").read_text().splitlines() if line.endswith("/")}

    assert len(paths) > 20
    missing = [path for path in paths if not (ROOT / path).exists() and path not in outputs]
    assert missing == []


def test_every_tox_environment_the_readme_names_exists() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    environments = {section.removeprefix("testenv:") for section in tox.sections() if section.startswith("testenv:")}

    named = set(re.findall(r"tox -e ([a-z][a-z-]*)", README))

    assert named
    assert named - environments == set()


def test_every_alarm_the_readme_names_is_the_templates_and_the_stop_condition_is_the_experiments() -> None:
    template = load_template()
    alarms = set(resources_of_type(template, "AWS::CloudWatch::Alarm")) | set(
        resources_of_type(template, "AWS::CloudWatch::CompositeAlarm")
    )
    named = set(re.findall(r"`([A-Z][A-Za-z]+Alarm)`", README))
    stop_conditions = {
        condition["Value"]["Fn::GetAtt"][0]
        for experiment in resources_of_type(template, "AWS::FIS::ExperimentTemplate").values()
        for condition in experiment["Properties"]["StopConditions"]
    }

    assert named - alarms == set()
    [stop] = stop_conditions
    said = set(re.findall(r"stopped by the composite `(\w+Alarm)`", README))
    said |= set(re.findall(r"`(\w+Alarm)` \([^)]*\bis the stop condition\b", README))
    assert said == {stop}


def test_the_checks_table_gives_the_main_job_s_own_user_count() -> None:
    [row] = [line for line in _section("Checks").splitlines() if line.startswith("| `tox -e unit`")]
    [users] = re.findall(r"(\d+)-user main-job run", row)

    assert int(users) == load_arguments("", "60s", 20).get_default("users")


def test_the_checks_table_names_the_folders_mypy_checks() -> None:
    [row] = [line for line in _section("Checks").splitlines() if line.startswith("| `tox -e type`")]
    named = set(re.findall(r"`([a-z_]+)/`", row))
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    # The function's package is found under mypy_path (function/); the harness's at the root.
    folders = {"function" if package == "create_order" else package for package in packages}

    assert named == folders


EMULATION_ROWS = {
    "runtime client", "Runtime API", "concurrency and throttles", "memory limit", "CPU share", "init", "timeout",
    "billing", "payload limits",
}  # fmt: skip
"""What the local stage must emulate of Lambda, each held by a test (issue 24)."""


def _emulation_table() -> dict[str, tuple[str, str]]:
    """The rows of the local stage's table of what it emulates of Lambda: what, locally, held by."""
    section = _section("The local stage")
    start = section.index("**What the local stage emulates of Lambda, and what it does not.**")
    rows = {}
    for line in section[start:].splitlines()[1:]:
        if line.startswith("| ") and not line.startswith("| Lambda's |"):
            what, locally, held = (cell.strip() for cell in line.strip("|").split(" | "))
            rows[what] = (locally, held)
        elif rows and not line.startswith("|"):
            break
    return rows


def _test_functions(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.FunctionDef)}


def test_every_row_lambda_emulates_is_held_by_tests_that_exist_and_every_other_says_why() -> None:
    rows = _emulation_table()

    assert set(rows) >= EMULATION_ROWS
    for what, (locally, held) in rows.items():
        if locally.startswith("not emulated"):
            assert held == "—", what
            assert len(locally) > len("not emulated: ") + 20, f"{what}: say why"
            continue
        named = re.findall(r"`(tests/[^`:]+\.py)::(test_\w+)`", held)
        assert named, f"{what}: no test holds it"
        for file, test in named:
            assert test in _test_functions(ROOT / file), f"{what}: {file}::{test} does not exist"
