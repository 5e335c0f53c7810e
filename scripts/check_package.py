"""Check a built Lambda package: compiled for the runtime's CPython, and nothing but the function.

usage: python scripts/check_package.py <package dir> [--runtime python3.14]

Exits 1 with one line per problem. Run by ``tox -e build`` after ``sam build``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# importlib.util.MAGIC_NUMBER of each CPython release line Lambda runs (Lib/importlib/_bootstrap_external.py).
MAGIC = {"python3.12": 3531, "python3.13": 3571, "python3.14": 3627}
HARNESS = ("tests", "loadtests", "chaos", "dashboards", "benchmarks", "scripts", "events")
TEST_ONLY_PACKAGES = ("moto", "pytest", "_pytest", "hypothesis", "locust", "cfnlint", "samtranslator", "mypy")
BUILD_FILES = ("Makefile", "compile_pyc.mjs", "requirements.txt")
HANDLER = Path("create_order") / "handler.py"


def _cache_tag(runtime: str) -> str:
    return "cpython-" + runtime.removeprefix("python").replace(".", "")


def problems(package: Path, runtime: str) -> list[str]:
    """Everything wrong with the package at ``package``."""
    found: list[str] = []
    if not (package / HANDLER).is_file():
        found.append(f"{HANDLER} is missing")
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
    if not sources:
        found.append("the package holds no Python source")
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
