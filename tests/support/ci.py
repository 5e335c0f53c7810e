"""A test the machine cannot run: a skip saying why on a developer's machine, a failure in CI.

CI has what these tests need (root, iproute2, writable control groups), so a skip there would be
a test that silently did not run.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """``CI`` is set (CI runs with ``CI=true``; tox passes it to the unit environment)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def cannot_run(reason: str, what: str) -> NoReturn:
    """This machine cannot run ``what``: fail in CI, which can, else skip with ``reason``."""
    if in_ci():
        pytest.fail(f"{reason}; CI is set, and there {what} must run, not skip")
    pytest.skip(reason)
