"""What the worker pool and an execution environment say to each other over their pipe.

Frozen dataclasses, pickled by ``multiprocessing.connection``. Standard library only: an
environment unpickles them, and must hold nothing of the harness that started it.

The pool sends ``Setup`` first, then any number of ``Provision`` and ``Invoke``, each answered
by one ``Reply``, and ``Stop`` last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about the function, as the workers need it."""

    code_dir: Path
    env: dict[str, str]
    memory_mb: int = 256
    timeout_s: float = 30.0
    name: str = "order-processing-create-order"
    handler: str = "create_order.handler.lambda_handler"
    chaos_plan: str | None = None
    """A fault plan (chaos/*.toml) installed in every environment, outside the handler."""
    chaos_started_at: float | None = None
    """Wall-clock time the plan's windows count from (default: each environment's start)."""


@dataclass(frozen=True)
class Setup:
    """The environment's first message: the function it runs and the log it writes."""

    function: FunctionConfig
    log_path: Path


@dataclass(frozen=True)
class Provision:
    """Run the init now, ahead of the first invocation (provisioned concurrency)."""


@dataclass(frozen=True)
class Invoke:
    """One invocation: the event and the request id it is logged and reported under."""

    event: dict[str, Any]
    request_id: str


@dataclass(frozen=True)
class Stop:
    """Leave the loop: the process ends."""


@dataclass(frozen=True)
class Reply:
    """The environment's answer to a ``Provision`` or an ``Invoke``."""

    outcome: str
    """``ok``, or ``error`` (a function error, or an init that failed)."""
    payload: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None
    """The init's length, on the invocation that ran it (and on a ``Provision``'s reply)."""
