"""X-Ray tracing without the X-Ray SDK: subsegment documents written straight to the daemon.

What Powertools' ``Tracer(patch_modules=("botocore",))`` recorded, at a fraction of its cost
(it imported the X-Ray SDK, wrapt and asyncio at cold start, and spent more CPU per traced
invocation; BENCHMARKS.md, T6):

- one ``## lambda_handler`` subsegment per invocation, child of the function segment Lambda
  writes (``Parent`` of the invocation's trace header), annotated ``ColdStart`` and ``Service``;
- one ``aws`` subsegment per SDK call made during the invocation (its child), with the
  operation, region, request id, retries, table or queue, HTTP status and error flags;
- the outgoing ``X-Amzn-Trace-Id`` header of each call names its subsegment as the parent, so
  SQS carries the trace (``AWSTraceHeader``) to the consumer, as the X-Ray SDK's patch did.

When the handler ends, its subsegment is sent with its calls' inside (``subsegments``), as the
X-Ray SDK sends a finished subsegment tree: one UDP datagram (header line + JSON document) per
invocation to the daemon at ``AWS_XRAY_DAEMON_ADDRESS`` (a tree too big for one, or a call that
ends after its handler, goes out as documents of their own). Tracing is decided once per environment (Powertools'
rules: ``POWERTOOLS_TRACE_DISABLED``, off outside Lambda) and then per invocation by the
``Sampled`` flag of ``_X_AMZN_TRACE_ID``, which the runtime sets for each invocation. An
unsampled invocation writes nothing; no failure to trace ever reaches the handler.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from typing import TYPE_CHECKING, Any, TypeVar, cast

from create_order.xray.causes import cause, exception_message, exception_stack, flag_status
from create_order.xray.config import (
    DAEMON_ADDRESS_ENV,
    DEFAULT_DAEMON_ADDRESS,
    TRACE_HEADER_ENV,
    parse_daemon_address,
    tracing_disabled,
)
from create_order.xray.emitter import DaemonEmitter
from create_order.xray.segments import CallSubsegment, InvocationTrace, standalone

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TRACE_HEADER = "X-Amzn-Trace-Id"

_CALL_KEY = "create_order.tracing"
"""Where an SDK call's open subsegment is kept: botocore's per-call request context."""

HandlerT = TypeVar("HandlerT", bound="Callable[..., Any]")


class Tracer:
    """Writes the X-Ray subsegments of the handler and of the SDK calls of the clients it instruments.

    ``enabled`` and the daemon address are decided at construction (from ``env``, by default the
    process environment, read once); whether an invocation is traced, at its start.
    """

    def __init__(
        self,
        service: str,
        *,
        enabled: bool | None = None,
        daemon_address: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.service = service
        address = daemon_address if daemon_address is not None else env.get(DAEMON_ADDRESS_ENV, "")
        self.emitter = DaemonEmitter(parse_daemon_address(address.strip() or DEFAULT_DAEMON_ADDRESS))
        """Where the documents go: the daemon, if its address is valid."""
        self.enabled = (not tracing_disabled(env) if enabled is None else enabled) and self.emitter.daemon is not None
        self._cold_start = True
        self._invocation: InvocationTrace | None = None

    def capture_lambda_handler(self, handler: HandlerT) -> HandlerT:
        """Trace each sampled invocation of ``handler`` as ``## <its name>`` (``handler`` itself if disabled)."""
        if not self.enabled:
            return handler
        name = f"## {getattr(handler, '__name__', 'handler')}"

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            invocation = self._begin()
            if invocation is None:
                return handler(event, context)
            try:
                response = handler(event, context)
            except BaseException as exc:
                self._end(invocation, name, None, exc)
                raise
            self._end(invocation, name, response, None)
            return response

        return cast("HandlerT", traced)

    def instrument_client(self, client: Any) -> None:
        """Write a subsegment for each call ``client`` makes during a traced invocation.

        Instrumenting a client again adds hooks that change nothing: a call's subsegment lives in
        the call's context, where the last ``start`` opens it and the first answer closes it.
        """
        if not self.enabled:
            return
        hooks = _ClientHooks(self, str(client.meta.service_model.service_id), client.meta.region_name)
        events = client.meta.events
        events.register("before-parameter-build", hooks.start)
        events.register("before-call", hooks.propagate)
        events.register("after-call", hooks.answered)
        events.register("after-call-error", hooks.failed)

    @property
    def current(self) -> InvocationTrace | None:
        """The traced invocation in progress, if any."""
        return self._invocation

    def _begin(self) -> InvocationTrace | None:
        cold_start, self._cold_start = self._cold_start, False
        header = os.environ.get(TRACE_HEADER_ENV)
        if not header or "Sampled=1" not in header:
            self._invocation = None
            return None
        try:
            self._invocation = InvocationTrace.from_header(header, cold_start=cold_start)
        except Exception:  # noqa: BLE001 - a header we cannot read leaves the invocation untraced
            self._invocation = None
        return self._invocation

    def _end(self, invocation: InvocationTrace, name: str, response: Any, exc: BaseException | None) -> None:
        self._invocation = None
        invocation.ended = True
        try:
            document: dict[str, Any] = {
                "type": "subsegment",
                "id": invocation.id,
                "trace_id": invocation.trace_id,
                "parent_id": invocation.parent_id,
                "name": name,
                "start_time": invocation.start,
                "end_time": time.time(),
                "annotations": {"ColdStart": invocation.cold_start, "Service": self.service},
            }
            status = response.get("statusCode") if isinstance(response, dict) else None
            if isinstance(status, int):
                document["http"] = {"response": {"status": status}}
                flag_status(document, status, None)
            if exc is not None:
                document["fault"] = True
                document["cause"] = cause(
                    type(exc).__name__, exception_message(exc), remote=False, stack=exception_stack(exc)
                )
            self.emitter.send_with_calls(document, invocation)
        except Exception:  # noqa: BLE001, S110 - tracing never fails an invocation  # nosec B110
            pass


