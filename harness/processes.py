"""Stopping the processes the harness started (standard library only: environments import it)."""

from __future__ import annotations

import subprocess
from typing import Any


def wait_or_kill(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``process`` to exit; past that, kill it and reap it."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
