"""Tiny Lambda handlers for exercising the worker pool without the real function."""

from __future__ import annotations

import json
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
    """A proxy-integration handler steered by its JSON body: ``sleep`` seconds, or ``crash``."""
    asked = json.loads(event.get("body") or "{}")
    if asked.get("crash"):
        raise RuntimeError("asked to crash")
    time.sleep(float(asked.get("sleep", 0)))
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
