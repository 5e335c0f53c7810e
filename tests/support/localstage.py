"""Reading the local stage's records from a test."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from create_order.api import PROBLEM_TYPE_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable

    from localstage.local import LocalStage
    from localstage.workers import WorkerPool


def until_busy(pool: WorkerPool, count: int, wait_s: float = 10) -> None:
    """Wait until ``count`` of the pool's environments are busy (an invocation has its environment)."""
    deadline = time.monotonic() + wait_s
    while pool.busy < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{count} environments were not busy within {wait_s:g} s")
        time.sleep(0.01)


def access_entries(
    stage: LocalStage, match: Callable[[dict[str, Any]], bool], wait_s: float = 10
) -> list[dict[str, Any]]:
    """The gateway's access-log entries ``match`` accepts, waited for until there is one.

    An entry is written just after its answer, so a test that has its answer may not see it yet.
    """
    return logged_entries(Path(stage.describe()["run_dir"]) / "access.log", match, wait_s)


def logged_entries(
    access_log: Path, match: Callable[[dict[str, Any]], bool], wait_s: float = 10
) -> list[dict[str, Any]]:
    """A gateway's access-log entries ``match`` accepts, waited for until there is one."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        lines = access_log.read_text().splitlines() if access_log.exists() else []
        found = [entry for entry in map(json.loads, lines) if match(entry)]
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"no access-log entry as expected within {wait_s:g} s")


def access_entry(stage: LocalStage, request_id: str, wait_s: float = 10) -> dict[str, Any]:
    """The gateway's access-log entry of one request."""
    [entry] = access_entries(stage, lambda entry: entry["requestId"] == request_id, wait_s)
    return entry


def gateway_problem(status: int, headers: Any, raw: bytes, slug: str) -> dict[str, Any]:
    """The problem document of a gateway-made answer, checked as any client would see it.

    It must be an ``application/problem+json`` of this type with the function's security
    headers, and carry the request id the gateway answered in ``x-amzn-RequestId``.
    """
    assert headers["Content-Type"] == "application/problem+json", (status, raw[:300])
    assert (headers["Cache-Control"], headers["X-Content-Type-Options"]) == ("no-store", "nosniff")
    problem = json.loads(raw)
    assert problem["type"] == PROBLEM_TYPE_PREFIX + slug, problem
    assert problem["status"] == status
    assert problem["request_id"] == headers["x-amzn-RequestId"]
    assert problem["title"]
    assert problem["detail"]
    return problem
