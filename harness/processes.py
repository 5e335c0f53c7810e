"""Stopping the processes the harness started (standard library only: environments import it)."""

from __future__ import annotations

import subprocess
from typing import Protocol


class Stoppable(Protocol):
    """A process to stop: a ``subprocess.Popen``, or a handle with its ``wait`` and ``kill``."""

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to end (``subprocess.TimeoutExpired`` past ``timeout``); its return code."""
        ...

    def kill(self) -> None:
        """SIGKILL it."""
        ...


def wait_or_kill(process: Stoppable, timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``process`` to exit; past that, kill it and reap it."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
