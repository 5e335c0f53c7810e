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


def _fake_library(path: Path, machine: int) -> None:
    # An ELF header up to e_machine (offset 18): all the check reads.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + bytes(14) + machine.to_bytes(2, "little"))


def test_import_the_package_does_not_hold_fails(tmp_path: Path) -> None:
    # Given a handler importing a dependency that was never installed into the package
    package = _package(tmp_path)
    (package / "create_order" / "handler.py").write_text("import json\nfrom pydantic import BaseModel\n")
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")

    found = problems(package, "python3.14")

    assert found == ["create_order/handler.py imports pydantic, which the package does not hold"]


def test_type_checking_imports_need_not_be_packaged(tmp_path: Path) -> None:
    package = _package(tmp_path)
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mypy_boto3_sqs import SQSClient\n"
    (package / "create_order" / "handler.py").write_text(source)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")

    assert problems(package, "python3.14") == []


def test_what_the_managed_runtime_provides_need_not_be_packaged(tmp_path: Path) -> None:
    # SnapStart's hooks come with Lambda's Python runtimes; awslambdaric does too, but the function never imports it
    package = _package(tmp_path)
    (package / "create_order" / "handler.py").write_text("from snapshot_restore_py import register_after_restore\n")
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")

    assert problems(package, "python3.14") == []


def test_import_removed_from_the_runtimes_stdlib_fails(tmp_path: Path) -> None:
    # Given an import this machine's Python still has but CPython 3.13+ does not
    package = _package(tmp_path)
    (package / "create_order" / "handler.py").write_text("import cgi\n")
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")

    assert problems(package, "python3.14") == ["create_order/handler.py imports cgi, which the package does not hold"]


def test_packaged_dependency_resolves(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "create_order" / "handler.py").write_text("import pydantic_core._pydantic_core\n")
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")
    (package / "pydantic_core").mkdir()
    (package / "pydantic_core" / "__init__.py").write_text("")
    _fake_pyc(package / "pydantic_core" / "__init__.py", "python3.14")
    _fake_library(package / "pydantic_core" / "_pydantic_core.cpython-314-aarch64-linux-gnu.so", machine=183)

    assert problems(package, "python3.14") == []


def test_x86_64_extension_module_fails(tmp_path: Path) -> None:
    # Given a wheel for this machine's platform rather than Lambda's arm64
    package = _package(tmp_path)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")
    _fake_library(package / "pydantic_core" / "_pydantic_core.cpython-314-aarch64-linux-gnu.so", machine=62)

    assert problems(package, "python3.14") == [
        "pydantic_core/_pydantic_core.cpython-314-aarch64-linux-gnu.so is not an arm64 ELF library"
    ]


def test_extension_module_for_another_cpython_fails(tmp_path: Path) -> None:
    package = _package(tmp_path)
    _fake_pyc(package / "create_order" / "handler.py", "python3.14")
    _fake_library(package / "wrapt" / "_wrappers.cpython-313-aarch64-linux-gnu.so", machine=183)

    assert problems(package, "python3.14") == [
        "wrapt/_wrappers.cpython-313-aarch64-linux-gnu.so is built for another CPython or platform"
    ]
