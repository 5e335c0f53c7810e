"""Mutation testing (``tox -e mutate``, not in CI): mutmut over the function and the audit, then the scores.

usage: python -m scripts.mutate [--max-children N] [--report-only] [--survivors] [TARGET ...]

A TARGET is a source path (``function/create_order``, ``function/create_order/api.py``,
``loadtests/audit.py``) or a mutmut mutant name or glob (``create_order.api.*``,
``loadtests.audit.x_audit__mutmut_3``); without one every mutant not yet checked is run.
Results are kept in ``mutants/`` (git-ignored) and reused while a function's source is
unchanged: ``rm -rf mutants`` for a run from scratch. MUTATION.md records the last full run.

Prints killed / survived / timed out per file and the score of each target group
(``scripts/mutation_score.py``), and exits 1 when a group whose mutants were all checked misses
its target. mutmut's configuration is ``[tool.mutmut]`` in pyproject.toml.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path, PurePath

import mutmut.__main__
import mutmut.mutation.file_mutation
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils import format_utils
from mutmut.utils.file_utils import walk_mutatable_files

from scripts.mutation_score import module_path, mutant_globs, report, tally_files


def _teach_mutmut_the_package_roots() -> None:
    """Make mutmut name the function's mutants as Python imports them (see :func:`module_path`)."""
    original = format_utils.get_mutant_name
    if getattr(original, "_package_roots", False):
        return

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        return original(Path(module_path(PurePath(relative_source_path))), mutant_method_name)

    get_mutant_name._package_roots = True  # type: ignore[attr-defined]
    for module in (format_utils, mutmut.__main__, mutmut.mutation.file_mutation):
        if module.get_mutant_name is not original:
            raise RuntimeError(f"mutmut has changed: {module.__name__}.get_mutant_name is not the one patched")
        module.get_mutant_name = get_mutant_name


def _verdicts() -> dict[str, list[str]]:
    """Each mutated file's verdicts as mutmut stored them in ``mutants/``."""
    verdicts = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        verdicts[path.as_posix()] = [status_by_exit_code[code] for code in data.exit_code_by_key.values()]
    return verdicts


def _print_survivors() -> None:
    """The diff of each surviving mutant, as ``mutmut show`` prints it."""
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            if code == 0:
                print(f"# {name}: survived")
                print(get_diff_for_mutant(name, path=path))


def main(argv: list[str] | None = None) -> int:
    """Run mutmut (unless ``--report-only``), then print the scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "targets", nargs="*", help="source paths or mutant names/globs (default: every unchecked mutant)"
    )
    parser.add_argument(
        "--max-children",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="parallel test runs (default: twice the cores: the tests spend much of their time in botocore's backoff)",
    )
    parser.add_argument("--report-only", action="store_true", help="print the stored scores without running")
    parser.add_argument("--survivors", action="store_true", help="also print the diff of every surviving mutant")
    args = parser.parse_args(argv)

    _teach_mutmut_the_package_roots()
    if not args.report_only:
        options = ["--max-children", str(args.max_children)]
        mutmut.__main__.cli.main(["run", *options, *mutant_globs(args.targets)], standalone_mode=False)
    if args.survivors:
        _print_survivors()
    lines, met = report(tally_files(_verdicts()))
    print("\n".join(lines))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
