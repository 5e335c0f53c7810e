"""Which tests can tell a mutant from the original: those that run the statement it changes.

mutmut runs, for each mutant, every test that called the mutated *function* in its stats run.
On the request's path that is 150-250 tests per function, and a surviving mutant pays for all
of them (MUTATION.md, "What makes it faster"). A mutant differs from the original in one statement: a test that
never runs that statement runs the mutant exactly as it runs the original (the code before it
is the same), and so cannot kill it. ``tox -e mutate`` records which lines each test ran in the
stats run (``scripts/mutate.py``) and gives each mutant only the tests that ran its statement.

Pure bookkeeping over source text and line sets, so that it can be tested without mutmut:
:func:`changed_statement` finds the lines of the original that a mutant changes (widened to
the whole statement that holds them), :func:`choose_tests` picks the tests that ran one of them.
Where the change cannot be placed in one statement of the body (the signature, a default
value: code that runs when the function is defined or called, not on a line of its body), the
answer is "every test of the function", as mutmut would run.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_ORIGINAL = "__mutmut_orig"


@dataclass(frozen=True)
class Lines:
    """A range of lines of the mutated file, both ends included."""

    first: int
    last: int

    def ran_in(self, lines_run: Iterable[int]) -> bool:
        """Whether any of ``lines_run`` is one of these lines."""
        return any(self.first <= line <= self.last for line in lines_run)


class MutatedFile:
    """One of mutmut's mutated files (``mutants/...``): the original function and its mutants, by name."""

    def __init__(self, source: str) -> None:
        self._lines = source.splitlines()
        self._functions = {
            node.name: node
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def changed_statement(self, mutant_function: str) -> Lines | None:
        """The lines of the original function's smallest statement that holds everything ``mutant_function`` changes.

        ``mutant_function`` is the mutant's function name (``x_f__mutmut_3``,
        ``xǁClassǁmethod__mutmut_3``). ``None`` when the change is not within one statement of
        the body: the signature, or nothing found (then every test of the function is needed).
        """
        original_name = mutant_function.rsplit("__mutmut_", 1)[0] + _ORIGINAL
        original = self._functions.get(original_name)
        mutant = self._functions.get(mutant_function)
        if original is None or mutant is None or original.end_lineno is None or mutant.end_lineno is None:
            return None
        if self._signature(original).replace(original_name, "") != self._signature(mutant).replace(mutant_function, ""):
            return None
        start = original.body[0].lineno
        before = self._lines[start - 1 : original.end_lineno]
        after = self._lines[mutant.body[0].lineno - 1 : mutant.end_lineno]
        changes = [
            (i1, i2)
            for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
            if tag != "equal"
        ]
        if not changes:
            return None
        first = start + min(i1 for i1, _ in changes)
        last = start + max(max(i2 - 1, i1) for i1, i2 in changes)
        return _smallest_statement(original, first, min(last, original.end_lineno))

    def _signature(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        return "\n".join(self._lines[function.lineno - 1 : function.body[0].lineno - 1])


def _smallest_statement(function: ast.FunctionDef | ast.AsyncFunctionDef, first: int, last: int) -> Lines | None:
    """The shortest statement of ``function``'s body (at any depth) spanning ``first``..``last``."""
    best: Lines | None = None
    for node in ast.walk(function):
        if node is function or not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(decorator.lineno for decorator in decorators)])
        if (
            start <= first
            and last <= node.end_lineno
            and (best is None or node.end_lineno - start < best.last - best.first)
        ):
            best = Lines(start, node.end_lineno)
    return best


def choose_tests(
    statement: Lines | None,
    tests: Iterable[str],
    lines_run_by_test: Mapping[str, Iterable[int]],
    duration_by_test: Mapping[str, float],
) -> list[str]:
    """The tests that can kill a mutant of ``statement``, out of its function's ``tests``.

    ``lines_run_by_test`` holds the lines of the mutated file each test ran; a test missing
    from it (its lines were not recorded) is kept. Every test when the statement is unknown.
    When no test ran the statement, the mutant survives whatever runs: then the cheapest of
    ``tests`` alone, so that mutmut still runs one and records the survivor as such.
    """
    tests = list(tests)
    if statement is None:
        return tests
    chosen = [test for test in tests if test not in lines_run_by_test or statement.ran_in(lines_run_by_test[test])]
    if chosen or not tests:
        return chosen
    return [min(tests, key=lambda test: (duration_by_test.get(test, 0.0), test))]
