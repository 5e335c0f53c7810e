"""moto's server, with DynamoDB's conditional writes made atomic as the real service's are.

moto checks a ConditionExpression and then writes, with nothing in between to stop another
request thread doing the same: two concurrent PutItems with ``attribute_not_exists(id)`` can
both succeed. DynamoDB evaluates the condition and writes atomically, and the endpoint's
idempotency rests on exactly that, so the stage serialises moto's DynamoDB write operations.
Everything else is moto's own server (``python -m moto.server``).

moto publishes no CloudWatch metrics for the calls it serves, so with ``--request-log PATH``
the server also writes one JSON line per JSON-protocol request (DynamoDB, SQS): operation,
table or queue, status, error code, messages sent or received, and time taken. The local
dashboard draws DynamoDB's and SQS's service-side metrics from it.

usage: python -m loadtests.stage.moto_server -H 127.0.0.1 -p PORT [--request-log PATH]
"""

from __future__ import annotations

import functools
import io
import json
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import moto.server
from moto.dynamodb.models import DynamoDBBackend
from moto.server import DomainDispatcherApplication, main

from chaos.inject import resource_named

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_write_lock = threading.RLock()


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(*args, **kwargs)

    return locked


def make_writes_atomic() -> None:
    """Serialise moto's DynamoDB writes (idempotent: wraps once)."""
    for name in WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "_create_order_atomic", False):
            wrapped = _atomic(method)
            wrapped._create_order_atomic = True  # type: ignore[attr-defined]
            setattr(DynamoDBBackend, name, wrapped)


def _counts(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, int]:
    if operation == "SendMessage":
        return {"sent": 1}
    if operation == "SendMessageBatch":
        return {"sent": len(answer.get("Successful", []))}
    if operation == "ReceiveMessage":
        return {"received": len(answer.get("Messages", []))}
    if operation == "DeleteMessageBatch":
        return {"deleted": len(answer.get("Successful", []))}
    if operation == "DeleteMessage":
        return {"deleted": 1}
    return {}


class RequestLog:
    """WSGI middleware: one JSON line per JSON-protocol request, written after the answer."""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self._out = open(path, "a", buffering=1 << 16)  # noqa: SIM115 - lives as long as the server
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer through moto; log the request once the answer is complete."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if "." not in target:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        started = time.time()
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[str] = []

        def capture(code: str, headers: list[Any], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        chunks = list(self.app(environ, capture))
        self._write(target.rsplit(".", 1)[1], started, raw, status[0] if status else "500", b"".join(chunks))
        return chunks

    def _write(self, operation: str, started: float, raw: bytes, status: str, answer_raw: bytes) -> None:
        try:
            request = json.loads(raw or b"{}")
            answer = json.loads(answer_raw or b"{}")
        except ValueError:
            request, answer = {}, {}
        code = int(status.split(maxsplit=1)[0])
        entry: dict[str, Any] = {
            "ts": round(started, 4),
            "operation": operation,
            "target": resource_named(request),
            "status": code,
            "ms": round((time.time() - started) * 1000, 3),
            **_counts(operation, request, answer if code < 300 else {}),
        }
        if code >= 400:
            entry["error"] = str(answer.get("__type", "")).rsplit("#", 1)[-1]
        with self._lock:
            self._out.write(json.dumps(entry) + "\n")

    def flush(self) -> None:
        """Write what is buffered (on SIGTERM, before the process ends)."""
        with self._lock:
            self._out.flush()


def _with_request_log(path: str) -> None:
    logs: list[RequestLog] = []

    class LoggedDispatcher(DomainDispatcherApplication):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            logs.append(RequestLog(super().__call__, path))

        def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            return logs[0](environ, start_response)

    moto.server.DomainDispatcherApplication = LoggedDispatcher  # type: ignore[misc]
    # moto's server ends on SIGTERM through sys.exit: flush the log on the way out.
    import atexit  # noqa: PLC0415

    atexit.register(lambda: [log.flush() for log in logs])


if __name__ == "__main__":
    make_writes_atomic()
    arguments = sys.argv[1:]
    if "--request-log" in arguments:
        at = arguments.index("--request-log")
        _with_request_log(arguments[at + 1])
        del arguments[at : at + 2]
    main(arguments)
