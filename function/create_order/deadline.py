"""The time budget of one invocation, shared with the SDK's retry hooks.

API Gateway gives up on an integration after 29 s, whatever the function's timeout; a
response that arrives later is lost to the client. Every SDK call and retry is therefore
bounded by the invocation's deadline, which the handler sets from the Lambda context.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token

API_GATEWAY_TIMEOUT_S = 29.0
RESPONSE_RESERVE_S = 2.0
"""Kept back from the budget to build and return the response (and absorb clock skew)."""


class Deadline:
    """A point on the monotonic clock by which the response must be on its way."""

    __slots__ = ("_at",)

    def __init__(self, at: float) -> None:
        self._at = at

    @classmethod
    def for_invocation(cls, remaining_ms: int) -> Deadline:
        """The deadline for an invocation with ``remaining_ms`` left before Lambda's timeout."""
        budget = min(remaining_ms / 1000.0, API_GATEWAY_TIMEOUT_S) - RESPONSE_RESERVE_S
        return cls(time.monotonic() + budget)

    def remaining(self) -> float:
        """Seconds left; negative once the deadline has passed."""
        return self._at - time.monotonic()


_NEVER = Deadline(float("inf"))
"""Outside an invocation (tests, the clients' creation) nothing is bounded."""
_CURRENT: ContextVar[Deadline] = ContextVar("create_order_deadline", default=_NEVER)


def current() -> Deadline:
    """The deadline of the invocation running in this context."""
    return _CURRENT.get()


def start(deadline: Deadline) -> Token[Deadline]:
    """Make ``deadline`` the current one; pass the token to :func:`finish` afterwards."""
    return _CURRENT.set(deadline)


def finish(token: Token[Deadline]) -> None:
    """Restore the deadline that was current before :func:`start`."""
    _CURRENT.reset(token)
