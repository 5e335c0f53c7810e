"""Tiny Lambda handlers for SnapStart: hooks registered at init, and what each environment saw of them."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from snapshot_restore_py import register_after_restore, register_before_snapshot

FAIL_RESTORE = "SNAPSTART_TEST_FAIL_RESTORE"
"""Set (to anything) in the function's variables: every after-restore hook run fails."""
SLOW_RESTORE = "SNAPSTART_TEST_RESTORE_SLEEP_S"
"""Seconds every after-restore hook run sleeps, when set in the function's variables."""
SEEN: dict[str, Any] = {"init_pid": os.getpid(), "before_snapshot": 0, "after_restore": 0}
"""What this environment's module saw: the pid that initialised it, and each hook's runs."""


@register_before_snapshot
def _before_snapshot() -> None:
    SEEN["before_snapshot"] += 1


@register_after_restore
def _after_restore() -> None:
    SEEN["after_restore"] += 1
    time.sleep(float(os.environ.get(SLOW_RESTORE, "0")))
    if os.environ.get(FAIL_RESTORE):
        raise RuntimeError("asked to fail the restore")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleep ``event["sleep"]`` s (holding ``event["mib"]`` MiB); answer with its pids, hooks and variables."""
    held = b"\x01" * (int(event.get("mib", 0)) * 1024 * 1024)
    time.sleep(float(event.get("sleep", 0)))
    seen = {
        "held_mib": len(held) // (1024 * 1024),
        **SEEN,
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "initialization_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "runtime_api": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
        "log_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
    }
    return {"statusCode": 200, "body": json.dumps(seen)}
