"""Each mutant's tests (scripts/mutant_lines.py): those that ran the statement it changes, never fewer."""

from __future__ import annotations

from scripts.mutant_lines import Lines, MutatedFile, choose_tests

# A mutated file as mutmut writes it: the original function and its mutants side by side.
SOURCE = '''\
def x_price__mutmut_orig(items, rate=1):
    """Total of the items."""
    total = 0
    for item in items:
        if item.free:
            continue
        total += item.cost
    log(
        "priced",
        count=len(items),
    )
    return total * rate


def x_price__mutmut_1(items, rate=1):
    """Total of the items."""
    total = 0
    for item in items:
        if item.free:
            continue
        total += item.cost
    log(
        "priced",
        count=len(items),
    )
    return total * rate + 1


def x_price__mutmut_2(items, rate=1):
    """Total of the items."""
    total = 0
    for item in items:
        if item.free:
            continue
        total += item.cost
    log(
        "priced",
        )
    return total * rate


def x_price__mutmut_3(items, rate=2):
    """Total of the items."""
    total = 0
    for item in items:
        if item.free:
            continue
        total += item.cost
    log(
        "priced",
        count=len(items),
    )
    return total * rate


def x_price__mutmut_4(items, rate=1):
    """Total of the items."""
    total = 0
    for item in items:
        if not item.free:
            continue
        total += item.cost
    log(
        "priced",
        count=len(items),
    )
    return total * rate


class Cart:
    def xǁCartǁsize__mutmut_orig(self):
        return len(self.items)

    def xǁCartǁsize__mutmut_1(self):
        return len(None)
'''
RETURN = Lines(12, 12)
LOG_CALL = Lines(8, 11)
FOR_LOOP = Lines(4, 7)


def test_a_changed_line_is_placed_in_the_original_at_its_statement() -> None:
    mutated = MutatedFile(SOURCE)

    assert mutated.changed_statement("x_price__mutmut_1") == RETURN
    assert mutated.changed_statement("xǁCartǁsize__mutmut_1") == Lines(72, 72)


def test_a_change_inside_a_statement_over_several_lines_is_the_whole_statement() -> None:
    # Given a mutant that drops an argument of a call written over four lines
    assert MutatedFile(SOURCE).changed_statement("x_price__mutmut_2") == LOG_CALL


def test_a_changed_condition_is_its_compound_statement_whole() -> None:
    # The `if` line alone runs only with its loop; its statement spans the branch it guards.
    assert MutatedFile(SOURCE).changed_statement("x_price__mutmut_4") == Lines(5, 6)


def test_a_changed_signature_is_no_statement_so_every_test_stays() -> None:
    # A default value is read by every call, not on a line of the body
    statement = MutatedFile(SOURCE).changed_statement("x_price__mutmut_3")

    assert statement is None
    assert choose_tests(statement, ["a", "b"], {"a": [3], "b": [4]}, {}) == ["a", "b"]


def test_an_unknown_mutant_keeps_every_test() -> None:
    assert MutatedFile(SOURCE).changed_statement("x_price__mutmut_99") is None


def test_only_the_tests_that_ran_the_statement_are_kept() -> None:
    lines_run = {"empty-cart": [3, 4, 8, 9, 10, 12], "free-item": [3, 4, 5, 6, 8, 12], "priced-item": [3, 4, 5, 7]}

    assert choose_tests(FOR_LOOP, ["empty-cart", "free-item", "priced-item"], lines_run, {}) == [
        "empty-cart",
        "free-item",
        "priced-item",
    ]
    assert choose_tests(Lines(5, 6), ["empty-cart", "free-item", "priced-item"], lines_run, {}) == [
        "free-item",
        "priced-item",
    ]
    assert choose_tests(LOG_CALL, ["empty-cart", "free-item", "priced-item"], lines_run, {}) == [
        "empty-cart",
        "free-item",
    ]


def test_a_test_whose_lines_were_not_recorded_is_kept() -> None:
    assert choose_tests(RETURN, ["recorded", "unrecorded"], {"recorded": [3]}, {}) == ["unrecorded"]


def test_a_statement_no_test_ran_gets_the_cheapest_test_alone() -> None:
    # mutmut still runs one test, and records the mutant as the survivor it is
    chosen = choose_tests(
        RETURN,
        ["slow", "fast", "medium"],
        {"slow": [3], "fast": [3], "medium": [3]},
        {
            "slow": 2.0,
            "fast": 0.1,
            "medium": 0.5,
        },
    )

    assert chosen == ["fast"]
