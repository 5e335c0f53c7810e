"""The one X-Ray object the handler holds: it traces each sampled invocation, the handler and its SDK calls."""

from __future__ import annotations

import functools
import os
import time
from typing import TYPE_CHECKING, Any, TypeVar

from create_order.xray.causes import cause, exception_message, exception_stack, flag_status
from create_order.xray.config import (
    DAEMON_ADDRESS_ENV,
    DEFAULT_DAEMON_ADDRESS,
    TRACE_HEADER_ENV,
    parse_daemon_address,
    tracing_disabled,
)
from create_order.xray.emitter import DaemonEmitter
from create_order.xray.hooks import attach_hooks
from create_order.xray.segments import InvocationTrace

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

HandlerT = TypeVar("HandlerT", bound="Callable[..., Any]")


class XRayWriter:
    """Writes the X-Ray subsegments of the handler and of the SDK calls of the clients it instruments.

    Not Powertools' ``Tracer``: only what the handler uses (``capture_lambda_handler`` keeps the name
    of Powertools' decorator, which it replaced).

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

        return traced  # type: ignore[return-value]  # wraps() keeps the handler's signature

    def instrument_client(self, client: Any) -> None:
        """Write a subsegment for each call ``client`` makes during a traced invocation (see :func:`attach_hooks`)."""
        if not self.enabled:
            return
        attach_hooks(client, self, self.emitter)

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
