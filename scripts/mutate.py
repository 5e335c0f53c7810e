"""Mutation testing (``tox -e mutate``, not in CI): mutmut over the function and every judge of a run, then the scores.

usage: python -m scripts.mutate [--max-children N] [--all-tests] [--report-only] [--survivors] [TARGET ...]

A TARGET is a source path (``function/create_order``, ``function/create_order/api.py``,
``loadtests/audit``, ``loadtests/audit/judge.py``, ``loadtests/gate.py``) or a mutmut mutant name or glob
(``create_order.api.*``, ``loadtests.audit.judge.x_audit__mutmut_3``); without one every mutant
not yet checked is run.
Results are kept in ``mutants/`` (git-ignored) and reused while a function's source is
unchanged: ``rm -rf mutants`` for a run from scratch. MUTATION.md records the last full run.

Prints killed / survived / timed out per file and the score of each target group
(``scripts/mutation_score.py``), and exits 1 when a group whose mutants were all checked misses
its target. mutmut's configuration is ``[tool.mutmut]`` in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import mutmut.__main__
import mutmut.mutation.file_mutation
from _pytest.unraisableexception import gc_collect_iterations_key
from mutmut.configuration import config
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.runners.harness import PytestRunner
from mutmut.state import state
from mutmut.stats import status_by_exit_code
from mutmut.utils import format_utils
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.workers.isolation import ForkRunner

from scripts.mutant_lines import MutatedFile, choose_tests
from scripts.mutate_cli import parser
from scripts.mutation_score import module_path, mutant_globs, report, tally_files

if TYPE_CHECKING:
    from collections.abc import Iterable

LINES_RUN = Path("mutants/mutmut-lines-run.json")
"""The lines of each mutated file that each test ran in the stats run (``_instrument_the_stats_run``)."""


def _teach_mutmut_the_package_roots() -> None:
    """Make mutmut name the function's mutants as Python imports them (see :func:`module_path`)."""
    original = format_utils.get_mutant_name
    if getattr(original, "_package_roots", False):
        return

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        return original(Path(module_path(PurePath(relative_source_path))), mutant_method_name)

    get_mutant_name._package_roots = True  # type: ignore[attr-defined]
    # Each module that imported the name holds its own reference (file_mutation does not re-export it).
    for module in (format_utils, mutmut.__main__, mutmut.mutation.file_mutation):
        names = vars(module)
        if names.get("get_mutant_name") is not original:
            raise RuntimeError(f"mutmut has changed: {module.__name__}.get_mutant_name is not the one patched")
        names["get_mutant_name"] = get_mutant_name


class _StatsPlugin:
    """A pytest plugin for mutmut's stats run: each test's whole cost, and the lines it runs.

    mutmut orders a mutant's tests by the time they took in the stats run, so that the
    cheapest runs first and ``-x`` stops at the first kill, and it sets each mutant's time limit
    from their sum; but it counts only the call phase. Here a test's setup (the moto backend,
    the clients) is much of its cost: counted, the cheapest test to kill a mutant runs first,
    and a survivor's time limit is the time its tests take, not a fraction of it.

    Each test's lines are recorded under its own coverage context (its node id).
    """

    def __init__(self, coverage: Any) -> None:
        self._coverage = coverage

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._coverage.switch_context(nodeid)

    @staticmethod
    def pytest_runtest_makereport(item: Any, call: Any) -> None:
        if call.when in {"setup", "teardown"}:
            state().duration_by_test[item.nodeid] += call.duration


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save_lines_run(data: Any) -> None:
    """Each mutated file's lines run per test, with the file's hash (merged into what earlier stats runs kept)."""
    kept = _load_lines_run()
    for measured in data.measured_files():
        path = Path(measured).resolve().relative_to(Path.cwd().resolve()).as_posix()
        entry = kept.get(path)
        sha = _sha256(Path(path))
        if entry is None or entry["sha256"] != sha:
            entry = kept[path] = {"sha256": sha, "tests": {}}
        tests: dict[str, set[int]] = {}
        for line, contexts in data.contexts_by_lineno(measured).items():
            for context in contexts:
                if context:
                    tests.setdefault(context, set()).add(line)
        entry["tests"].update({test: sorted(lines) for test, lines in tests.items()})
    LINES_RUN.write_text(json.dumps(kept))


