"""Domain errors. outcomes.py says how each is answered (status, problem, metrics, log line)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


class CreateOrderError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(CreateOrderError):
    """An environment variable is missing or malformed; the execution environment cannot start."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"environment variable {variable} {reason}")
        self.variable = variable
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One failing field of a request: where it is, a stable code and a human sentence."""

    field: str
    code: str
    detail: str


class RequestError(CreateOrderError):
    """The request cannot be processed as sent (a 4xx; outcomes.py says which)."""

    def __init__(self, detail: str, errors: Sequence[FieldProblem] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)


class ValidationError(RequestError):
    """The body, a header or a referenced product is invalid; ``errors`` lists every field."""


class UnauthorizedError(RequestError):
    """The caller presented no usable identity."""


class ForbiddenError(RequestError):
    """The caller may not place an order for the customer named in the body."""


class PayloadTooLargeError(RequestError):
    """The body is larger than the endpoint accepts."""


class UnsupportedMediaTypeError(RequestError):
    """The body is not declared as ``application/json``."""


class DuplicateRequestError(RequestError):
    """The same customer already sent this request with this ``Idempotency-Key``."""

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__(
            "An order was already created for this Idempotency-Key with the same payload; it is returned in 'order'."
        )
        self.order = order


class IdempotencyKeyReusedError(RequestError):
    """The customer's ``Idempotency-Key`` was already used for a different payload."""

    def __init__(self, order_id: str) -> None:
        super().__init__(
            "This Idempotency-Key was already used by this customer for a different payload; "
            "use a new key for a new order."
        )
        self.order_id = order_id


class DependencyError(CreateOrderError):
    """A dependency (DynamoDB or SQS) failed after bounded retries, or time ran out for it.

    ``code`` is the AWS error code, or the function's own name for the failure (``DeadlineExceeded``...).
    """

    def __init__(self, dependency: str, detail: str, *, code: str, order_id: str | None = None) -> None:
        super().__init__(detail)
        self.dependency = dependency
        self.detail = detail
        self.order_id = order_id
        self.code = code

    def with_order(self, order_id: str) -> DependencyError:
        """The same failure, noting that the order was stored before it happened."""
        return DependencyError(self.dependency, self.detail, order_id=order_id, code=self.code)


class CatalogDataError(DependencyError):
    """A product record in the catalog is malformed (price or currency unusable)."""
