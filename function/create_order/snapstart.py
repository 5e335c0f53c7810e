"""Ready for Lambda SnapStart: primed before the snapshot, made its own after each restore.

With SnapStart on (the template's ``SnapStart`` knob), Lambda initialises the function once, when
a version is published (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``), snapshots the initialised
environment, and resumes every new execution environment from that one snapshot: whatever the
init left in memory is then shared by all of them.

Before the snapshot (:meth:`SnapshotHooks.prime`), what a first invocation would otherwise do
once: the SDK's operation models, endpoint rules, serialisers, signers and parsers of the three
calls, the request reader and the response writer, all run on a canned order whose SDK calls are
answered in-process by a ``before-send`` hook — no network call, nothing stored or queued, no log
line, no metric — and the product cache emptied of the canned product after.

After each restore (:meth:`SnapshotHooks.refresh`), what must be the environment's own: the
retry jitter's random state reseeded from ``os.urandom`` (every restored environment would
otherwise draw the same delays), every pooled HTTP connection of the clients dropped (a socket
in a snapshot is one endpoint shared by every environment restored from it), the clients'
credentials read again from the environment (a restored environment's are not the snapshot's),
the product cache emptied (its expiry times are on the snapshot's monotonic clock, not this
machine's), the X-Ray socket closed (reopened at the next send).

:func:`register` installs both only when Lambda initialises the function for a snapshot; without
SnapStart it does nothing and none of this runs. ``snapshot_restore_py`` is part of Lambda's
Python managed runtimes, so the package does not ship it (the local stage's environments have it
pinned, as the runtime client beside it).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from create_order import api, deadline
from create_order.adapters.dynamodb import JITTER

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from aws_lambda_powertools import Logger, Metrics
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from create_order.adapters.dynamodb import DynamoDBProductCatalog
    from create_order.logic import OrderService
    from create_order.xray.writer import XRayWriter

INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
SNAP_START = "snap-start"
"""``AWS_LAMBDA_INITIALIZATION_TYPE`` when Lambda initialises a version for its snapshot."""
PRIMING_CUSTOMER = "snapstart-priming"
PRIMING_PRODUCT = "P-SNAPSTART-PRIMING"
PRIMING_RUNS = 3
"""Times the canned order goes through the handler before the snapshot: a code path's first runs are its slowest."""
PRIMING_DEADLINE_MS = 30_000
"""The canned order's deadline: enough for every step, never reached (no call leaves the process)."""


class _Canned:
    """A raw HTTP body as botocore reads one: ``stream()`` yields it."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _answer(body: dict[str, Any], target: str) -> AWSResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "snapstart-priming"
    return AWSResponse(target, 200, headers, _Canned(json.dumps(body).encode()))


def _priming_answer(request: Any, **_: Any) -> AWSResponse:
    """The in-process answer to the canned order's three calls (``before-send``: nothing leaves the process)."""
    operation = request.headers.get("X-Amz-Target", b"")
    operation = operation.decode() if isinstance(operation, bytes) else str(operation)
    sent = json.loads(request.body or b"{}")
    if operation.endswith(".BatchGetItem"):
        [(table, _keys)] = sent["RequestItems"].items()
        product = {"product_id": {"S": PRIMING_PRODUCT}, "price": {"N": "1.00"}, "currency": {"S": "USD"},
                   "active": {"BOOL": True}}  # fmt: skip
        return _answer({"Responses": {table: [product]}, "UnprocessedKeys": {}}, request.url)
    if operation.endswith(".SendMessage"):
        md5 = hashlib.md5(sent["MessageBody"].encode(), usedforsecurity=False).hexdigest()
        return _answer({"MessageId": "snapstart-priming", "MD5OfMessageBody": md5}, request.url)
    return _answer({}, request.url)  # PutItem: stored (nothing returned on success)


