"""What went wrong, as X-Ray records it on a subsegment: its fault, error and throttle flags and its cause."""

from __future__ import annotations

import os
import traceback
from typing import Any

from create_order.xray.segments import new_id

MAX_MESSAGE_CHARS = 1024
"""An exception message is cut to this length (a document must fit one datagram)."""
MAX_STACK_FRAMES = 16

# botocore's standard retry mode treats these codes as throttling (botocore.retries.standard), and
# SQS answers KmsThrottled when KMS throttles it.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "KmsThrottled",
    }
)


def flag_status(document: dict[str, Any], status: int, code: str | None) -> None:
    """X-Ray's flags for a status: fault for 5xx, error for 4xx, throttle for 429 or a throttling code."""
    if status >= 500:
        document["fault"] = True
    elif status >= 400:
        document["error"] = True
    if status == 429 or code in _THROTTLING_CODES:
        document["throttle"] = True


def exception_message(exc: BaseException) -> str:
    """``str(exc)``, or ``""`` for an exception whose ``str()`` fails."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - an exception whose str() fails is still recorded, by type
        return ""


def exception_stack(exc: BaseException) -> list[dict[str, Any]]:
    """The innermost ``MAX_STACK_FRAMES`` frames of ``exc``'s traceback, innermost first, as X-Ray's stack."""
    frames = traceback.extract_tb(exc.__traceback__)[-MAX_STACK_FRAMES:]
    return [
        {"path": os.path.basename(frame.filename), "line": frame.lineno, "label": frame.name}
        for frame in reversed(frames)
    ]


def cause(kind: str, message: str, *, remote: bool, stack: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A subsegment's ``cause``: one exception of type ``kind``, its message cut to ``MAX_MESSAGE_CHARS``."""
    exception: dict[str, Any] = {"id": new_id(), "type": kind, "message": message[:MAX_MESSAGE_CHARS], "remote": remote}
    if stack:
        exception["stack"] = stack
    return {"exceptions": [exception]}
