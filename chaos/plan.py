"""Fault plans as data: which call fails, how, how often, and when.

A plan is a TOML file of ``[[rule]]`` tables::

    [[rule]]
    service = "dynamodb"          # the SDK's service id: dynamodb, sqs
    operation = "PutItem"         # or "*"
    kind = "error"                # error | latency | read-timeout | connection | unprocessed-keys | drop
    code = "ProvisionedThroughputExceededException"   # kind = error: a real AWS error code
    probability = 0.3             # share of matching attempts, or:
    count = 2                     # the first N matching attempts
    start_s = 10                  # window, seconds after the plan starts (optional)
    end_s = 40
    delay_s = 1.5                 # kind = latency (and read-timeout: how long before it fires)

``drop`` answers a write with success and never sends it (dynamodb PutItem, sqs SendMessage):
a write acknowledged and lost, which no function can survive. It is there to break an
invariant on purpose, so that a chaos run shows its audit and its verdict catching the loss.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

KINDS = ("error", "latency", "read-timeout", "connection", "unprocessed-keys", "drop")
DROPPABLE = (("dynamodb", "PutItem"), ("sqs", "SendMessage"))
"""The writes a ``drop`` rule may acknowledge and lose."""

# The error codes each service really answers with, and their HTTP status.
AWS_ERRORS: dict[str, dict[str, int]] = {
    "dynamodb": {
        "ProvisionedThroughputExceededException": 400,
        "ThrottlingException": 400,
        "RequestLimitExceeded": 400,
        "InternalServerError": 500,
        "TransactionConflictException": 400,
        "ServiceUnavailable": 503,
        "ResourceNotFoundException": 400,
    },
    "sqs": {
        "RequestThrottled": 400,
        "KmsThrottled": 400,
        "KmsAccessDenied": 400,
        "QueueDoesNotExist": 400,
        "AccessDenied": 403,
        "InternalError": 500,
        "ServiceUnavailable": 503,
    },
}


class PlanError(ValueError):
    """A fault plan names an unknown kind, service or error code, or is out of range."""


@dataclass(frozen=True)
class FaultRule:
    """One kind of fault on one service's operation."""

    service: str
    operation: str = "*"
    kind: str = "error"
    code: str = ""
    probability: float = 1.0
    count: int | None = None
    start_s: float = 0.0
    end_s: float = float("inf")
    delay_s: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PlanError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.service not in AWS_ERRORS:
            raise PlanError(f"unknown service {self.service!r}; one of {', '.join(AWS_ERRORS)}")
        if self.kind == "error" and self.code not in AWS_ERRORS[self.service]:
            raise PlanError(
                f"{self.service} does not answer {self.code!r}; known: {', '.join(AWS_ERRORS[self.service])}"
            )
        if not 0.0 <= self.probability <= 1.0:
            raise PlanError("probability must be between 0 and 1")
        if self.kind == "unprocessed-keys" and (self.service, self.operation) != ("dynamodb", "BatchGetItem"):
            raise PlanError("unprocessed-keys applies to dynamodb BatchGetItem only")
        if self.kind == "drop" and (self.service, self.operation) not in DROPPABLE:
            raise PlanError("drop applies to dynamodb PutItem and sqs SendMessage only")

    @property
    def status(self) -> int:
        """The HTTP status of the error this rule answers with."""
        return AWS_ERRORS[self.service].get(self.code, 500)

    def matches(self, service: str, operation: str, elapsed_s: float) -> bool:
        """True when this rule covers the attempt (ignoring probability and count)."""
        return service == self.service and self.operation in ("*", operation) and self.start_s <= elapsed_s < self.end_s


NETWORK_MODES = ("latency", "blackhole", "reset")


@dataclass(frozen=True)
class NetworkRule:
    """A network fault between the function and one backend (the stage's fault proxy)."""

    service: str
    mode: str
    start_s: float = 0.0
    end_s: float = float("inf")
    delay_s: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.service not in ("dynamodb", "sqs"):
            raise PlanError(f"no fault proxy for {self.service!r}; one of dynamodb, sqs")
        if self.mode not in NETWORK_MODES:
            raise PlanError(f"unknown network mode {self.mode!r}; one of {', '.join(NETWORK_MODES)}")


@dataclass(frozen=True)
class FaultPlan:
    """The rules of one plan: SDK-edge ``rules`` (tried in order), ``network`` faults, ``phases``."""

    rules: tuple[FaultRule, ...] = ()
    phases: tuple[dict[str, Any], ...] = field(default=())
    network: tuple[NetworkRule, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        """A plan from parsed TOML (``rule``, ``network`` and ``phase`` arrays)."""
        try:
            rules = tuple(FaultRule(**rule) for rule in data.get("rule", []))
            network = tuple(NetworkRule(**rule) for rule in data.get("network", []))
        except TypeError as exc:
            raise PlanError(str(exc)) from exc
        return cls(rules=rules, phases=tuple(data.get("phase", [])), network=network)

    def network_mode(self, service: str, elapsed_s: float) -> tuple[str, float]:
        """The proxy mode (and delay) for ``service`` at ``elapsed_s``: ``pass`` outside every window."""
        for rule in self.network:
            if rule.service == service and rule.start_s <= elapsed_s < rule.end_s:
                return rule.mode, rule.delay_s
        return "pass", 0.0

    def windows(self) -> list[tuple[float, float]]:
        """Every fault window of the plan, SDK-edge and network alike."""
        return [(r.start_s, r.end_s) for r in self.rules] + [(r.start_s, r.end_s) for r in self.network]

    @classmethod
    def load(cls, path: Path) -> FaultPlan:
        """A plan from a TOML file."""
        return cls.from_dict(tomllib.loads(path.read_text()))
