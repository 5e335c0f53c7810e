"""Mutation runs only (``tox -e mutate``, ``-p tests.support.no_backoff``): botocore's retry backoff without the wait.

A surviving mutant on a dependency's path runs every fault test, and each of those waits up
to 1 + 2 s in botocore's exponential backoff between attempts: most of a mutation run was
spent asleep. Here the retries, their number, the retry quota and the deadline's veto all run
as they do in production; only the sleep between attempts (``botocore.endpoint``'s, nothing
else's: injected latency still waits) returns at once.
"""

from __future__ import annotations

import time
from typing import Any

import botocore.endpoint
import pytest


class _TimeWithoutBackoff:
    """``botocore.endpoint``'s view of the ``time`` module, minus the retry sleep."""

    @staticmethod
    def sleep(_seconds: float) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def pytest_configure(config: pytest.Config) -> None:
    botocore.endpoint.time = _TimeWithoutBackoff()  # type: ignore[assignment]


def pytest_unconfigure(config: pytest.Config) -> None:
    botocore.endpoint.time = time