def priming_event() -> dict[str, Any]:
    """The canned order: an API Gateway proxy event as the REST API hands one to the function."""
    claims = {"sub": PRIMING_CUSTOMER, "custom:customer_id": PRIMING_CUSTOMER}
    body = {"customer_id": PRIMING_CUSTOMER, "items": [{"product_id": PRIMING_PRODUCT, "quantity": 1}]}
    return {
        "httpMethod": "POST",
        "path": "/orders",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestId": "snapstart-priming", "authorizer": {"claims": claims}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class _PrimingContext:
    """The Lambda context of a priming invocation (what the handler and Powertools read of one)."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "create-order")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    invoked_function_arn = f"arn:aws:lambda:::function:{function_name}"
    aws_request_id = "snapstart-priming"
    log_group_name = log_stream_name = None

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return PRIMING_DEADLINE_MS


class SnapshotHooks:
    """What runs before the snapshot and after each restore, over the function's own objects."""

    def __init__(
        self, service: OrderService, catalog: DynamoDBProductCatalog, clients: tuple[DynamoDBClient, SQSClient],
        tracer: XRayWriter,
    ) -> None:  # fmt: skip
        self._service = service
        self._catalog = catalog
        self._clients = clients
        self._tracer = tracer
        self._instrumented: tuple[Callable[..., dict[str, Any]], Logger, Metrics] | None = None

    def instrumented(self, handler: Callable[..., dict[str, Any]], logger: Logger, metrics: Metrics) -> None:
        """Prime through ``handler`` (the Lambda handler, its Powertools decorators and all), quietly.

        Its log lines are dropped and its metrics discarded. The priming is the snapshot's first
        invocation: Powertools' ``ColdStart`` metric and the logs' ``cold_start`` count no restored
        environment, as the run report counts restores apart from cold starts.
        """
        self._instrumented = (handler, logger, metrics)

    def prime(self) -> dict[str, Any]:
        """Run the canned order through the reader, the service and its three SDK calls, and the writer.

        Through the whole Lambda handler ``PRIMING_RUNS`` times when :meth:`instrumented` gave it
        (its decorators' first-invocation work done too), else through the service alone.

        Returns:
            The answer the writer made (a 201 for the canned order).
        """
        event = priming_event()
        events = [
            (client, f"before-send.{client.meta.service_model.service_id.hyphenize()}") for client in self._clients
        ]
        for client, event_name in events:
            # A before-send handler's answer is the response (botocore's stubs type handlers as returning None).
            # Registered for the service, not for every send: a handler of the more specific name runs first.
            client.meta.events.register_first(event_name, _priming_answer, unique_id="snapstart-priming")  # type: ignore[arg-type]
        token = deadline.start(deadline.Deadline.for_invocation(PRIMING_DEADLINE_MS))
        try:
            if self._instrumented is not None:
                answer = self._through_handler(event, *self._instrumented)
            else:
                request, key = api.parse_order_request(event)
                order = self._service.create(request, api.caller(event), key)
                answer = api.respond(201, order.to_public(), problem=False, location=order.location)
        finally:
            deadline.finish(token)
            for client, event_name in events:
                client.meta.events.unregister(event_name, unique_id="snapstart-priming")
            self._catalog.forget()
        return answer

    def _through_handler(
        self, event: dict[str, Any], handler: Callable[..., dict[str, Any]], logger: Logger, metrics: Metrics
    ) -> dict[str, Any]:
        level = logger.log_level
        logger.setLevel(logging.CRITICAL)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the EMF documents Powertools prints
                for _ in range(PRIMING_RUNS):
                    answer = handler(dict(event), _PrimingContext())
        finally:
            logger.setLevel(level)
            metrics.clear_metrics()
        return answer

    def refresh(self) -> None:
        """Make the restored environment its own: random state, connections, credentials, cache, X-Ray socket."""
        JITTER.seed()
        credentials = botocore.session.get_session().get_credentials()
        for client in self._clients:
            # botocore keeps its connection pools there (reopened on use) and the signer's credentials there.
            low: Any = client
            low._endpoint.http_session.close()
            low._request_signer._credentials = credentials
        self._catalog.forget()
        self._tracer.emitter.close()


def register(hooks: SnapshotHooks, env: Mapping[str, str]) -> bool:
    """Install the hooks when Lambda initialises this environment for a snapshot; whether it did."""
    if env.get(INITIALIZATION_TYPE) != SNAP_START:
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot  # noqa: PLC0415 - SnapStart only

    register_before_snapshot(hooks.prime)
    register_after_restore(hooks.refresh)
    return True
