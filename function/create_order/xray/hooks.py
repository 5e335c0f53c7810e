"""botocore event hooks on one client: open each SDK call's subsegment, tag its request with it, close it."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Protocol

from create_order.xray.causes import cause, exception_message, flag_status
from create_order.xray.segments import CallSubsegment, standalone

if TYPE_CHECKING:
    from collections.abc import Mapping

    from create_order.xray.emitter import DaemonEmitter
    from create_order.xray.segments import InvocationTrace

TRACE_HEADER = "X-Amzn-Trace-Id"

_CALL_KEY = "create_order.tracing"
"""Where an SDK call's open subsegment is kept: botocore's per-call request context (a key, not a module)."""


class InvocationSource(Protocol):
    """Where the hooks find the traced invocation in progress: the writer that instruments the client."""

    @property
    def current(self) -> InvocationTrace | None:
        """The traced invocation in progress, if any."""
        ...


def attach_hooks(client: Any, source: InvocationSource, emitter: DaemonEmitter) -> None:
    """Register the hooks of a subsegment per call on ``client``'s events.

    Attaching them again adds hooks that change nothing: a call's subsegment lives in the call's
    context, where the last ``start`` opens it and the first answer closes it.
    """
    hooks = ClientHooks(source, emitter, str(client.meta.service_model.service_id), client.meta.region_name)
    events = client.meta.events
    events.register("before-parameter-build", hooks.start)
    events.register("before-call", hooks.propagate)
    events.register("after-call", hooks.answered)
    events.register("after-call-error", hooks.failed)


class ClientHooks:
    """botocore event handlers on one client: open a call's subsegment, tag its request, close it."""

    __slots__ = ("_emitter", "_name", "_region", "_source")

    def __init__(self, source: InvocationSource, emitter: DaemonEmitter, name: str, region: str) -> None:
        self._source = source
        self._emitter = emitter
        self._name = name
        self._region = region

    def start(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """``before-parameter-build``: open the subsegment (serialisation is part of the call)."""
        invocation = self._source.current
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
            _finish(call, document, self._emitter)
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
            _finish(call, document, self._emitter)
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
