"""A missing or malformed required variable fails the cold start with one clear log line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from create_order import handler
from create_order.errors import ConfigurationError
from create_order.settings import Settings

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"
VALID = {
    "ORDERS_TABLE": "orders",
    "PRODUCTS_TABLE": "products",
    "PROCESSING_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/order-processing",
}


def test_valid_environment_is_parsed() -> None:
    settings = Settings.from_env({**VALID, "LOG_LEVEL": "debug"})

    assert settings.orders_table == "orders"
    assert settings.products_table == "products"
    assert settings.log_level == "DEBUG"
    assert not settings.fifo_queue


def test_fifo_queue_is_recognised_by_its_url() -> None:
    settings = Settings.from_env({**VALID, "PROCESSING_QUEUE_URL": VALID["PROCESSING_QUEUE_URL"] + ".fifo"})

    assert settings.fifo_queue


MISSING = "is missing or empty"
NOT_A_TABLE = "is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"
NOT_A_QUEUE = "is not an SQS queue URL (https://host/<account>/<queue-name>)"
NOT_A_LEVEL = "is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
QUEUE_URL = VALID["PROCESSING_QUEUE_URL"]


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("ORDERS_TABLE", None, MISSING),
        ("ORDERS_TABLE", "", MISSING),
        ("PRODUCTS_TABLE", "  ", MISSING),
        ("ORDERS_TABLE", "or", NOT_A_TABLE),
        ("PRODUCTS_TABLE", "products table", NOT_A_TABLE),
        ("PROCESSING_QUEUE_URL", None, MISSING),
        ("PROCESSING_QUEUE_URL", "order-processing", NOT_A_QUEUE),
        ("PROCESSING_QUEUE_URL", "ftp://sqs.example/123/q", NOT_A_QUEUE),
        ("PROCESSING_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/q", NOT_A_QUEUE),
        ("PROCESSING_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123/bad name", NOT_A_QUEUE),
        ("PROCESSING_QUEUE_URL", QUEUE_URL + "?Action=SendMessage", NOT_A_QUEUE),
        ("PROCESSING_QUEUE_URL", QUEUE_URL + "#fragment", NOT_A_QUEUE),
        ("LOG_LEVEL", "LOUD", NOT_A_LEVEL),
    ],
)
def test_bad_variable_is_named_with_what_is_wrong(variable: str, value: str | None, reason: str) -> None:
    env = {**VALID, variable: value}
    env = {k: v for k, v in env.items() if v is not None}

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(env)

    assert (caught.value.variable, caught.value.reason) == (variable, reason)
    assert str(caught.value) == f"environment variable {variable} {reason}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/123456789012/order-processing",  # the local stage's moto server: plain HTTP
        "https://sqs.eu-west-1.amazonaws.com/123456789012/X",  # a queue name may be one character
        "https://sqs.eu-west-1.amazonaws.com/123456789012/order-processing/",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/order-processing.fifo",
    ],
)
def test_queue_urls_of_sqs_and_of_the_local_stage_are_accepted(url: str) -> None:
    assert Settings.from_env({**VALID, "PROCESSING_QUEUE_URL": url}).queue_url == url


def test_invalid_environment_is_logged_once_with_the_variable_and_the_reason(output) -> None:
    # When the settings are loaded from an environment with a malformed table name
    with pytest.raises(ConfigurationError):
        handler.load_settings({**VALID, "PRODUCTS_TABLE": "products table"})

    # Then one error line names the variable and says what is wrong with it
    [line] = output().logs
    assert (line["level"], line["message"]) == ("ERROR", "invalid configuration")
    assert line["variable"] == "PRODUCTS_TABLE"
    assert line["reason"] == "is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)"


def test_the_configured_log_level_is_applied(output) -> None:
    # Given settings loaded with LOG_LEVEL=WARNING
    try:
        handler.load_settings({**VALID, "LOG_LEVEL": "warning"})

        # When the function logs at INFO and at WARNING
        handler.logger.info("below the level")
        handler.logger.warning("at the level")
    finally:
        handler.logger.setLevel("INFO")

    # Then only the warning is written
    assert output().messages() == ["at the level"]


def _cold_start(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERS_", "PRODUCTS_", "PROCESSING_"))}
    env.update({k: v for k, v in {**VALID, **env_changes}.items() if v is not None})
    env["PYTHONPATH"] = str(FUNCTION_DIR)
    return subprocess.run(
        [sys.executable, "-c", "import create_order.handler"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ORDERS_TABLE", None), ("PRODUCTS_TABLE", None), ("PROCESSING_QUEUE_URL", "not-a-url")],
)
def test_cold_start_fails_with_one_log_line_naming_the_variable(variable: str, value: str | None) -> None:
    # When the function is imported (Lambda's init phase) with a bad environment
    result = _cold_start({variable: value})

    # Then the init fails, after exactly one structured line naming the variable
    assert result.returncode != 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert lines[0]["level"] == "ERROR"
    assert lines[0]["message"] == "invalid configuration"
    assert lines[0]["variable"] == variable
    assert f"ConfigurationError: environment variable {variable}" in result.stderr


def test_cold_start_succeeds_with_a_valid_environment() -> None:
    result = _cold_start({})

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