class _ClientHooks:
    """botocore event handlers on one client: open a call's subsegment, tag its request, close it."""

    __slots__ = ("_name", "_region", "_tracer")

    def __init__(self, tracer: Tracer, name: str, region: str) -> None:
        self._tracer = tracer
        self._name = name
        self._region = region

    def start(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: open the subsegment (serialisation is part of the call)."""
        invocation = self._tracer.current
        if invocation is None:
            return
        try:
            aws: dict[str, Any] = {"operation": model.name, "region": self._region}
            if "TableName" in params:
                aws["table_name"] = params["TableName"]
            elif "QueueUrl" in params:
                aws["queue_url"] = params["QueueUrl"]
            elif isinstance(params.get("RequestItems"), dict):
                aws["table_names"] = list(params["RequestItems"])
            context[_CALL_KEY] = CallSubsegment(invocation, aws)
        except Exception:  # noqa: BLE001, S110 - tracing never fails a call  # nosec B110
            pass

    def propagate(self, params: dict[str, Any], context: Mapping[str, Any], **_: Any) -> None:
        """``before-call``: the request's trace header names this call's subsegment as its parent."""
        call = context.get(_CALL_KEY)
        if call is None:
            return
        with contextlib.suppress(Exception):  # tracing never fails a call
            params["headers"][TRACE_HEADER] = call.invocation.header_for(call.id)

    def answered(
        self, http_response: Any, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        """``after-call``: the call got an answer (after botocore's retries), success or error."""
        call = context.pop(_CALL_KEY, None)
        if call is None:
            return
        try:
            document = self._document(call, context)
            request_id = (parsed.get("ResponseMetadata") or {}).get("RequestId")
            if request_id:
                call.aws["request_id"] = request_id
            status = http_response.status_code
            response: dict[str, Any] = {"status": status}
            length = http_response.headers.get("content-length")
            if length is not None and length.isdigit():
                response["content_length"] = int(length)
            elif not model.has_streaming_output:
                response["content_length"] = len(http_response.content)
            document["http"] = {"response": response}
            if status >= 400:
                error = parsed.get("Error") or {}
                code = str(error.get("Code") or f"HTTP {status}")
                flag_status(document, status, code)
                document["cause"] = cause(code, str(error.get("Message") or ""), remote=True)
            _finish(call, document, self._tracer.emitter)
        except Exception:  # noqa: BLE001, S110 - tracing never fails a call  # nosec B110
            pass

    def failed(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        """``after-call-error``: no answer at all (connection, timeout) after botocore's retries."""
        call = context.pop(_CALL_KEY, None)
        if call is None:
            return
        try:
            document = self._document(call, context)
            document["fault"] = True
            document["cause"] = cause(type(exception).__name__, exception_message(exception), remote=True)
            _finish(call, document, self._tracer.emitter)
        except Exception:  # noqa: BLE001, S110 - tracing never fails a call  # nosec B110
            pass

    def _document(self, call: CallSubsegment, context: Mapping[str, Any]) -> dict[str, Any]:
        call.aws["retries"] = max(0, int((context.get("retries") or {}).get("attempt", 1)) - 1)
        return {
            "id": call.id,
            "name": self._name,
            "namespace": "aws",
            "start_time": call.start,
            "end_time": time.time(),
            "aws": call.aws,
        }


def _finish(call: CallSubsegment, document: dict[str, Any], emitter: DaemonEmitter) -> None:
    """Keep a call's subsegment for its handler's datagram; send it alone if the handler has ended."""
    if call.invocation.ended:
        emitter.send(standalone(document, call.invocation))
    else:
        call.invocation.calls.append(document)