def _load_lines_run() -> dict[str, Any]:
    try:
        return dict(json.loads(LINES_RUN.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _instrument_the_stats_run() -> None:
    """Make mutmut's stats run (``PytestRunner.run_stats``) count each test's setup, and record its lines."""
    original = PytestRunner.run_stats
    if getattr(original, "_instrumented", False):
        return

    def run_stats(self: PytestRunner, *, tests: Iterable[str]) -> int:
        import coverage  # noqa: PLC0415 (mutmut's own dependency, in the mutate env only)

        mutated = [f"{Path.cwd() / 'mutants' / path}{'/*' if path.is_dir() else ''}" for path in config().source_paths]
        cov = coverage.Coverage(data_file=None, include=mutated, config_file=False)
        execute = self.execute_pytest

        def execute_pytest(params: list[str], **kwargs: Any) -> int:
            kwargs["plugins"] = [*kwargs.get("plugins", []), _StatsPlugin(cov)]
            return execute(params, **kwargs)

        self.execute_pytest = execute_pytest  # type: ignore[method-assign]
        cov.start()
        try:
            return original(self, tests=tests)
        finally:
            cov.stop()
            del self.execute_pytest
            _save_lines_run(cov.get_data())

    run_stats._instrumented = True  # type: ignore[attr-defined]
    PytestRunner.run_stats = run_stats  # type: ignore[method-assign]


class _TestsByStatement:
    """For each mutant, the tests of its function that ran the statement it changes (``scripts/mutant_lines.py``)."""

    def __init__(self) -> None:
        self._lines_run = _load_lines_run()
        self._files: dict[str, tuple[MutatedFile, dict[str, list[int]]] | None] = {}
        self._paths = {
            ".".join(module_path(PurePath(path.with_suffix(""))).parts): (Path("mutants") / path).as_posix()
            for path in walk_mutatable_files()
        }

    def _file(self, mutant_name: str) -> tuple[MutatedFile, dict[str, list[int]]] | None:
        module = format_utils.mangled_name_from_mutant_name(mutant_name).rpartition(".")[0]
        path = self._paths.get(module)
        if path is None:
            return None
        if path not in self._files:
            entry = self._lines_run.get(path)
            if entry is not None and entry["sha256"] == _sha256(Path(path)):
                self._files[path] = (MutatedFile(Path(path).read_text()), entry["tests"])
            else:
                self._files[path] = None  # not in the stats, or changed since: mutmut's own selection
        return self._files[path]

    def select(self, mutant_name: str, tests: list[str]) -> list[str]:
        found = self._file(mutant_name)
        if found is None:
            return tests
        mutated, lines_run_by_test = found
        statement = mutated.changed_statement(mutant_name.rpartition(".")[2])
        return choose_tests(statement, tests, lines_run_by_test, state().duration_by_test)


def _run_only_the_tests_of_the_changed_statement() -> None:
    """Make mutmut give each mutant only the tests that ran the statement it changes."""
    original = ForkRunner.submit
    if getattr(original, "_by_statement", False):
        return
    selection: list[_TestsByStatement] = []

    def submit(
        self: ForkRunner, mutant_name: str, tests: list[str], cpu_time_limit: int, estimated_time: float
    ) -> None:
        if not selection:
            selection.append(_TestsByStatement())
        original(self, mutant_name, selection[0].select(mutant_name, tests), cpu_time_limit, estimated_time)

    submit._by_statement = True  # type: ignore[attr-defined]
    ForkRunner.submit = submit  # type: ignore[method-assign]


class _FirstFailure:
    """A pytest plugin for a mutant's run: the test that killed it, appended to ``KILLERS`` as ``function<TAB>test``."""

    def __init__(self, function: str, killers: Path) -> None:
        self._function = function
        self._killers = killers
        self._recorded = False

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and not self._recorded:
            self._recorded = True
            line = f"{self._function}\t{report.nodeid}\n".encode()
            descriptor = os.open(self._killers, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, line)  # one short write: whole lines, whatever the other workers append
            finally:
                os.close(descriptor)


class _NoForcedCollection:
    """A pytest plugin for a mutant's run: no full garbage collection when the session ends.

    pytest collects garbage at the end of each session to surface exceptions raised in
    finalizers (``unraisableexception.cleanup``), twice a session. In a child forked from
    mutmut's parent, which holds every test module and the stats run's state, each full
    collection took most of a killed mutant's run (MUTATION.md, "What makes it faster"). A mutant is judged by
    its tests' assertions, not by a warning a finalizer might raise, so the sessions of mutant
    runs skip it (as pytest's own ``pytester`` does for in-process runs).
    """

    @staticmethod
    def pytest_configure(config: Any) -> None:
        config.stash[gc_collect_iterations_key] = 0


def _killers_of(function: str, killers: Path) -> Counter[str]:
    """How many of ``function``'s mutants each test has killed so far in this run."""
    try:
        text = killers.read_text()
    except FileNotFoundError:
        return Counter()
    return Counter(test for name, _, test in (line.partition("\t") for line in text.splitlines()) if name == function)


FIRST_BATCH = 8
"""How many of a mutant's tests run in a first pytest session of their own (``_try_the_killers_first``)."""


def _try_the_killers_first() -> None:
    """Make each mutant's run start with the tests that killed its function's other mutants.

    mutmut runs a mutant's tests cheapest first and stops at the first failure. A test that
    killed one mutant of a function is the likeliest to kill the next (they change the same
    code), so those run first, the most successful first; then the others, cheapest first.
    Those first ``FIRST_BATCH`` tests run in a pytest session of their own, so that a kill does
    not pay for collecting the rest. Only the order changes: a mutant is killed if any of its
    tests fails, survives if none does.
    """
    original = PytestRunner.run_tests
    if getattr(original, "_killers_first", False):
        return
    killers = (Path("mutants") / "mutmut-killers.tsv").resolve()

    def run_tests(self: PytestRunner, *, mutant_name: str | None, tests: Iterable[str]) -> int:
        if mutant_name is None:
            return original(self, mutant_name=mutant_name, tests=tests)
        function = format_utils.mangled_name_from_mutant_name(mutant_name)
        kills = _killers_of(function, killers)
        ordered = [test for _, test in sorted(enumerate(tests), key=lambda pair: (-kills[pair[1]], pair[0]))]
        execute = self.execute_pytest

        def execute_pytest(params: list[str], **kwargs: Any) -> int:
            kwargs["plugins"] = [*kwargs.get("plugins", []), _FirstFailure(function, killers), _NoForcedCollection()]
            return execute(params, **kwargs)

        self.execute_pytest = execute_pytest  # type: ignore[method-assign]
        # pytest collects every test it is given before it runs the first (MUTATION.md, "What makes
        # it faster"): the likeliest killers go alone first, the rest only if they pass.
        first, rest = ordered[:FIRST_BATCH], ordered[FIRST_BATCH:]
        exit_code = original(self, mutant_name=mutant_name, tests=first)
        if exit_code != 0 or not rest:
            return exit_code
        return original(self, mutant_name=mutant_name, tests=rest)

    run_tests._killers_first = True  # type: ignore[attr-defined]
    PytestRunner.run_tests = run_tests  # type: ignore[method-assign]


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
    args = parser(__doc__.splitlines()[0]).parse_args(argv)

    _teach_mutmut_the_package_roots()
    _instrument_the_stats_run()
    if not args.all_tests:
        _run_only_the_tests_of_the_changed_statement()
    _try_the_killers_first()
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
