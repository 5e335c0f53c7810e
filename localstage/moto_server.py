"""moto's app as the stage serves it, with DynamoDB's conditional writes made atomic as the real service's are.

moto checks a ConditionExpression and then writes, with nothing in between to stop another
request thread doing the same: two concurrent PutItems with ``attribute_not_exists(id)`` can
both succeed. DynamoDB evaluates the condition and writes atomically, and the endpoint's
idempotency rests on exactly that, so the stage serialises moto's DynamoDB write operations.
Everything else is moto's own app (what ``python -m moto.server`` serves); the server around
it, one process per service group, is ``localstage.moto_process``.

moto publishes no CloudWatch metrics for the calls it serves, so with ``--request-log PATH``
the server also writes one JSON line per JSON-protocol request (DynamoDB, SQS): operation,
table or queue, status, error code, messages sent or received, time taken, and what the call is
billed in (write and read units, SQS requests: ``harness.billing``). The local dashboard draws
DynamoDB's and SQS's service-side metrics from it; ``runreport.cost`` prices it.

At most a few requests are inside moto at once, the queue's consumer excepted (see
:class:`Admission`): a hundred threads contending for moto's GIL halved its throughput.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from moto.core.utils import camelcase_to_underscores, unix_time_millis
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue

from chaos.inject import resource_named
from harness import billing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
DEFAULT_MAX_CONCURRENT = 4
"""Requests inside moto at once (see :class:`Admission`); the queue's drain is not counted."""
ROUTED_SERVICES = frozenset({"dynamodb", "sqs", "cognito-idp", "monitoring", "logs", "cloudformation"})
"""The services of the stage (backend.SERVICE_GROUPS), whose routing is remembered."""
DRAINING = frozenset({"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility"})
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


class QueueAttributes(Mapping[str, Any]):
    """moto's ``Queue.attributes`` as a view: each value worked out when it is read.

    moto builds every attribute of a queue, three of them by walking all its messages (the
    ``ApproximateNumberOf*`` counts), each time any one is read: on every SendMessage (to read
    ``ContentBasedDeduplication``) and for every message a ReceiveMessage returns (to read
    ``MessageRetentionPeriod``). With a few hundred messages waiting that made each call slower,
    the consumer fell behind, more messages waited, and the stage collapsed (BENCHMARKS.md, T11).
    The same keys and values, computed
    only for the attribute read: GetQueueAttributes with ``All`` still counts the messages.
    """

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        self._names = [
            *queue.BASE_ATTRIBUTES,
            *(queue.FIFO_ATTRIBUTES if queue.fifo_queue else ()),
            # moto sets kms_master_key_id from the queue's attributes, undeclared (moto's own read ignores it too).
            *(queue.KMS_ATTRIBUTES if queue.kms_master_key_id else ()),  # type: ignore[attr-defined]
        ]

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        queue = self._queue
        if name == "RedrivePolicy" and queue.redrive_policy:
            value: Any = json.dumps(queue.redrive_policy)
        else:
            value = getattr(queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _visible_messages(queue: Queue) -> list[Message]:
    """Moto's ``Queue.messages`` (visible and not delayed), with one clock reading, not two per message."""
    now = unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def _delete_message(self: Queue, receipt_handle: str) -> None:
    """Moto's ``Queue.delete_message``, under the queue's lock and without rebuilding the list.

    moto rebuilds ``_messages`` without the message (a pass over every message, after another
    to find it) and assigns it back outside the lock that SendMessage appends under: a message
    appended to the old list after the pass and before the assignment is dropped, a loss no real
    SQS has and the harness exists to rule out; and two deletes at once can put back each
    other's message. Here the one message is taken out of the list in place, under that lock.
    """
    if receipt_handle in self.deleted_messages:
        return  # already deleted: as moto, gracefully
    with self._messages_lock:
        messages = self._messages
        found = next((i for i, m in enumerate(messages) if m.had_receipt_handle(receipt_handle)), None)
        if found is None:
            raise ReceiptHandleIsInvalid
        message = messages.pop(found)
    self.pending_messages.discard(message)
    # moto types the handles as str | None (a message's before it is received); moto's own delete ignores it too.
    self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]


def make_queues_fast() -> None:
    """Moto's queue bookkeeping in time that does not grow with every read (idempotent).

    ``Queue.attributes`` becomes a :class:`QueueAttributes` view, ``Queue.messages`` reads the
    clock once, and ``Queue.delete_message`` takes the queue's lock (see each).
    """
    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment,method-assign]
    Queue.messages = property(_visible_messages)  # type: ignore[assignment,method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]


def _target(environ: dict[str, Any]) -> tuple[str, str]:
    """A JSON-protocol request's ``X-Amz-Target`` as (service prefix, operation); operation "" if none."""
    prefix, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
    return prefix, operation


def _read_units(request: dict[str, Any], answer: dict[str, Any]) -> float:
    """A BatchGetItem's read units: each item returned by its size, each key that found nothing at least once.

    Keys left unprocessed are not read (nor billed). The items are measured as returned, that
    is projected: DynamoDB bills the whole item, so a projection of items over 4 KB counts low.
    """
    sizes: list[int] = []
    for table, keys in request.get("RequestItems", {}).items():
        items = answer.get("Responses", {}).get(table, [])
        unprocessed = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        sizes += [billing.item_bytes(item) for item in items]
        sizes += [0] * max(0, len(keys.get("Keys", [])) - len(items) - len(unprocessed))
    return billing.read_units(sizes) if sizes else 0.0


