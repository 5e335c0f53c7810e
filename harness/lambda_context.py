"""A Lambda context object with the attributes Powertools and the handler read."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class FakeLambdaContext:
    """Counts its remaining time down from ``timeout_ms`` like the real one."""

    timeout_ms: int = 30_000
    # As the dev environment's function runs, invoked through its alias by API Gateway.
    function_name: str = "order-processing-create-order-dev"
    function_version: str = "7"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:order-processing-create-order-dev:live"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/order-processing-create-order-dev"
    log_stream_name: str = "2026/11/25/[7]test"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the timeout, never below zero."""
        return max(0, int(self.timeout_ms - (time.monotonic() - self._started) * 1000))
