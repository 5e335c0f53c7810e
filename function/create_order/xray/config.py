"""Tracing's environment: whether tracing is on (Powertools' rules), and where the X-Ray daemon listens."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
"""The invocation's trace header, set by the Lambda runtime before each invocation."""
DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
DAEMON_ADDRESS_ENV = "AWS_XRAY_DAEMON_ADDRESS"
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"

_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


def tracing_disabled(env: Mapping[str, str]) -> bool:
    """Powertools' rule: disabled by ``POWERTOOLS_TRACE_DISABLED``, outside Lambda, under SAM local or Chalice.

    Raises:
        ValueError: ``POWERTOOLS_TRACE_DISABLED`` is not a truth value (as Powertools does).
    """
    value = env.get(DISABLED_ENV, "false").strip().lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        raise ValueError(f"{DISABLED_ENV} must be true or false, not {value!r}")
    return not env.get("LAMBDA_TASK_ROOT") or bool(env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"))


def parse_daemon_address(address: str) -> tuple[str, int] | None:
    """The daemon's UDP ``(host, port)`` from ``host:port`` or ``tcp:host:port udp:host:port``; ``None`` if invalid."""
    parts = address.split()
    if len(parts) == 2:
        udp = [rest for protocol, _, rest in (part.partition(":") for part in parts) if protocol == "udp"]
        if len(udp) != 1:
            return None
        address = udp[0]
    elif len(parts) == 1:
        address = parts[0]
    else:
        return None
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        return None
    return host, int(port)
