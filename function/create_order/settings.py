"""Execution-environment settings: every environment variable the function reads, parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from create_order.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

ORDERS_TABLE_ENV = "ORDERS_TABLE"
PRODUCTS_TABLE_ENV = "PRODUCTS_TABLE"
PROCESSING_QUEUE_URL_ENV = "PROCESSING_QUEUE_URL"
LOG_LEVEL_ENV = "LOG_LEVEL"

REQUIRED_ENV = (ORDERS_TABLE_ENV, PRODUCTS_TABLE_ENV, PROCESSING_QUEUE_URL_ENV)
"""Variables without which the function refuses to start."""
OPTIONAL_ENV = (LOG_LEVEL_ENV,)
"""Variables the function reads when present (``POWERTOOLS_*`` are read by Powertools)."""

# DynamoDB's own rule for table names.
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
# SQS queue names: 1-80 of [A-Za-z0-9_-], FIFO queues end in ".fifo".
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}(\.fifo)?")
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one execution environment."""

    orders_table: str
    products_table: str
    queue_url: str
    log_level: str = "INFO"

    @property
    def fifo_queue(self) -> bool:
        """True when the processing queue is a FIFO queue (its name ends in ``.fifo``)."""
        return self.queue_url.endswith(".fifo")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate the environment.

        Raises:
            ConfigurationError: a required variable is missing or malformed; the message
                names the variable.
        """
        return cls(
            orders_table=_table_name(env, ORDERS_TABLE_ENV),
            products_table=_table_name(env, PRODUCTS_TABLE_ENV),
            queue_url=_queue_url(env, PROCESSING_QUEUE_URL_ENV),
            log_level=_log_level(env, LOG_LEVEL_ENV),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(name, "is missing or empty")
    return value


def _table_name(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name)
    if not _TABLE_NAME.fullmatch(value):
        raise ConfigurationError(name, "is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    return value


def _queue_url(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name)
    parts = urlsplit(value)
    path = parts.path.strip("/").split("/")
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or len(path) != 2
        or not _QUEUE_NAME.fullmatch(path[1])
        or parts.query
        or parts.fragment
    ):
        raise ConfigurationError(name, "is not an SQS queue URL (https://host/<account>/<queue-name>)")
    return value


def _log_level(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip().upper() or "INFO"
    if value not in _LOG_LEVELS:
        raise ConfigurationError(name, "is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value
