"""Check a built Lambda package: compiled for the runtime's CPython, and nothing but the function.

usage: python scripts/check_package.py <package dir> [--runtime python3.14]

Exits 1 with one line per problem. Run by ``tox -e build`` after ``sam build``.

The package cannot be imported here (its extension modules are CPython 3.14 for aarch64), so
"the imports work" is checked statically: every module the function imports at run time is in
the package or in the runtime's standard library, and every extension module is built for arm64.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

# importlib.util.MAGIC_NUMBER of each CPython release line Lambda runs (Lib/importlib/_bootstrap_external.py).
MAGIC = {"python3.12": 3531, "python3.13": 3571, "python3.14": 3627}
HARNESS = (
    "tests",
    "harness",
    "localstage",
    "loadtests",
    "chaos",
    "dashboards",
    "runreport",
    "benchmarks",
    "scripts",
    "events",
)
TEST_ONLY_PACKAGES = ("moto", "pytest", "_pytest", "hypothesis", "locust", "cfnlint", "samtranslator", "mypy")
BUILD_FILES = ("Makefile", "compile_pyc.mjs", "requirements.txt")
HANDLER = Path("create_order") / "handler.py"
FUNCTION_PACKAGE = "create_order"
# Standard-library modules this (3.11) interpreter lists that CPython 3.12/3.13 removed.
REMOVED_FROM_STDLIB = frozenset(
    [
        "aifc",
        "asynchat",
        "asyncore",
        "audioop",
        "cgi",
        "cgitb",
        "chunk",
        "crypt",
        "distutils",
        "imghdr",
        "imp",
        "lib2to3",
        "mailcap",
        "msilib",
        "nis",
        "nntplib",
        "ossaudiodev",
        "pipes",
        "smtpd",
        "sndhdr",
        "spwd",
        "sunau",
        "telnetlib",
        "uu",
        "xdrlib",
    ]
)
STDLIB = frozenset(sys.stdlib_module_names) - REMOVED_FROM_STDLIB
RUNTIME_PROVIDED = frozenset({"snapshot_restore_py"})
"""What Lambda's Python managed runtimes hold besides the standard library, for the function to
import (not ship): SnapStart's runtime hooks (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html)."""
ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183


def _cache_tag(runtime: str) -> str:
    return "cpython-" + runtime.removeprefix("python").replace(".", "")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Absolute module names a module imports when it runs (``if TYPE_CHECKING:`` blocks skipped)."""
    found: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and node.module != "__future__":
            found.add(node.module)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _resolves(package: Path, module: str) -> bool:
    top = module.partition(".")[0]
    if top in STDLIB or top in RUNTIME_PROVIDED:
        return True
    path = package.joinpath(*module.split("."))
    return (
        (path / "__init__.py").is_file()
        or path.with_suffix(".py").is_file()
        or any(path.parent.glob(f"{path.name}.*.so"))
    )


def import_problems(package: Path) -> list[str]:
    """Modules the function imports that neither the package nor the standard library holds."""
    found: list[str] = []
    for source in sorted((package / FUNCTION_PACKAGE).rglob("*.py")):
        tree = ast.parse(source.read_bytes(), filename=str(source))
        found.extend(
            f"{source.relative_to(package)} imports {module}, which the package does not hold"
            for module in sorted(_runtime_imports(tree))
            if not _resolves(package, module)
        )
    return found


def extension_problems(package: Path, runtime: str) -> list[str]:
    """Extension modules that are not arm64 ELF files for the runtime's CPython."""
    abi = f".cpython-{runtime.removeprefix('python').replace('.', '')}-aarch64-linux-gnu.so"
    found: list[str] = []
    for library in sorted(package.rglob("*.so")):
        name = library.relative_to(package)
        header = library.read_bytes()[:20]
        if header[:4] != ELF_MAGIC or int.from_bytes(header[18:20], "little") != EM_AARCH64:
            found.append(f"{name} is not an arm64 ELF library")
        elif ".cpython-" in library.name and not library.name.endswith(abi):
            found.append(f"{name} is built for another CPython or platform")
    return found


def problems(package: Path, runtime: str) -> list[str]:
    """Everything wrong with the package at ``package``."""
    found: list[str] = []
    if not (package / HANDLER).is_file():
        found.append(f"{HANDLER} is missing")
        return found
    tag = _cache_tag(runtime)
    magic = MAGIC[runtime].to_bytes(2, "little") + b"\r\n"
    sources = [p for p in package.rglob("*.py") if "__pycache__" not in p.parts]
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not pyc.is_file():
            found.append(f"no {tag} .pyc for {source.relative_to(package)}")
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != magic:
            found.append(f"{pyc.relative_to(package)} was compiled by another CPython")
        elif int.from_bytes(header[4:8], "little") != 1:
            found.append(f"{pyc.relative_to(package)} is not an unchecked-hash .pyc")
    found.extend(
        f"{stray.relative_to(package)} is for another Python"
        for stray in package.rglob("*.pyc")
        if not stray.name.endswith(f".{tag}.pyc")
    )
    found.extend(
        f"{name} does not belong in the Lambda package"
        for name in (*HARNESS, *TEST_ONLY_PACKAGES, *BUILD_FILES)
        if (package / name).exists()
    )
    found.extend(import_problems(package))
    found.extend(extension_problems(package, runtime))
    return found


def main() -> int:
    """Check the package named on the command line; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--runtime", default="python3.14", choices=sorted(MAGIC))
    args = parser.parse_args()
    found = problems(args.package, args.runtime)
    for problem in found:
        print(f"package: {problem}", file=sys.stderr)
    modules = sum(1 for p in args.package.rglob("*.pyc"))
    size = sum(p.stat().st_size for p in args.package.rglob("*") if p.is_file()) / 2**20
    summary = f"{modules} compiled modules ({args.runtime}), {size:.1f} MiB, {len(found)} problems"
    print(f"package {args.package}: {summary}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
