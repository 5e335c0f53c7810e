"""The mutation scores' judge (scripts/mutation_score.py): a group under its target fails the run."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePath

from scripts.mutation_score import GROUPS, Tally, module_path, mutant_globs, report, tally_files

API = "function/create_order/api.py"
AUDIT = "loadtests/audit/judge.py"
GATE = "loadtests/gate.py"
ROOT = Path(__file__).resolve().parents[2]


def _verdicts(killed: int, survived: int, *, timeout: int = 0, unchecked: int = 0) -> list[str]:
    return ["killed"] * killed + ["survived"] * survived + ["timeout"] * timeout + ["not checked"] * unchecked


def test_a_fully_checked_group_under_its_target_fails_the_run() -> None:
    # Given the function's mutants all checked, 96 % killed
    tallies = tally_files({API: _verdicts(96, 4), AUDIT: _verdicts(100, 0)})

    # When they are reported
    lines, met = report(tallies)

    # Then the run fails, and the function's line says why
    assert not met
    assert any("function (target 97%): below target" in line and "96.0%" in line for line in lines)


def test_a_judge_under_its_target_fails_the_run_though_the_function_and_the_audit_meet_theirs() -> None:
    tallies = tally_files({API: _verdicts(100, 0), AUDIT: _verdicts(100, 0), GATE: _verdicts(94, 6)})

    lines, met = report(tallies)

    assert not met
    assert any("SLO gate (target 95%): below target" in line and "94.0%" in line for line in lines)


def test_groups_at_their_targets_pass() -> None:
    tallies = tally_files({API: _verdicts(97, 3), AUDIT: _verdicts(99, 1), GATE: _verdicts(95, 5)})

    lines, met = report(tallies)

    assert met
    assert sum("meets target" in line for line in lines) == 3


def test_every_group_is_a_path_mutmut_mutates_and_every_mutated_path_a_group() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]

    assert config["source_paths"] == [group.prefix.rstrip("/") for group in GROUPS]


def test_a_group_with_unchecked_mutants_is_not_judged_yet() -> None:
    # Given a partial run (one file's mutants only)
    tallies = tally_files({API: _verdicts(10, 10, unchecked=50)})

    lines, met = report(tallies)

    # Then no verdict fails the run, and the line says how many are left
    assert met
    assert any("50 not checked yet" in line for line in lines)


def test_a_timeout_counts_as_a_kill_and_other_verdicts_count_against() -> None:
    tally = Tally()
    for status in [*_verdicts(8, 1, timeout=1), "no tests"]:
        tally.add(status)

    assert (tally.killed, tally.survived, tally.timeout, tally.other) == (8, 1, 1, {"no tests": 1})
    assert tally.score == 9 / 11


def test_the_function_is_named_as_python_imports_it() -> None:
    assert module_path(PurePath(API)) == PurePath("create_order/api.py")
    assert module_path(PurePath(AUDIT)) == PurePath(AUDIT)


def test_source_paths_select_their_modules_mutants() -> None:
    assert mutant_globs(["function/create_order", API, "loadtests/audit", AUDIT, "create_order.money.*"]) == [
        "create_order.*",
        "create_order.api.*",
        "loadtests.audit.*",
        "loadtests.audit.judge.*",
        "create_order.money.*",
    ]
