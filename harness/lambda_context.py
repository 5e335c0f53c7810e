"""The Lambda context object: the attributes Powertools and the handler read, and the time left.

Standard library only, on the ground floor: the unit tests and the benchmark's probe call the
handler with this one. The local stage's environments do not: they run Lambda's runtime client,
which builds the real one from the Runtime API's headers (``localstage/runtime_api.py``);
the stage takes only the account's ARN from here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

ACCOUNT_ARN = "arn:aws:lambda:us-east-1:123456789012:function"
"""A function's ARN without its name: the local account and region."""


@dataclass
class FakeLambdaContext:
    """Counts its remaining time down from ``timeout_ms`` like the real one.

    The defaults are the dev environment's function invoked through its alias by API Gateway;
    ``for_function`` gives the context of an unpublished function, as the local stage runs it.
    """

    timeout_ms: float = 30_000
    function_name: str = "order-processing-create-order-dev"
    function_version: str = "7"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"{ACCOUNT_ARN}:order-processing-create-order-dev:live"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/order-processing-create-order-dev"
    log_stream_name: str = "2026/11/25/[7]test"
    started: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the invocation began: the remaining time counts from it."""

    @classmethod
    def for_function(
        cls, name: str, *, memory_mb: int, timeout_s: float, request_id: str, started: float
    ) -> FakeLambdaContext:
        """The context of one invocation of ``$LATEST`` of the function ``name``, begun at ``started``."""
        return cls(
            timeout_ms=timeout_s * 1000,
            function_name=name,
            function_version="$LATEST",
            memory_limit_in_mb=memory_mb,
            invoked_function_arn=f"{ACCOUNT_ARN}:{name}",
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name="local",
            started=started,
        )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function timeout, never below zero."""
        return max(0, int(self.timeout_ms - (time.monotonic() - self.started) * 1000))
