"""The package check that `tox -e build` runs after `sam build` catches what it is there for."""

from __future__ import annotations

import py_compile
from pathlib import Path

from scripts.check_package import MAGIC, problems


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "CreateOrderFunction"
    (package / "create_order").mkdir(parents=True)
    (package / "create_order" / "handler.py").write_text("X = 1\n")
    return package


def _fake_pyc(source: Path, runtime: str, flags: int = 1) -> None:
    # The 16-byte header of an unchecked-hash .pyc of `runtime`; the code object is irrelevant here.
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(MAGIC[runtime].to_bytes(2, "little") + b"\r\n" + flags.to_bytes(4, "little") + bytes(8))


def test_package_compiled_for_the_runtime_passes(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")

    assert problems(package, "python3.14") == []


def test_source_without_a_runtime_pyc_fails(tmp_path: Path) -> None:
    package = _package(tmp_path)

    assert problems(package, "python3.14") == ["no cpython-314 .pyc for create_order/handler.py"]


def test_pyc_from_the_build_machines_python_fails(tmp_path: Path) -> None:
    # Given a package compiled by this machine's Python (3.11), as a plain `compileall` would
    package = _package(tmp_path)
    py_compile.compile(str(package / "create_order" / "handler.py"))

    found = problems(package, "python3.14")

    assert "no cpython-314 .pyc for create_order/handler.py" in found
    assert any("is for another Python" in problem for problem in found)


def test_timestamp_pyc_fails(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14", flags=0)

    assert problems(package, "python3.14") == [
        "create_order/__pycache__/handler.cpython-314.pyc is not an unchecked-hash .pyc"
    ]


def test_harness_in_the_package_fails(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")
    (package / "tests").mkdir()
    (package / "moto").mkdir()

    assert sorted(problems(package, "python3.14")) == [
        "moto does not belong in the Lambda package",
        "tests does not belong in the Lambda package",
    ]
