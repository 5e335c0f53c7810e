"""The benchmark's SnapStart environment: create-order as Lambda runs it, every SDK attempt answered at the edge.

Each answer carries, in a header, the CPU the process spent in the function (``CPU_HEADER``). The
canned answers are installed for every client the process creates (``benchmarks.canned``)
before the handler module builds its own, so an invocation's figures are the function's and the
runtime client's, no backend's. With ``probe_env.SNAPSTART_UNPRIMED`` set in the function's variables
the function's before-snapshot hook is removed: the snapshot holds what the init alone left, and
a restored environment's first invocation loads the rest — what the priming saves.
"""

from __future__ import annotations

import os
import time
from typing import Any

import snapshot_restore_py

from benchmarks import canned
from benchmarks.probe_env import CPU_HEADER, SNAPSTART_UNPRIMED

canned.install_for_new_clients()

from create_order.handler import lambda_handler as function  # noqa: E402 - after the canned answers, as its clients are built

if os.environ.get(SNAPSTART_UNPRIMED):
    snapshot_restore_py.get_before_snapshot().clear()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's answer, with the CPU it took in a header."""
    started = time.process_time_ns()
    answer = dict(function(event, context))
    answer["headers"] = {**(answer.get("headers") or {}), CPU_HEADER: str((time.process_time_ns() - started) // 1000)}
    return answer
