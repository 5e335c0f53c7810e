"""This Locust process's part in a run: whom its users log in as, what they order, where they record.

A process takes its part once: at Locust's init, from the stage file or a deployed stack's files,
or, on a distributed worker, when the master's message brings it (``loadtests/distributed.py``).
Its users read it as they start; a worker's users wait for it first.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from loadtests.ledger import Ledger

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import gevent.event
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

FALLBACK_PRODUCT = "P-001"
"""What a customer orders from a catalog with no active USD product (the stage's first product)."""
PART_WAIT_S = 60.0
"""How long a distributed worker's user waits for the master's part before giving up."""


@dataclass(frozen=True)
class Customer:
    """A Cognito user the load test logs in as, and the customer id its token carries."""

    username: str
    password: str = field(repr=False)
    customer_id: str


@dataclass(frozen=True)
class Part:
    """What this process's users play with: its customers, the app client, the orderable products, its ledger."""

    customers: list[Customer]
    client_id: str
    orderable: list[str]
    """What a customer may order, worked out once rather than per request."""
    cognito: CognitoIdentityProviderClient
    ledger: Ledger


def take_part(message: dict[str, Any], ledger_dir: Path, *, shipping: bool = False) -> Part:
    """Set this process up to play ``message``'s part: whom to log in as, what to order, where to record.

    ``message`` is the part as the master hands it out (``customers``, ``client_id``, ``catalog``,
    ``aws_env``: the SDK's settings for the stage, put into this process's environment).
    """
    os.environ.update(message["aws_env"])
    catalog = message["catalog"]
    orderable = [p for p, spec in catalog.items() if spec["active"] and spec["currency"] == "USD"]
    return Part(
        customers=[Customer(c["username"], c["password"], c["customer_id"]) for c in message["customers"]],
        client_id=message["client_id"],
        orderable=orderable or [FALLBACK_PRODUCT],
        # One client for every user of this process: a pool as wide as the users.
        cognito=boto3.client("cognito-idp", config=Config(max_pool_connections=200)),
        ledger=Ledger(ledger_dir, shipping=shipping),
    )


@dataclass
class Casting:
    """This process's part once taken, and which of its customers the next user plays."""

    part: Part | None = None
    awaited: gevent.event.Event | None = None
    """A distributed worker's: set when the master's part has been taken."""
    _turns: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def take(self, message: dict[str, Any], ledger_dir: Path, *, shipping: bool = False) -> Ledger:
        """Take ``message``'s part (:func:`take_part`) for this process; its ledger."""
        self.part = take_part(message, ledger_dir, shipping=shipping)
        return self.part.ledger

    def next_customer(self, wait_s: float = PART_WAIT_S) -> tuple[Part, Customer]:
        """The part and the customer the next user plays, round the part's customers in turn."""
        if self.awaited is not None and not self.awaited.wait(wait_s):
            raise RuntimeError(f"no part from the master within {wait_s:g} s: whom would this user be?")
        part = self.part
        if part is None:
            raise RuntimeError("this process took no part: whom would this user be?")
        return part, part.customers[next(self._turns) % len(part.customers)]


CASTING = Casting()
"""This process's: set up by the init listener (``loadtests/listeners.py``), read by the users."""
