"""Reading the local stage's records from a test."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from loadtests.stage.local import LocalStage


def access_entry(stage: LocalStage, request_id: str, wait_s: float = 10) -> dict[str, Any]:
    """The gateway's access-log entry of one request (written just after its answer, so waited for)."""
    access_log = Path(stage.describe()["run_dir"]) / "access.log"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for line in access_log.read_text().splitlines() if access_log.exists() else []:
            entry = json.loads(line)
            if entry["requestId"] == request_id:
                return entry
        time.sleep(0.05)
    pytest.fail(f"no access-log entry for {request_id}")
