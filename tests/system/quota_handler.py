"""A handler that reads the CPU quota of its own control group: once at import (its INIT), then per invocation."""

from __future__ import annotations

import json
from typing import Any

from localstage.cgroups import detect


def _quota() -> str:
    """``"<quota_us> <period_us>"`` of this process's CPU group (``max`` or -1: none), or ``"none"``."""
    group = detect().cpu
    if group is None:
        return "none"
    if (group / "cpu.max").is_file():
        return (group / "cpu.max").read_text().strip()
    quota = (group / "cpu.cfs_quota_us").read_text().strip()
    return f"{quota} {(group / 'cpu.cfs_period_us').read_text().strip()}"


AT_INIT = _quota()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The quota the environment had during its INIT, and the one it has now, in an INVOKE."""
    return {"statusCode": 200, "body": json.dumps({"init": AT_INIT, "invoke": _quota(), "group": str(detect().cpu)})}
