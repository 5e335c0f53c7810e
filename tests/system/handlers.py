"""Tiny Lambda handlers for exercising the worker pool without the real function."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from harness.readings import rusage_peak_kib


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("sleep", 0)))
    return {"statusCode": 200, "body": str(context.get_remaining_time_in_millis())}


def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("boom")


def modules(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The modules the environment has loaded (this handler needs the standard library only)."""
    return {"statusCode": 200, "body": json.dumps(sorted(sys.modules))}


def proxy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A proxy-integration handler steered by its JSON body: ``sleep`` seconds, ``crash``, or ``respond_bytes``.

    ``respond_bytes``: a response of exactly that many bytes as the runtime client posts it (JSON
    with the default separators), its body padded to make it so.
    """
    asked = json.loads(event.get("body") or "{}")
    if asked.get("crash"):
        raise RuntimeError("asked to crash")
    time.sleep(float(asked.get("sleep", 0)))
    if "respond_bytes" in asked:
        response = {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": ""}
        response["body"] = "x" * (int(asked["respond_bytes"]) - len(json.dumps(response)))
        return response
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def allocate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Hold ``event["mib"]`` MiB, written (so resident), for the invocation; report getrusage's peak (KiB)."""
    held = b"\x01" * (int(event["mib"]) * 1024 * 1024)
    return {"statusCode": 200, "body": json.dumps({"held": len(held), "ru_maxrss_kib": rusage_peak_kib()})}


_KEPT: list[bytes] = []
"""What ``leak`` keeps: it lives as long as the environment."""


def leak(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Allocate ``event["kib"]`` KiB, written (so resident); keep it for good when ``event["keep"]`` (a leak)."""
    block = b"\x01" * (int(event["kib"]) * 1024)
    if event.get("keep"):
        _KEPT.append(block)
    return {"statusCode": 200, "body": json.dumps({"kept_kib": sum(map(len, _KEPT)) // 1024})}


def context(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda context the environment handed in, as the handler reads it."""
    seen = {
        name: getattr(context, name)
        for name in (
            "aws_request_id",
            "function_name",
            "function_version",
            "memory_limit_in_mb",
            "invoked_function_arn",
            "log_group_name",
        )
    }
    return {"statusCode": 200, "body": json.dumps(seen | {"remaining_ms": context.get_remaining_time_in_millis()})}


LAMBDA_VARIABLES = (
    "_HANDLER", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION", "LAMBDA_TASK_ROOT", "TZ", "_X_AMZN_TRACE_ID",
)  # fmt: skip
"""What Lambda sets in an environment (``_X_AMZN_TRACE_ID``: the runtime client, per invocation)."""


def runtime(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What the runtime gave this invocation: Lambda's variables, and the context built from its headers."""
    print("handler ran")  # its place in the log: between START and REPORT
    seen = {
        "variables": {name: os.environ.get(name) for name in LAMBDA_VARIABLES},
        "request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": context.client_context,
        "cognito_identity_id": context.identity.cognito_identity_id,
    }
    return {"statusCode": 200, "body": json.dumps(seen)}


def exit_now(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """End the environment's process mid-invocation, as a crash would."""
    os._exit(3)
