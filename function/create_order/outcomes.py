"""What each outcome of a request answers: its status, problem, metric and log line, in one table.

The handler reads this table and nothing else to turn a domain outcome into HTTP; the domain
errors (errors.py) carry what happened, not how it is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from create_order import names
from create_order.errors import (
    DependencyError,
    DuplicateRequestError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    PayloadTooLargeError,
    RequestError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one outcome is answered: the problem's status, title and type, the metric, the log line."""

    status: int
    title: str
    slug: str
    """The problem type's last part, after ``api.PROBLEM_TYPE_PREFIX``."""
    metric: str
    log: Literal["info", "error", "exception"]
    """The logger method: ``exception`` also logs the stack trace (never sent to the client)."""
    message: str
    detail: str = ""
    """The problem's detail when the error carries none of its own."""


DEPENDENCY_DETAIL = {
    names.PRODUCTS_TABLE: "The product catalog could not be read",
    names.ORDERS_TABLE: "The order could not be stored",
    names.PROCESSING_QUEUE: "The order was stored but could not be queued for processing",
}
"""A failed dependency's detail, by dependency; the dependency row's own detail for any other."""
NOT_QUEUED_DETAIL = "The order was stored but could not be queued; retry with the same Idempotency-Key"

_REJECTED = "request rejected"

OUTCOMES: dict[type[Exception], Outcome] = {
    RequestError: Outcome(400, "Invalid request", "validation-error", names.REJECTED_REQUESTS, "info", _REJECTED),
    UnauthorizedError: Outcome(401, "Unauthorized", "unauthorized", names.REJECTED_REQUESTS, "info", _REJECTED),
    ForbiddenError: Outcome(403, "Forbidden", "forbidden", names.REJECTED_REQUESTS, "info", _REJECTED),
    PayloadTooLargeError: Outcome(
        413, "Payload too large", "payload-too-large", names.REJECTED_REQUESTS, "info", _REJECTED
    ),
    UnsupportedMediaTypeError: Outcome(
        415, "Unsupported media type", "unsupported-media-type", names.REJECTED_REQUESTS, "info", _REJECTED
    ),
    DuplicateRequestError: Outcome(
        409, "Duplicate request", "duplicate-request", names.DUPLICATE_REQUESTS, "info",
        "duplicate request; order re-queued",
    ),
    IdempotencyKeyReusedError: Outcome(
        409, "Idempotency-Key reused", "idempotency-key-reused", names.IDEMPOTENCY_KEY_REUSED, "info",
        "idempotency key reused with another payload",
    ),
    DependencyError: Outcome(
        500, "Dependency failure", "dependency-failure", names.DEPENDENCY_FAILURES, "error", "dependency failed",
        detail="A dependency failed",
    ),
    Exception: Outcome(
        500, "Internal error", "internal-error", names.UNHANDLED_ERRORS, "exception", "unhandled error",
        detail="The order could not be created because of an internal error",
    ),
}  # fmt: skip
"""Each outcome by its error class; a subclass not listed answers as its nearest listed base."""


def outcome_of(error: Exception) -> Outcome:
    """The outcome of ``error``: its class's, or its nearest listed base's."""
    for cls in type(error).__mro__:
        outcome = OUTCOMES.get(cls)
        if outcome is not None:
            return outcome
    return OUTCOMES[Exception]  # not reached: every exception is an Exception
