"""The Lambda Runtime API (2018-06-01), as one execution environment's runtime speaks to it.

The runtime interface client in an environment (``awslambdaric``, as in Lambda's managed Python
runtime) asks ``GET /2018-06-01/runtime/invocation/next`` for work: that request is the end of
its init, and between invocations it waits there. It answers each invocation with ``POST
…/invocation/{id}/response`` or ``…/invocation/{id}/error``; an init that fails posts
``…/runtime/init/error`` and the process exits. A SnapStart runtime asks ``GET
…/runtime/restore/next`` when its init and before-snapshot hooks are done
(:meth:`RuntimeApi.snapshot_point`: the snapshot is taken there, ``localstage.snapshot``), and
again, in each environment restored from the snapshot, as it resumes; both are answered at once.
An after-restore hook that fails posts ``…/runtime/restore/error``, which ends the restore as an
init error ends an init. Every ``next`` answer carries each ``Lambda-Runtime-*`` header,
empty or not, as Lambda sends them (docs/contract.md §5: awslambdaric's native client was seen
to crash on an answer without ``-Client-Context`` and ``-Cognito-Identity``). A response over
Lambda's limit (:data:`MAX_RESPONSE_BYTES`) is refused as Lambda refuses it: a 413 to the runtime,
``Function.ResponseSizeTooLarge`` to the invoker.

Each environment has an endpoint of its own (:class:`RuntimeApi`: a socket listening on
127.0.0.1, given to the environment as ``AWS_LAMBDA_RUNTIME_API``), and no thread of its own:
the thread that invokes the environment reads and answers its requests
(``localstage/workers.py``). An invocation costs the stage two small exchanges on a connection
kept alive, and no hand-off between threads.

Standard library only; HTTP/1.1 as the runtime clients speak it, no more.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

PREFIX = "/2018-06-01/runtime/"
NEXT = PREFIX + "invocation/next"
INIT_ERROR = PREFIX + "init/error"
RESTORE_NEXT = PREFIX + "restore/next"
RESTORE_ERROR = PREFIX + "restore/error"
_INVOCATION = PREFIX + "invocation/"

ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"
"""The header a runtime names its error's type in, on ``…/error`` and ``init/error`` (lower case, as read)."""
NEXT_HEADERS = (
    "Lambda-Runtime-Aws-Request-Id",
    "Lambda-Runtime-Deadline-Ms",
    "Lambda-Runtime-Invoked-Function-Arn",
    "Lambda-Runtime-Trace-Id",
    "Lambda-Runtime-Client-Context",
    "Lambda-Runtime-Cognito-Identity",
)
"""What Lambda sends with every invocation, in this order, each one every time."""

POLL_S = 0.1
"""How often a wait looks at whether the environment's process is still alive while no request comes."""
POLL_CONNECTED_S = 1.0
"""The same while the runtime holds a connection: a process that ends closes it, and the wait
sees that at once, so the look is only a backstop; the shorter one woke the invoking thread
several times in every invocation that waited on a busy machine (BENCHMARKS.md, T19)."""
_ACCEPTED = b'{"status":"OK"}'

MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
"""Lambda's limit on a synchronous invocation's response body, its quotas' "6 MB".

Lambda's Runtime API (RAPID, in aws/aws-lambda-runtime-interface-emulator) reads the runtime's
whole ``…/response`` and refuses it when ``len(data) > interop.MaxPayloadSize``, this value
(``internal/lambda/interop/model.go``, ``internal/lambda/rapidcore/server.go``): the limit itself passes.
"""
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
"""The invoker's error for a response over the limit (RAPID's ``fatalerror.FunctionOversizedResponse``)."""


class RuntimeExitError(Exception):
    """The environment's runtime went away: its process ended, or it closed its connection mid-request."""


@dataclass(frozen=True)
class InitError:
    """The runtime's ``init/error``: its init failed, and it exits (or ``restore/error``: its restore failed)."""

    error_type: str
    body: bytes
    phase: str = "init"
    """``init``, or ``restore`` for a ``restore/error`` (an after-restore hook that failed)."""


@dataclass(frozen=True)
class Answer:
    """The runtime's answer to one invocation: its ``response``, or its ``error``."""

    body: bytes
    error_type: str | None = None
    """``None`` for a response; an error's ``Lambda-Runtime-Function-Error-Type``; Lambda's for a refused response."""

    @property
    def is_error(self) -> bool:
        """Whether the runtime posted an error (a function error) rather than a response."""
        return self.error_type is not None


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: _Connection


