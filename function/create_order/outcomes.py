"""What each outcome of a request answers, in one table: its status, problem, metrics and log line.

A failure's whole answer comes from here (``answer_to``): its row, and what this very failure
fills in (the problem's detail and own members, the log line's fields, the Location). The
handler writes it and decides nothing; the domain errors (errors.py) carry what happened, not
how it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from create_order import names
from create_order.errors import (
    DependencyError,
    DuplicateRequestError,
    FieldProblem,
    ForbiddenError,
    IdempotencyKeyReusedError,
    PayloadTooLargeError,
    RequestError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one outcome is answered: the problem's status, title and type, its metrics, its log line."""

    status: int
    title: str
    slug: str
    """The problem type's last part, after ``api.PROBLEM_TYPE_PREFIX``."""
    metrics: tuple[str, ...]
    """Each counted once, in the service's dimension set, in this order."""
    log: Literal["info", "error", "exception"]
    """The logger method: ``exception`` also logs the stack trace (never sent to the client)."""
    message: str
    detail: str = ""
    """The problem's detail when the error carries none of its own."""
    by_dependency: tuple[str, ...] = ()
    """Each counted once more, by the failed dependency: a dimension set, so an EMF document, of its own."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One failure's whole answer: its row, and what this very failure adds to it."""

    outcome: Outcome
    detail: str
    members: dict[str, Any] = field(default_factory=dict)
    """The problem's members beyond RFC 9457's, after them."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The log line's fields (a ``None`` is left out of the line)."""
    errors: tuple[FieldProblem, ...] = ()
    """The problem's ``errors``: every failing field."""
    location: str | None = None
    """The ``Location`` header: the order the answer points to."""
    dependency: str | None = None
    """The failed dependency that the row's ``by_dependency`` metrics are counted by."""


_REJECTED = "request rejected"
_DEPENDENCY_FAILURE = Outcome(
    500, "Dependency failure", "dependency-failure", (names.DEPENDENCY_FAILURES,), "error", "dependency failed",
    detail="A dependency failed. Retry later.", by_dependency=(names.DEPENDENCY_FAILURES,),
)  # fmt: skip

OUTCOMES: dict[type[Exception], Outcome] = {
    RequestError: Outcome(400, "Invalid request", "validation-error", (names.REJECTED_REQUESTS,), "info", _REJECTED),
    UnauthorizedError: Outcome(401, "Unauthorized", "unauthorized", (names.REJECTED_REQUESTS,), "info", _REJECTED),
    ForbiddenError: Outcome(403, "Forbidden", "forbidden", (names.REJECTED_REQUESTS,), "info", _REJECTED),
    PayloadTooLargeError: Outcome(
        413, "Payload too large", "payload-too-large", (names.REJECTED_REQUESTS,), "info", _REJECTED
    ),
    UnsupportedMediaTypeError: Outcome(
        415, "Unsupported media type", "unsupported-media-type", (names.REJECTED_REQUESTS,), "info", _REJECTED
    ),
    DuplicateRequestError: Outcome(
        409, "Duplicate request", "duplicate-request", (names.DUPLICATE_REQUESTS,), "info",
        "duplicate request; order re-queued",
    ),
    IdempotencyKeyReusedError: Outcome(
        409, "Idempotency-Key reused", "idempotency-key-reused", (names.IDEMPOTENCY_KEY_REUSED,), "info",
        "idempotency key reused with another payload",
    ),
    DependencyError: _DEPENDENCY_FAILURE,
    Exception: Outcome(
        500, "Internal error", "internal-error", (names.UNHANDLED_ERRORS,), "exception", "unhandled error",
        detail="The order could not be created because of an internal error",
    ),
}  # fmt: skip
"""Each outcome by its error class; a subclass not listed answers as its nearest listed base."""

DEPENDENCY_OUTCOMES: dict[str, Outcome] = {
    names.PRODUCTS_TABLE: replace(_DEPENDENCY_FAILURE, detail="The product catalog could not be read. Retry later."),
    names.ORDERS_TABLE: replace(_DEPENDENCY_FAILURE, detail="The order could not be stored. Retry later."),
    names.PROCESSING_QUEUE: replace(
        _DEPENDENCY_FAILURE, detail="The order was stored but could not be queued for processing. Retry later."
    ),
}
"""A failed dependency's row, by dependency; the ``DependencyError`` row for any other."""

NOT_QUEUED = replace(
    _DEPENDENCY_FAILURE,
    metrics=(names.DEPENDENCY_FAILURES, names.ORDERS_NOT_QUEUED),
    detail="The order was stored but could not be queued; retry with the same Idempotency-Key. Retry later.",
)
"""A dependency failed after the order was stored: whichever it was, a retry with the key heals it."""


def outcome_of(error: Exception) -> Outcome:
    """The row of ``error``'s class, or of its nearest listed base."""
    for cls in type(error).__mro__:
        outcome = OUTCOMES.get(cls)
        if outcome is not None:
            return outcome
    return OUTCOMES[Exception]  # not reached: every exception is an Exception


def answer_to(error: Exception) -> Answer:
    """The whole answer to ``error``: its row, filled in with what this failure adds to it."""
    if isinstance(error, DependencyError):
        return _dependency_failure(error)
    outcome = outcome_of(error)
    if isinstance(error, DuplicateRequestError):
        order_id = error.order["id"]
        return Answer(
            outcome,
            error.detail,
            members={"order": error.order},
            fields={"order_id": order_id},
            location=f"/orders/{order_id}",
        )
    if isinstance(error, IdempotencyKeyReusedError):
        return Answer(outcome, error.detail, fields={"order_id": error.order_id})
    if isinstance(error, RequestError):
        # Capped: the log line's size is the client's to choose otherwise (paths, and how many).
        fields = [problem.field[:100] for problem in error.errors[:20]]
        return Answer(
            outcome,
            error.detail,
            fields={"status": outcome.status, "problem": outcome.slug, "fields": fields},
            errors=error.errors,
        )
    return Answer(outcome, outcome.detail)


def _dependency_failure(error: DependencyError) -> Answer:
    members: dict[str, Any] = {"dependency": error.dependency}
    if error.order_id is None:
        outcome = DEPENDENCY_OUTCOMES.get(error.dependency, outcome_of(error))
    else:
        outcome = NOT_QUEUED
        members["order_id"] = error.order_id
    return Answer(
        outcome,
        outcome.detail,
        members=members,
        fields={
            "dependency": error.dependency,
            "error_code": error.code,
            "reason": error.detail,
            "order_id": error.order_id,
        },
        dependency=error.dependency,
    )