def _counts(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """What a served call did and what it is billed in: messages, DynamoDB units, SQS requests.

    Called for the calls AWS bills: those answered, and a PutItem refused by its condition
    (billed as if it had written; ``answer`` is then empty).
    """
    counts: dict[str, Any] = {}
    if operation == "SendMessage":
        counts = {"sent": 1, "sqs_requests": billing.chunks(billing.message_bytes(request))}
    elif operation == "SendMessageBatch":
        payload = sum(billing.message_bytes(entry) for entry in request.get("Entries", []))
        counts = {"sent": len(answer.get("Successful", [])), "sqs_requests": billing.chunks(payload)}
    elif operation == "ReceiveMessage":
        messages = answer.get("Messages", [])
        payload = sum(len(str(message.get("Body", "")).encode()) for message in messages)
        counts = {"received": len(messages), "sqs_requests": billing.chunks(payload)}
    elif operation == "DeleteMessageBatch":
        counts = {"deleted": len(answer.get("Successful", [])), "sqs_requests": 1}
    elif operation == "DeleteMessage":
        counts = {"deleted": 1, "sqs_requests": 1}
    elif operation == "PutItem" and "Item" in request:
        counts = {"write_units": billing.write_units(billing.item_bytes(request["Item"]))}
    elif operation == "BatchGetItem":
        counts = {"read_units": _read_units(request, answer)}
    return counts


class RequestLog:
    """WSGI middleware: one JSON line per JSON-protocol request, written after the answer."""

    def __init__(self, app: Any, path: str) -> None:
        self.app = app
        self._out = open(path, "a", buffering=1 << 16)  # noqa: SIM115 - lives as long as the server
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer through moto; log the request once the answer is complete."""
        _, operation = _target(environ)
        if not operation:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        started = time.time()
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[str] = []

        def capture(code: str, headers: list[Any], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        chunks = list(self.app(environ, capture))
        self._write(operation, started, raw, status[0] if status else "500", b"".join(chunks))
        return chunks

    def _write(self, operation: str, started: float, raw: bytes, status: str, answer_raw: bytes) -> None:
        try:
            request = json.loads(raw or b"{}")
            answer = json.loads(answer_raw or b"{}")
        except ValueError:
            request, answer = {}, {}
        code = int(status.split(maxsplit=1)[0])
        error = str(answer.get("__type", "")).rsplit("#", 1)[-1] if code >= 400 else ""
        billed = code < 300 or error == "ConditionalCheckFailedException"
        entry: dict[str, Any] = {
            "ts": round(started, 4),
            "operation": operation,
            "target": resource_named(request),
            "status": code,
            "ms": round((time.time() - started) * 1000, 3),
            **(_counts(operation, request, answer if code < 300 else {}) if billed else {}),
        }
        if error:
            entry["error"] = error
        with self._lock:
            self._out.write(json.dumps(entry) + "\n")

    def flush(self) -> None:
        """Write what is buffered (on SIGTERM, before the process ends)."""
        with self._lock:
            self._out.flush()


class Admission:
    """WSGI middleware: at most ``limit`` requests inside moto at once; the queue's drain skips the line.

    moto's server answers each connection on its own thread. With a hundred callers at once (the
    stage's execution environments, the benchmark's threads) those threads fight for one GIL:
    on 2 cores, moto's SendMessage throughput fell as callers were added (BENCHMARKS.md, T11),
    and the queue's consumer, two threads among a hundred, got so few turns that the
    queue filled (and moto's queue operations slow as it fills). Here the other requests wait
    on a semaphore, asleep; the consumer's operations (a ReceiveMessage long-polls: it must not
    hold a slot while it waits) go straight in, as SQS would serve them beside any senders.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self._slots = threading.BoundedSemaphore(limit)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer through moto, in turn unless the request drains a queue."""
        if _target(environ)[1] in DRAINING:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        with self._slots:
            return list(self.app(environ, start_response))


def _routing_key(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(region, service, target prefix) of a SigV4 request to a service the stage runs; else ``None``."""
    path = environ.get("PATH_INFO", "")
    if not isinstance(path, str) or path.startswith(("/moto-api", "/latest/", "/favicon.ico")):
        return None
    try:
        scope = environ["HTTP_AUTHORIZATION"].split(",", 1)[0].split()[1]
        _, _, region, service, _ = scope.split("/")
    except (KeyError, IndexError, ValueError):
        return None
    if service not in ROUTED_SERVICES:
        return None
    return region, service, _target(environ)[0]


class StageDispatcher(DomainDispatcherApplication):
    """Moto's dispatcher behind :class:`Admission` and, with ``log_path``, :class:`RequestLog`: the server's app."""

    def __init__(self, log_path: str | None = None, max_concurrent: int = DEFAULT_MAX_CONCURRENT) -> None:
        super().__init__(create_backend_app)
        app: Any = super().__call__
        self._log = RequestLog(app, log_path) if log_path is not None else None
        self._admission = Admission(self._log or app, max_concurrent)
        self._routes: dict[tuple[str, str, str], Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Answer one request: admitted, then moto, logged."""
        return self._admission(environ, start_response)

    def get_application(self, environ: dict[str, Any]) -> Any:
        """Moto's choice of service app, remembered per signing scope and target for the stage's services.

        moto works it out anew for every request, under one lock, listing its own package
        directory on the way (``backends.list_of_moto_modules``): a third of the SQS
        process's time at 200 messages/s. For a SigV4-signed request to one of the stage's
        services the choice depends only on the signing region and service and, for
        DynamoDB, the target's prefix, so it is made once per such key.
        """
        key = _routing_key(environ)
        if key is None:
            return super().get_application(environ)
        app = self._routes.get(key)
        if app is None:
            app = self._routes[key] = super().get_application(environ)
        return app

    def flush(self) -> None:
        """Write what the request log holds (as the server stops)."""
        if self._log is not None:
            self._log.flush()