@dataclass
class _Connection:
    """One connection from the runtime: what it has sent and not yet been read as a request."""

    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    continued: bool = False

    def receive(self) -> bool:
        """Read what has arrived; False once the runtime has closed the connection."""
        try:
            data = self.sock.recv(1 << 16)
        except OSError:
            return False
        self.buffer += data
        return bool(data)

    def request(self) -> _Request | None:
        """The first whole request in the buffer, taken out of it; ``None`` while it is not all there."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = self.buffer[:end].decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, stop = self._chunked(start)
        else:
            stop = start + int(headers.get("content-length") or 0)
            body = bytes(self.buffer[start:stop]) if stop <= len(self.buffer) else None
        if body is None:
            if headers.get("expect", "").lower() == "100-continue" and not self.continued:
                self.continued = True
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            return None
        del self.buffer[:stop]
        self.continued = False
        return _Request(method, path, headers, body, self)

    def _chunked(self, start: int) -> tuple[bytes | None, int]:
        body = bytearray()
        at = start
        while True:
            line_end = self.buffer.find(b"\r\n", at)
            if line_end < 0:
                return None, 0
            size = int(bytes(self.buffer[at:line_end]).split(b";")[0], 16)
            chunk = line_end + 2
            if size == 0:
                trailer_end = self.buffer.find(b"\r\n\r\n", line_end)
                return (bytes(body), trailer_end + 4) if trailer_end >= 0 else (None, 0)
            if chunk + size + 2 > len(self.buffer):
                return None, 0
            body += self.buffer[chunk : chunk + size]
            at = chunk + size + 2

    def send(self, status: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def _problem(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


_LIMIT = f"maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
_ENTITY_TOO_LARGE = _problem("RequestEntityTooLarge", f"Exceeded {_LIMIT}")
"""RAPID's answer (413) to a response over the limit (``rendering.RenderRequestEntityTooLarge``)."""
_OVERSIZED = Answer(_problem(RESPONSE_TOO_LARGE, f"Response payload size exceeded {_LIMIT}"), RESPONSE_TOO_LARGE)
"""What the invoker gets instead of a response over the limit, in the words of Lambda's Invoke API.

RAPID's own message also names the response's size ("Response payload size (N bytes) exceeded…",
``interop.ErrorResponseTooLarge``); Lambda's invokers get it without, as aws/aws-lambda-dotnet's
integration tests against Lambda expect since .NET 6 (``CustomRuntimeTests.cs``).
"""


def _failed(request: _Request) -> InitError:
    """A runtime's ``init/error`` or ``restore/error``, accepted: what failed, and its error type."""
    with contextlib.suppress(OSError):
        request.connection.send("202 Accepted", _ACCEPTED)
    phase = "restore" if request.path == RESTORE_ERROR else "init"
    return InitError(request.headers.get(ERROR_TYPE_HEADER) or "Runtime.Unknown", request.body, phase)


def _refuse(request: _Request) -> Answer:
    """Refuse a response over the limit as Lambda does: the invocation ends in a function error.

    RAPID then counts the response as sent, so a runtime may go on to ask for its next event;
    awslambdaric does not: its native client raises on the 413 and the process exits.
    """
    with contextlib.suppress(OSError):  # the refusal is Lambda's; a runtime gone since misses only the 413
        request.connection.send("413 Request Entity Too Large", _ENTITY_TOO_LARGE)
    return _OVERSIZED


