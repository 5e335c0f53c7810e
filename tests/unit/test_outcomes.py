"""The outcome table: each domain error answers by its own row, or by its nearest listed base's."""

from __future__ import annotations

import pytest

from create_order import names
from create_order.errors import (
    CatalogDataError,
    DependencyError,
    FieldProblem,
    ForbiddenError,
    ValidationError,
)
from create_order.outcomes import OUTCOMES, outcome_of


@pytest.mark.parametrize(
    ("error", "status", "slug", "metric", "log"),
    [
        (ValidationError("bad", [FieldProblem("items", "too_short", "x")]), 400, "validation-error",
         names.REJECTED_REQUESTS, "info"),
        (ForbiddenError("not yours"), 403, "forbidden", names.REJECTED_REQUESTS, "info"),
        (CatalogDataError("ProductsTable", "bad price", code="InvalidPrice"), 500, "dependency-failure",
         names.DEPENDENCY_FAILURES, "error"),
        (KeyError("a bug"), 500, "internal-error", names.UNHANDLED_ERRORS, "exception"),
    ],
)  # fmt: skip
def test_an_error_answers_by_its_nearest_row(error: Exception, status: int, slug: str, metric: str, log: str) -> None:
    # Given an error, listed or only its base
    # When its outcome is looked up
    outcome = outcome_of(error)

    # Then it is that row's status, problem type, metric and log level
    assert (outcome.status, outcome.slug, outcome.metric, outcome.log) == (status, slug, metric, log)


def test_a_subclass_answers_as_its_base_not_as_the_last_line_of_defence() -> None:
    assert outcome_of(CatalogDataError("ProductsTable", "x", code="c")) is OUTCOMES[DependencyError]
    assert outcome_of(RuntimeError()) is OUTCOMES[Exception]
