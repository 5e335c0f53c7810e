"""What `sam build` packages: the pinned dependencies, for the runtime the template names."""

from __future__ import annotations

import configparser
import re
import tomllib

from tests.support.template import FUNCTION, TEMPLATE, load_template, resource

ROOT = TEMPLATE.parent


def _requirement_set(lines: list[str]) -> set[str]:
    # Normalised: no comments, no whitespace, names case-folded.
    stripped = (line.partition("#")[0] for line in lines)
    return {re.sub(r"\s+", "", line).lower() for line in stripped if line.strip()}


def _make_variable(name: str) -> str:
    makefile = (ROOT / "function" / "Makefile").read_text()
    [value] = re.findall(rf"^{name}\s*:?=\s*(\S+)\s*$", makefile, flags=re.MULTILINE)
    return value


def _runtime_python() -> str:
    runtime = resource(load_template(), FUNCTION)["Properties"]["Runtime"]
    return runtime.removeprefix("python")


def test_lambda_requirements_equal_the_project_dependencies() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = (ROOT / "function" / "requirements.txt").read_text().splitlines()

    assert _requirement_set(requirements) == _requirement_set(pyproject["project"]["dependencies"])


def test_lambda_requirements_are_pinned() -> None:
    requirements = _requirement_set((ROOT / "function" / "requirements.txt").read_text().splitlines())

    assert requirements
    assert all("==" in requirement for requirement in requirements), requirements


def test_makefile_installs_wheels_for_the_template_runtime() -> None:
    assert _make_variable("RUNTIME_PYTHON") == _runtime_python()


def test_makefile_compiles_with_a_pyodide_of_the_template_runtime() -> None:
    # Pyodide's version is <CPython major><minor>.<n>.<m>: 314.0.7 is CPython 3.14
    major, minor = _runtime_python().split(".")

    assert _make_variable("PYODIDE_VERSION").split(".")[0] == major + minor


def test_build_env_checks_the_package_for_the_template_runtime() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")

    [check] = [line for line in tox["testenv:build"]["commands"].splitlines() if "check_package.py" in line]
    assert check.split("--runtime")[1].split() == [f"python{_runtime_python()}"]