class RuntimeApi:
    """One environment's Runtime API endpoint, served by whoever waits on it.

    ``alive`` tells whether the environment's process still runs (the endpoint cannot tell a
    runtime that is busy from one that is gone while it holds no connection).
    """

    def __init__(self, alive: Callable[[], bool] | None = None, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._connections: list[_Connection] = []
        self._waiting: _Request | None = None
        """The runtime's ``next``, read and not yet answered: the environment is ready for an event."""
        self._in_flight: str | None = None
        self.alive: Callable[[], bool] = alive or (lambda: True)
        self.restore_asked_at: float | None = None
        """``time.monotonic()`` when the runtime last asked ``restore/next`` (a restored runtime resuming)."""

    @property
    def address(self) -> str:
        """``host:port``, as ``AWS_LAMBDA_RUNTIME_API`` gives it to the runtime."""
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def ready(self, deadline: float) -> InitError | None:
        """Wait (up to ``deadline``, ``time.monotonic()``) for the init to end: ``None`` when it succeeded.

        Raises:
            TimeoutError: the init outlasted ``deadline``.
            RuntimeExitError: the runtime exited without a word.
        """
        while self._waiting is None:
            request = self._request(deadline)
            if request.path in (INIT_ERROR, RESTORE_ERROR) and request.method == "POST":
                return _failed(request)
            self._route(request)
        return None

    def snapshot_point(self, deadline: float) -> InitError | None:
        """Wait (up to ``deadline``) for a SnapStart init to end at its ``restore/next``: ``None`` when it did.

        That request is where Lambda takes the snapshot (the before-snapshot hooks have run); it
        is answered at once.

        Raises:
            TimeoutError: the init outlasted ``deadline``.
            RuntimeExitError: the runtime exited without a word.
        """
        while True:
            request = self._request(deadline)
            if request.path == INIT_ERROR and request.method == "POST":
                return _failed(request)
            self._route(request)
            if request.path == RESTORE_NEXT and request.method == "GET":
                return None

    def deliver(self, request_id: str, event: bytes, headers: Mapping[str, str], deadline: float) -> None:
        """Hand the event to the runtime's waiting ``next`` (waiting for it up to ``deadline``).

        ``headers``: the ``Lambda-Runtime-*`` values beside the request id (an absent one is sent empty).

        Raises:
            TimeoutError: the runtime did not ask for its next event by ``deadline``.
            RuntimeExitError: it went away before the event reached it (the event was not delivered).
        """
        request = self._waiting if self.ready(deadline) is None else None
        if request is None:
            raise RuntimeExitError("the runtime reported an init error instead of asking for an event")
        self._waiting = None
        values = {"Lambda-Runtime-Aws-Request-Id": request_id, **headers}
        try:
            request.connection.send("200 OK", event, {name: values.get(name, "") for name in NEXT_HEADERS})
        except OSError as error:
            raise RuntimeExitError(str(error)) from error
        self._in_flight = request_id

    def answer(self, request_id: str, deadline: float) -> Answer:
        """Wait (up to ``deadline``) for the runtime's response or error to invocation ``request_id``.

        Raises:
            TimeoutError: no answer by ``deadline`` (the invocation is still running).
            RuntimeExitError: the runtime went away before it answered.
        """
        response = f"{_INVOCATION}{request_id}/response"
        error = f"{_INVOCATION}{request_id}/error"
        while True:
            request = self._request(deadline)
            if request.method == "POST" and request.path in (response, error):
                self._in_flight = None
                if request.path == response and len(request.body) > MAX_RESPONSE_BYTES:
                    return _refuse(request)
                with contextlib.suppress(OSError):  # the answer is in; a runtime gone since misses only the 202
                    request.connection.send("202 Accepted", _ACCEPTED)
                if request.path == error:
                    return Answer(request.body, request.headers.get(ERROR_TYPE_HEADER) or "Runtime.Unknown")
                return Answer(request.body)
            self._route(request)

    def _route(self, request: _Request) -> None:
        """Answer a request that is not the one being waited for (or keep a ``next`` waiting)."""
        with contextlib.suppress(OSError):  # a runtime that left: its next request says so
            self._answer_other(request)

    def _answer_other(self, request: _Request) -> None:
        if request.method == "GET" and request.path == NEXT:
            if self._in_flight is not None:
                # A runtime that asks for more before it answered: Lambda would not give it any.
                request.connection.send("400 Bad Request", _problem("InvalidStateTransition", "an invocation is open"))
                return
            self._waiting = request
        elif request.method == "GET" and request.path == RESTORE_NEXT:
            self.restore_asked_at = time.monotonic()
            request.connection.send("200 OK")  # the snapshot point, or a restored runtime resuming: at once
        elif request.method == "POST" and request.path == RESTORE_ERROR:
            request.connection.send("202 Accepted", _ACCEPTED)
        elif request.path.startswith(_INVOCATION) and request.method == "POST":
            request.connection.send("400 Bad Request", _problem("InvalidRequestID", "no such invocation is open"))
        else:
            request.connection.send("404 Not Found", _problem("NotFound", f"{request.method} {request.path}"))

    def _request(self, deadline: float) -> _Request:
        """The runtime's next request, on any of its connections (waiting up to ``deadline``)."""
        while True:
            for connection in self._connections:
                request = connection.request()
                if request is not None:
                    return request
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the runtime did not call in time")
            try:
                events = self._selector.select(min(remaining, POLL_CONNECTED_S if self._connections else POLL_S))
            except (OSError, ValueError) as error:  # closed under the waiter: the pool is closing
                raise RuntimeExitError("the endpoint is closed") from error
            for key, _ in events:
                if key.fileobj is self._listener:
                    self._accept()
                elif not key.data.receive():
                    self._drop(key.data)
            if not events and not self.alive():
                raise RuntimeExitError("the environment's process ended")
            if not self._connections and not self.alive():
                raise RuntimeExitError("the environment's process ended")

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError):
            sock, _ = self._listener.accept()
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock)
            self._connections.append(connection)
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _drop(self, connection: _Connection) -> None:
        self._selector.unregister(connection.sock)
        self._connections.remove(connection)
        connection.sock.close()
        if self._waiting is not None and self._waiting.connection is connection:
            self._waiting = None
        if self._in_flight is not None and not self._connections:
            raise RuntimeExitError("the runtime closed its connection with an invocation open")

    def close(self) -> None:
        """Close the endpoint and every connection to it."""
        for connection in list(self._connections):
            with contextlib.suppress(OSError, KeyError, ValueError):
                self._selector.unregister(connection.sock)
            connection.sock.close()
        self._connections.clear()
        self._waiting = None
        with contextlib.suppress(OSError, KeyError, ValueError):
            self._selector.unregister(self._listener)
        self._listener.close()
        self._selector.close()
