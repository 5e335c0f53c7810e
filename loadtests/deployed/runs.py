"""A deployed-stage run: its id, its synthetic customers' names, and its folder under reports/."""

from __future__ import annotations

import argparse
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness import runfolder
from loadtests.deployed.errors import DeployedInputError

if TYPE_CHECKING:
    from pathlib import Path

SYNTHETIC_PREFIX = "synthetic-"
"""Every load-test customer id starts with this (``synthetic-<run id>-NNN``): consumers and
dashboards tell synthetic orders from real ones by it, and cleanup deletes nothing else."""
USER_DOMAIN = "example.com"
"""The users' e-mail domain: reserved for examples, so no mail can reach anyone."""
RUN_ID = re.compile(r"[A-Za-z0-9_]{1,40}")
"""No hyphen in a run id: the one after it ends the run's prefix, so no run's prefix starts another's."""


def new_run_id() -> str:
    """A fresh run id: when it was made, and a random suffix for two made in the same second."""
    return f"{time.strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(2)}"


def run_id_argument(text: str) -> str:
    """``--run-id``'s type: a run id as ``RUN_ID`` allows."""
    if not RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a run id (1-40 letters, digits or '_')")
    return text


def customer_prefix(run_id: str) -> str:
    """What every customer id of the run starts with, and no other run's does."""
    return f"{SYNTHETIC_PREFIX}{run_id}-"


def customer_id(run_id: str, n: int) -> str:
    """The run's ``n``-th customer id."""
    return f"{customer_prefix(run_id)}{n:03d}"


def username(run_id: str, n: int) -> str:
    """The run's ``n``-th Cognito username (the pool's usernames are e-mail addresses)."""
    return f"{customer_id(run_id, n)}@{USER_DOMAIN}"


@dataclass(frozen=True)
class RunFolder(runfolder.RunFolder):
    """``<reports>/<stack>/<run id>/``: what one run against a deployed stack wrote and reads back.

    Its files are a run folder's (``users_file``, ``catalog_file``, ``ledger_dir``, ``audit``).
    """

    run_id: str

    @classmethod
    def of(cls, reports: Path, stack: str, run_id: str) -> RunFolder:
        """The folder of ``run_id`` against ``stack`` (whether it exists or not)."""
        return cls(reports / stack / run_id, run_id)

    def existing(self) -> RunFolder:
        """This folder, refused when it does not exist."""
        if not self.path.is_dir():
            raise DeployedInputError(f"no run folder {self.path} (run {self.run_id}: create its users first)")
        return self
