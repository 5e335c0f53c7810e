"""SDK clients, built once per execution environment, with retries bounded by the deadline."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from create_order import deadline, names
from create_order.errors import DependencyError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 3.0
MAX_ATTEMPTS = 3
"""Total attempts per SDK call (first try included), botocore ``standard`` retry mode."""
ATTEMPT_BUDGET_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S
"""The longest one attempt can take before botocore gives up on it."""
_MAX_BACKOFF_S = 20.0  # botocore's standard-mode cap

USER_AGENT = f"{names.SERVICE} botocore/{botocore.__version__} Python/{platform.python_version()}"
"""The clients' User-Agent, fixed. botocore otherwise rebuilds and sanitises its many-part
string on every request, a measurable share of the SDK's own CPU per call (BENCHMARKS.md, T7)."""

CLIENT_CONFIG = Config(
    user_agent=USER_AGENT,
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    tcp_keepalive=True,
    # Lambda serves one request at a time; each client needs one warm connection.
    max_pool_connections=2,
    # The adapters build every parameter from validated input, and the tests hold their shapes to
    # the real APIs (moto); botocore's client-side re-check cost CPU on every call (BENCHMARKS.md, T3).
    parameter_validation=False,
)


def dependency_failure(dependency: str, exc: ClientError | BotoCoreError) -> DependencyError:
    """The domain error for an SDK failure, keeping the AWS error code (or the exception's name)."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
    else:
        code = type(exc).__name__
    return DependencyError(dependency, f"{dependency} failed ({code})", code=code)


def ensure_time_for(dependency: str) -> None:
    """Refuse to start a call that could outlive the invocation's deadline.

    Raises:
        DependencyError: less than one attempt's worth of time is left.
    """
    if deadline.current().remaining() < ATTEMPT_BUDGET_S:
        raise DependencyError(
            dependency,
            f"Not enough time left in this request to call {dependency}",
            code="DeadlineExceeded",
        )


def _veto_retry_past_deadline(attempts: int, **_: Any) -> bool | None:
    """A ``needs-retry`` hook registered before botocore's own: no retry that could outlive the deadline.

    Returning ``False`` ends the retries (botocore takes the first non-``None`` answer);
    ``None`` leaves the decision to the standard retry handler.
    """
    worst_backoff = min(_MAX_BACKOFF_S, 2.0 ** (attempts - 1))
    if deadline.current().remaining() < worst_backoff + ATTEMPT_BUDGET_S:
        return False
    return None


def bound_retries_by_deadline(client: Any) -> None:
    """Install the deadline veto on ``client``'s retry decisions."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"needs-retry.{service}", _veto_retry_past_deadline)


def build_clients() -> tuple[DynamoDBClient, SQSClient]:
    """The DynamoDB and SQS clients of this execution environment.

    Endpoints and region come from the standard AWS variables (``AWS_REGION``,
    ``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL_SQS``), which is how the local stage
    points the function at its own backend.
    """
    session = botocore.session.get_session()
    # botocore's own stubs type every client as BaseClient; these are the two services' clients.
    dynamodb: DynamoDBClient = session.create_client("dynamodb", config=CLIENT_CONFIG)  # type: ignore[assignment]
    sqs: SQSClient = session.create_client("sqs", config=CLIENT_CONFIG)  # type: ignore[assignment]
    for client in (dynamodb, sqs):
        bound_retries_by_deadline(client)
    return dynamodb, sqs
