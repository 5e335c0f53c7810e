"""The outcome table: each failure's whole answer, by its own row or its nearest listed base's."""

from __future__ import annotations

import pytest

from create_order import names
from create_order.errors import (
    CatalogDataError,
    DependencyError,
    DuplicateRequestError,
    FieldProblem,
    ForbiddenError,
    IdempotencyKeyReusedError,
    PayloadTooLargeError,
    RequestError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from create_order.outcomes import DEPENDENCY_OUTCOMES, NOT_QUEUED, OUTCOMES, answer_to, outcome_of

REJECTED = (names.REJECTED_REQUESTS,)


@pytest.mark.parametrize(
    ("error", "status", "title", "slug"),
    [
        (ValidationError("bad"), 400, "Invalid request", "validation-error"),
        (RequestError("bad"), 400, "Invalid request", "validation-error"),
        (UnauthorizedError("who"), 401, "Unauthorized", "unauthorized"),
        (ForbiddenError("not yours"), 403, "Forbidden", "forbidden"),
        (PayloadTooLargeError("big"), 413, "Payload too large", "payload-too-large"),
        (UnsupportedMediaTypeError("not json"), 415, "Unsupported media type", "unsupported-media-type"),
    ],
)
def test_a_refused_request_answers_by_its_row_with_its_own_detail(
    error: RequestError, status: int, title: str, slug: str
) -> None:
    # Given a request refused as sent, When it is answered
    answer = answer_to(error)

    # Then its row's problem, counted as a rejection, logged at info with where it failed
    outcome = answer.outcome
    assert (outcome.status, outcome.title, outcome.slug) == (status, title, slug)
    assert (outcome.metrics, outcome.by_dependency, outcome.log, outcome.message) == (
        REJECTED,
        (),
        "info",
        "request rejected",
    )
    assert (answer.detail, answer.members, answer.location, answer.dependency) == (error.detail, {}, None, None)
    assert answer.fields == {"status": status, "problem": slug, "fields": []}


def test_a_refused_request_lists_every_field_but_logs_a_bounded_few() -> None:
    # Given an invalid request with more and longer field paths than a log line should carry
    problems = [FieldProblem(f"{index:03}" + "x" * 200, "unknown_field", "No such field") for index in range(25)]

    # When it is answered
    answer = answer_to(ValidationError("The request has invalid fields", problems))

    # Then the problem lists them all, the log line the first 20, each cut to 100 characters
    assert answer.errors == tuple(problems)
    assert answer.fields["fields"] == [problem.field[:100] for problem in problems[:20]]
    assert len(answer.fields["fields"][0]) == 100


def test_a_duplicate_answers_with_the_existing_order_and_points_to_it() -> None:
    order = {"id": "ord-1", "status": "pending"}
    error = DuplicateRequestError(order)

    answer = answer_to(error)

    outcome = answer.outcome
    assert (outcome.status, outcome.title, outcome.slug) == (409, "Duplicate request", "duplicate-request")
    assert (outcome.metrics, outcome.log, outcome.message) == (
        (names.DUPLICATE_REQUESTS,),
        "info",
        "duplicate request; order re-queued",
    )
    assert answer.detail == error.detail
    assert (answer.members, answer.fields, answer.location) == (
        {"order": order},
        {"order_id": "ord-1"},
        "/orders/ord-1",
    )
    assert (answer.errors, answer.dependency) == ((), None)


def test_a_reused_key_answers_without_the_order_and_logs_which_it_was() -> None:
    error = IdempotencyKeyReusedError("ord-2")

    answer = answer_to(error)

    outcome = answer.outcome
    assert (outcome.status, outcome.title, outcome.slug) == (409, "Idempotency-Key reused", "idempotency-key-reused")
    assert (outcome.metrics, outcome.log, outcome.message) == (
        (names.IDEMPOTENCY_KEY_REUSED,),
        "info",
        "idempotency key reused with another payload",
    )
    assert answer.detail == error.detail
    assert (answer.members, answer.fields, answer.location) == ({}, {"order_id": "ord-2"}, None)


@pytest.mark.parametrize(
    ("dependency", "detail"),
    [
        (names.PRODUCTS_TABLE, "The product catalog could not be read. Retry later."),
        (names.ORDERS_TABLE, "The order could not be stored. Retry later."),
        (names.PROCESSING_QUEUE, "The order was stored but could not be queued for processing. Retry later."),
        ("FraudCheck", "A dependency failed. Retry later."),
    ],
)
def test_a_dependency_failure_answers_with_its_dependency_sentence_and_counts_by_it(
    dependency: str, detail: str
) -> None:
    # Given a dependency that failed before anything was stored
    error = DependencyError(dependency, f"{dependency} failed (Timeout)", code="Timeout")

    # When it is answered
    answer = answer_to(error)

    # Then it is a 500 naming the dependency, with its sentence, counted in total and by dependency
    outcome = answer.outcome
    assert (outcome.status, outcome.title, outcome.slug) == (500, "Dependency failure", "dependency-failure")
    assert (outcome.metrics, outcome.by_dependency) == ((names.DEPENDENCY_FAILURES,), (names.DEPENDENCY_FAILURES,))
    assert (outcome.log, outcome.message) == ("error", "dependency failed")
    assert (answer.detail, answer.members, answer.dependency) == (detail, {"dependency": dependency}, dependency)
    assert answer.fields == {
        "dependency": dependency,
        "error_code": "Timeout",
        "reason": f"{dependency} failed (Timeout)",
        "order_id": None,
    }
    assert (answer.errors, answer.location) == ((), None)


@pytest.mark.parametrize("dependency", [names.PROCESSING_QUEUE, names.ORDERS_TABLE])
def test_an_order_stored_but_not_queued_answers_with_its_id_and_is_counted_as_such(dependency: str) -> None:
    # Given a dependency that failed once the order was stored
    error = DependencyError(dependency, "failed (ServiceUnavailable)", code="ServiceUnavailable").with_order("ord-3")

    # When it is answered
    answer = answer_to(error)

    # Then the client learns which order to heal by a retry with the key; it counts as not queued too
    assert answer.outcome is NOT_QUEUED
    assert answer.detail == (
        "The order was stored but could not be queued; retry with the same Idempotency-Key. Retry later."
    )
    assert answer.members == {"dependency": dependency, "order_id": "ord-3"}
    assert answer.fields == {
        "dependency": dependency,
        "error_code": "ServiceUnavailable",
        "reason": "failed (ServiceUnavailable)",
        "order_id": "ord-3",
    }
    assert (NOT_QUEUED.metrics, NOT_QUEUED.by_dependency) == (
        (names.DEPENDENCY_FAILURES, names.ORDERS_NOT_QUEUED),
        (names.DEPENDENCY_FAILURES,),
    )
    assert (NOT_QUEUED.status, NOT_QUEUED.slug, NOT_QUEUED.log) == (500, "dependency-failure", "error")
    assert answer.dependency == dependency


def test_a_bug_answers_with_the_last_line_of_defence_alone() -> None:
    answer = answer_to(KeyError("a bug"))

    outcome = answer.outcome
    assert (outcome.status, outcome.title, outcome.slug) == (500, "Internal error", "internal-error")
    assert (outcome.metrics, outcome.by_dependency) == ((names.UNHANDLED_ERRORS,), ())
    assert (outcome.log, outcome.message) == ("exception", "unhandled error")
    assert answer.detail == "The order could not be created because of an internal error"
    assert (answer.members, answer.fields, answer.errors, answer.location, answer.dependency) == (
        {},
        {},
        (),
        None,
        None,
    )


def test_a_subclass_answers_as_its_base_not_as_the_last_line_of_defence() -> None:
    assert outcome_of(CatalogDataError("ProductsTable", "x", code="c")) is OUTCOMES[DependencyError]
    assert answer_to(CatalogDataError("ProductsTable", "x", code="c")).outcome is DEPENDENCY_OUTCOMES["ProductsTable"]
    assert outcome_of(ValidationError("x")) is OUTCOMES[RequestError]
    assert outcome_of(RuntimeError()) is OUTCOMES[Exception]
