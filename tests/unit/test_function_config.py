"""The function as the stage runs it: how its environments' interpreter stands to the template's runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from localstage.function_config import FunctionConfig, interpreter_line

FUNCTION = FunctionConfig(code_dir=Path("function"), env={}, runtime="python3.14", architecture="arm64")


def test_the_runtime_s_own_version_on_its_own_architecture_is_what_lambda_loads() -> None:
    assert (
        interpreter_line(FUNCTION, (3, 14), "aarch64") == "python3.14: the host's CPython 3.14, the runtime's version"
    )


def test_another_version_says_the_package_s_pyc_cannot_load_and_the_source_is_imported() -> None:
    line = interpreter_line(FUNCTION, (3, 11), "aarch64")

    assert line == (
        "python3.14 on Lambda, CPython 3.11 here: the package's .pyc (for 3.14) cannot load on this host, "
        "so the environments import the function's source with 3.11"
    )


@pytest.mark.parametrize(("version", "machine"), [((3, 14), "x86_64"), ((3, 11), "AMD64")])
def test_another_architecture_is_named_beside_lambda_s(version: tuple[int, int], machine: str) -> None:
    assert interpreter_line(FUNCTION, version, machine).endswith("; x86_64 here, arm64 on Lambda")
