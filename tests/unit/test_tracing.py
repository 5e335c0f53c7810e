"""X-Ray without the X-Ray SDK: what ``create_order.xray`` writes to the daemon, and when it writes nothing.

A real UDP socket stands in for the X-Ray daemon, and the real handler runs over moto. Proven here:

- a sampled invocation writes one ``## lambda_handler`` subsegment, child of Lambda's segment
  (``Parent`` of ``_X_AMZN_TRACE_ID``), annotated ``ColdStart`` (first invocation only) and
  ``Service``, with its HTTP status; and one ``aws`` subsegment per SDK call, child of the
  handler's, with operation, region, request id, retries, table or queue and status;
- each SDK request carries ``X-Amzn-Trace-Id`` naming its own subsegment as parent, with the
  invocation's ``Lineage`` kept;
- a throttled call, a call with no answer and a handler exception are flagged with their causes,
  and the order's fate in the table is what it would be without tracing;
- an unsampled, untraceable or disabled invocation writes nothing; an absent daemon loses the
  trace, never the order;
- Powertools' rules for turning tracing off, and the daemon address formats;
- importing the handler imports neither the X-Ray SDK, wrapt nor pydantic.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from create_order import handler, names
from create_order.adapters.clients import MAX_ATTEMPTS
from create_order.xray import config, emitter, hooks, segments
from create_order.xray.writer import XRayWriter
from tests.support.events import api_event
from tests.support.faults import SdkFault
from tests.unit.conftest import Backend, Invoke, make_invoke
from tests.unit.test_settings import FUNCTION_DIR, VALID

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
LINEAGE = "Lineage=a87bd80c:0;Tenant=blue"
"""The header's other fields (Lambda's loop detection and the like), which travel on as sent."""
SAMPLED = f"Root={ROOT};Parent={PARENT};Sampled=1;{LINEAGE}"
DATAGRAM_HEADER = b'{"format":"json","version":1}\n'
HANDLER_SUBSEGMENT = "## lambda_handler"
ORDER_CALLS = ("BatchGetItem", "PutItem", "SendMessage")
"""The SDK calls of a created order, in order."""
END_OF_INVOCATION = b"end of invocation"
"""Sent by the test itself after an invocation: the tracer writes synchronously, so whatever it
sent is in the daemon's socket buffer before this, and reading up to it reads all of it."""


@dataclass
class Daemon:
    """A UDP socket where the X-Ray daemon would listen; reads the documents sent to it."""

    sock: socket.socket

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()
        return f"{host}:{port}"

    def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        self.sock.settimeout(timeout_s)
        try:
            data = self.sock.recv(65_535)
        except TimeoutError:
            return None
        if data == END_OF_INVOCATION:
            return {}  # the end mark: an empty document
        assert data.startswith(DATAGRAM_HEADER), data[:80]
        return json.loads(data[len(DATAGRAM_HEADER) :])

    def _mark_the_end(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(END_OF_INVOCATION, self.sock.getsockname())

    def invocation(self) -> Invocation:
        """One traced invocation: its handler subsegment, which holds its SDK calls' (one datagram)."""
        document = self._receive(timeout_s=2.0)
        if document is None or document.get("name") != HANDLER_SUBSEGMENT:
            pytest.fail(f"no {HANDLER_SUBSEGMENT} subsegment reached the daemon; got {document}")
        return Invocation(handler=document, calls=document.get("subsegments", []))

    def documents(self) -> list[dict[str, Any]]:
        """Every document sent so far (up to the end mark this sends)."""
        self._mark_the_end()
        found = []
        while (document := self._receive(timeout_s=2.0)) != {}:
            if document is None:
                pytest.fail("the end mark never reached the daemon")
            found.append(document)
        return found

    def silent(self) -> bool:
        """Nothing at all was sent so far: the first datagram is the end mark this sends."""
        self._mark_the_end()
        return self._receive(timeout_s=2.0) == {}


@dataclass
class Invocation:
    handler: dict[str, Any]
    calls: list[dict[str, Any]]

    def call(self, operation: str) -> dict[str, Any]:
        [document] = [call for call in self.calls if call["aws"]["operation"] == operation]
        return document

    def operations(self) -> list[str]:
        return [call["aws"]["operation"] for call in self.calls]


@dataclass
class Wire:
    """What the clients put on the wire (``before-send``: per attempt) and got back (``after-call``)."""

    trace_headers: dict[str, list[str | None]] = field(default_factory=dict)
    request_ids: dict[str, str] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    """The length of each operation's last answer."""

    def watch(self, *clients: Any) -> Wire:
        for client in clients:
            client.meta.events.register("before-send", self._sent)
            client.meta.events.register("after-call", self._answered)
        return self

    def _sent(self, request: Any, event_name: str, **_: Any) -> None:
        value = request.headers.get(hooks.TRACE_HEADER)
        header = value.decode() if isinstance(value, bytes) else value
        self.trace_headers.setdefault(event_name.rsplit(".", 1)[-1], []).append(header)

    def _answered(self, parsed: dict[str, Any], model: Any, http_response: Any, **_: Any) -> None:
        self.request_ids[model.name] = parsed["ResponseMetadata"]["RequestId"]
        self.lengths[model.name] = len(http_response.content)


def _close(tracer: XRayWriter) -> None:
    if tracer.emitter._socket is not None:
        tracer.emitter._socket.close()


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield Daemon(sock)
    finally:
        sock.close()


@pytest.fixture
def use_tracer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[XRayWriter], XRayWriter]]:
    """Puts a tracer in the handler module (build_endpoint and instrument read it); closes its socket after."""
    tracers: list[XRayWriter] = []

    def use(tracer: XRayWriter) -> XRayWriter:
        tracers.append(tracer)
        monkeypatch.setattr(handler, "tracer", tracer)
        return tracer

    try:
        yield use
    finally:
        for tracer in tracers:
            _close(tracer)


@pytest.fixture
def tracer(daemon: Daemon, use_tracer) -> XRayWriter:
    """The tracer as Lambda's environment configures it, pointed at the test daemon."""
    env = {
        "LAMBDA_TASK_ROOT": "/var/task",
        "POWERTOOLS_TRACE_DISABLED": "false",
        config.DAEMON_ADDRESS_ENV: daemon.address,
    }
    return use_tracer(XRayWriter(service=names.SERVICE, env=env))


@pytest.fixture
def wire(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Wire:
    # In Lambda, botocore itself forwards _X_AMZN_TRACE_ID on untagged calls; only the tracer's tags are watched.
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    return Wire().watch(backend.dynamodb, backend.sqs)


@pytest.fixture
def traced_invoke(backend: Backend, tracer: XRayWriter, wire: Wire) -> Invoke:
    """The handler over the backend's clients, instrumented by ``tracer``."""
    return make_invoke(backend)


@pytest.fixture
def sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.TRACE_HEADER_ENV, SAMPLED)


@pytest.mark.usefixtures("sampled")
def test_sampled_invocation_writes_the_handler_and_each_sdk_call(
    backend: Backend, traced_invoke: Invoke, daemon: Daemon, wire: Wire
) -> None:
    # Given a sampled invocation (the runtime's header, with Lambda's Lineage)
    # When a valid order is posted
    response = traced_invoke(api_event(headers={"Idempotency-Key": "trace-1"}))

    # Then the order is created as it would be untraced
    assert response.status == 201
    assert len(backend.orders()) == 1
    assert len(backend.messages()) == 1
    # ... the handler's subsegment is a child of Lambda's function segment, in the invocation's trace
    trace = daemon.invocation()
    handler_doc = trace.handler
    assert handler_doc["type"] == "subsegment"
    assert handler_doc["trace_id"] == ROOT
    assert handler_doc["parent_id"] == PARENT
    assert handler_doc["annotations"] == {"ColdStart": True, "Service": names.SERVICE}
    assert handler_doc["http"] == {"response": {"status": 201}}
    assert not {"fault", "error", "throttle", "cause"} & handler_doc.keys()
    assert handler_doc["start_time"] <= handler_doc["end_time"]
    # ... and each SDK call is its child (inside it, in the one datagram), in the order made, with
    # what X-Ray's service map reads
    assert trace.operations() == list(ORDER_CALLS)
    assert daemon.silent()
    expected = {
        "BatchGetItem": ("DynamoDB", {"table_names": [backend.settings.products_table]}),
        "PutItem": ("DynamoDB", {"table_name": backend.settings.orders_table}),
        "SendMessage": ("SQS", {"queue_url": backend.settings.queue_url}),
    }
    for operation, (service, resource) in expected.items():
        call = trace.call(operation)
        assert call["namespace"] == "aws"
        assert call["name"] == service
        assert not {"type", "trace_id", "parent_id"} & call.keys()  # nested: its place says both
        assert call["aws"] == {
            "operation": operation,
            "region": "us-east-1",
            "request_id": wire.request_ids[operation],
            "retries": 0,
            **resource,
        }
        assert call["http"]["response"]["status"] == 200
        assert not {"fault", "error", "throttle", "cause"} & call.keys()
        assert handler_doc["start_time"] <= call["start_time"] <= call["end_time"] <= handler_doc["end_time"]
        # ... and its request names it as the parent of whatever the service traces downstream
        assert wire.trace_headers[operation] == [f"Root={ROOT};Parent={call['id']};Sampled=1;{LINEAGE}"]
    ids = [handler_doc["id"], *(call["id"] for call in trace.calls)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch("[0-9a-f]{16}", id_) for id_ in ids)


@pytest.mark.usefixtures("sampled")
def test_a_client_instrumented_twice_still_writes_one_subsegment_per_call(
    backend: Backend, tracer: XRayWriter, traced_invoke: Invoke, daemon: Daemon, wire: Wire
) -> None:
    # Given clients the tracer has instrumented a second time
    for client in (backend.dynamodb, backend.sqs):
        tracer.instrument_client(client)

    # When an order is posted
    response = traced_invoke(api_event(headers={"Idempotency-Key": "trace-twice"}))

    # Then each call is one subsegment, and its request names that one as its parent
    assert response.status == 201
    trace = daemon.invocation()
    assert trace.operations() == list(ORDER_CALLS)
    assert daemon.silent()
    for operation in ORDER_CALLS:
        parent = trace.call(operation)["id"]
        assert wire.trace_headers[operation] == [f"Root={ROOT};Parent={parent};Sampled=1;{LINEAGE}"]


@pytest.mark.usefixtures("sampled")
def test_only_the_first_invocation_is_a_cold_start(traced_invoke: Invoke, daemon: Daemon) -> None:
    first = traced_invoke(api_event(headers={"Idempotency-Key": "trace-1"}))
    first_trace = daemon.invocation()

    second = traced_invoke(api_event(headers={"Idempotency-Key": "trace-2"}))
    second_trace = daemon.invocation()

    assert (first.status, second.status) == (201, 201)
    assert first_trace.handler["annotations"]["ColdStart"] is True
    assert second_trace.handler["annotations"]["ColdStart"] is False
    # Each invocation's calls hang under its own handler subsegment
    assert second_trace.handler["id"] != first_trace.handler["id"]
    assert second_trace.operations() == ["PutItem", "SendMessage"]  # the catalog is cached by now


@pytest.mark.usefixtures("sampled")
def test_a_tree_too_big_for_one_datagram_goes_out_as_documents_of_their_own(
    traced_invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a datagram limit smaller than an invocation's tree
    monkeypatch.setattr(emitter, "MAX_DOCUMENT_BYTES", 600)

    response = traced_invoke(api_event(headers={"Idempotency-Key": "trace-big"}))

    # Then each call is a document naming its trace and its parent, and the handler's comes last
    assert response.status == 201
    *calls, handler_doc = daemon.documents()
    assert handler_doc["name"] == HANDLER_SUBSEGMENT
    assert "subsegments" not in handler_doc
    assert [call["aws"]["operation"] for call in calls] == list(ORDER_CALLS)
    for call in calls:
        assert (call["type"], call["trace_id"], call["parent_id"]) == ("subsegment", ROOT, handler_doc["id"])


@pytest.mark.parametrize("answered", [True, False], ids=["answered", "no-answer"])
@pytest.mark.usefixtures("sampled")
def test_a_call_that_ends_after_its_handler_goes_out_as_a_document_of_its_own(
    backend: Backend, tracer: XRayWriter, daemon: Daemon, answered: bool
) -> None:
    # Given a handler that starts an SDK call in a thread and returns while the call is on the wire
    tracer.instrument_client(backend.dynamodb)
    if not answered:
        SdkFault(backend.dynamodb, "DescribeTable", kind="connection")
    on_the_wire, release = threading.Event(), threading.Event()

    def hold_the_first_attempt(**_: Any) -> None:
        if not on_the_wire.is_set():
            on_the_wire.set()
            release.wait(timeout=30)

    backend.dynamodb.meta.events.register_first("before-send.dynamodb.DescribeTable", hold_the_first_attempt)

    def describe() -> None:
        with contextlib.suppress(Exception):  # the no-answer case fails the call; its trace is the point
            backend.dynamodb.describe_table(TableName=backend.settings.orders_table)

    call = threading.Thread(target=describe)

    @tracer.capture_lambda_handler
    def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
        call.start()
        on_the_wire.wait(timeout=30)
        return {"statusCode": 202}

    # When the handler returns, and then the call ends
    lambda_handler({}, None)
    release.set()
    call.join(timeout=60)

    # Then the handler's document went first without it, and the call followed on its own,
    # naming its trace and the handler's subsegment as its parent
    handler_doc, call_doc = daemon.documents()
    assert handler_doc["name"] == HANDLER_SUBSEGMENT
    assert "subsegments" not in handler_doc
    assert (call_doc["type"], call_doc["trace_id"], call_doc["parent_id"]) == ("subsegment", ROOT, handler_doc["id"])
    assert call_doc["aws"]["operation"] == "DescribeTable"
    if answered:
        assert call_doc["http"]["response"]["status"] == 200
        assert "fault" not in call_doc
    else:
        assert call_doc["fault"] is True
        [exception] = call_doc["cause"]["exceptions"]
        assert exception["type"] == "EndpointConnectionError"
        assert exception["message"].startswith("Could not connect to the endpoint URL")


@pytest.mark.parametrize(("spare", "datagrams"), [(0, 1), (-1, 2)], ids=["exactly-the-limit", "one-byte-over"])
def test_a_tree_of_exactly_the_limit_still_goes_in_one_datagram(
    tracer: XRayWriter, daemon: Daemon, monkeypatch: pytest.MonkeyPatch, spare: int, datagrams: int
) -> None:
    # Given a handler's subsegment holding one call, and a datagram limit of its size (or one less)
    invocation = segments.InvocationTrace.from_header(SAMPLED, cold_start=True)
    assert invocation is not None
    call = {"id": invocation.new_id(), "name": "DynamoDB", "namespace": "aws", "aws": {"operation": "PutItem"}}
    invocation.calls.append(call)
    document = {"type": "subsegment", "id": invocation.id, "name": HANDLER_SUBSEGMENT}
    size = len(json.dumps({**document, "subsegments": [call]}, separators=(",", ":")).encode())
    monkeypatch.setattr(emitter, "MAX_DOCUMENT_BYTES", size + spare)

    # When it is sent
    tracer.emitter.send_with_calls(document, invocation)

    # Then a tree of exactly the limit is one datagram; one byte over, the call goes on its own
    assert len(daemon.documents()) == datagrams


@pytest.mark.usefixtures("sampled")
def test_throttled_put_is_a_throttled_error_and_the_handler_a_fault(
    backend: Backend, traced_invoke: Invoke, daemon: Daemon, wire: Wire
) -> None:
    # Given PutItem is throttled on every attempt
    code = "ProvisionedThroughputExceededException"
    fault = SdkFault(backend.dynamodb, "PutItem", code=code)

    # When an order is posted
    response = traced_invoke(api_event())

    # Then the client gets a 500 and nothing is stored or queued
    assert response.status == 500
    assert fault.attempts == MAX_ATTEMPTS
    assert backend.orders() == []
    assert backend.messages() == []
    # ... the put's subsegment is one call, over all its attempts: a throttled client error
    trace = daemon.invocation()
    assert trace.operations() == ["BatchGetItem", "PutItem"]
    put = trace.call("PutItem")
    assert put["aws"]["retries"] == MAX_ATTEMPTS - 1
    assert put["http"]["response"]["status"] == 400
    assert put["throttle"] is True
    assert put["error"] is True
    assert "fault" not in put
    [exception] = put["cause"]["exceptions"]
    assert exception["type"] == code
    assert exception["remote"] is True
    assert code in exception["message"]
    # ... every attempt carried the same parent
    assert wire.trace_headers["PutItem"] == [f"Root={ROOT};Parent={put['id']};Sampled=1;{LINEAGE}"] * MAX_ATTEMPTS
    # ... and the handler's subsegment is a fault with the status the client saw
    assert trace.handler["fault"] is True
    assert trace.handler["http"] == {"response": {"status": 500}}
    assert "cause" not in trace.handler


@pytest.mark.usefixtures("sampled")
def test_call_without_an_answer_is_a_fault_naming_the_exception(
    backend: Backend, traced_invoke: Invoke, daemon: Daemon
) -> None:
    # Given PutItem never reaches the service
    fault = SdkFault(backend.dynamodb, "PutItem", kind="connection")

    # When an order is posted
    response = traced_invoke(api_event())

    # Then it is a 500 with nothing stored, and the put's subsegment is a fault with no HTTP answer
    assert response.status == 500
    assert fault.attempts == MAX_ATTEMPTS
    assert backend.orders() == []
    trace = daemon.invocation()
    put = trace.call("PutItem")
    assert put["fault"] is True
    assert "http" not in put
    assert put["aws"]["retries"] == MAX_ATTEMPTS - 1
    [exception] = put["cause"]["exceptions"]
    assert exception["type"] == "EndpointConnectionError"
    assert exception["message"].startswith("Could not connect to the endpoint URL")
    assert exception["remote"] is True
    assert re.fullmatch("[0-9a-f]{16}", exception["id"])
    assert trace.handler["fault"] is True


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(f"Root={ROOT};Parent={PARENT};Sampled=0;{LINEAGE}", id="not-sampled"),
        pytest.param(f"Root={ROOT};Parent={PARENT};Sampled=10", id="sampled-is-not-1"),
        pytest.param(None, id="no-header"),
        pytest.param(f"Root={ROOT};Sampled=1", id="no-parent"),
        pytest.param("Sampled=1 garbage;;=", id="malformed"),
    ],
)
def test_untraced_invocation_writes_nothing(
    backend: Backend,
    traced_invoke: Invoke,
    daemon: Daemon,
    wire: Wire,
    monkeypatch: pytest.MonkeyPatch,
    header: str | None,
) -> None:
    # Given an invocation that is not sampled, or whose header cannot be read
    if header is None:
        monkeypatch.delenv(config.TRACE_HEADER_ENV, raising=False)
    else:
        monkeypatch.setenv(config.TRACE_HEADER_ENV, header)

    # When an order is posted
    response = traced_invoke(api_event())

    # Then it is created, nothing reaches the daemon, and no request is tagged
    assert response.status == 201
    assert len(backend.orders()) == 1
    assert daemon.silent()
    assert [wire.trace_headers[operation] for operation in ORDER_CALLS] == [[None]] * len(ORDER_CALLS)


@pytest.mark.parametrize("kind", ["connection", "read-timeout"])
def test_an_untraced_call_without_an_answer_is_still_the_dependencys_failure(
    backend: Backend, traced_invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # Given an invocation that is not sampled, and a put that never gets an answer
    monkeypatch.setenv(config.TRACE_HEADER_ENV, f"Root={ROOT};Parent={PARENT};Sampled=0")
    SdkFault(backend.dynamodb, "PutItem", kind=kind)

    # When an order is posted
    response = traced_invoke(api_event())

    # Then the client learns the orders table failed (the tracer's hooks stayed out of the way)
    assert response.status == 500
    assert response.body["dependency"] == "OrdersTable"
    assert daemon.silent()


DISABLED_TRACERS = [
    pytest.param(lambda address: XRayWriter(names.SERVICE, enabled=False, daemon_address=address), id="off"),
    pytest.param(
        lambda address: XRayWriter(
            names.SERVICE,
            env={
                "LAMBDA_TASK_ROOT": "/var/task",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "AWS_XRAY_DAEMON_ADDRESS": address,
            },
        ),
        id="env-disabled",
    ),
    pytest.param(
        lambda address: XRayWriter(names.SERVICE, env={"AWS_XRAY_DAEMON_ADDRESS": address}),
        id="outside-lambda",
    ),
    pytest.param(lambda _: XRayWriter(names.SERVICE, enabled=True, daemon_address="host:0"), id="bad-address"),
]


@pytest.mark.parametrize("make", DISABLED_TRACERS)
@pytest.mark.usefixtures("sampled")
def test_disabled_tracer_leaves_the_handler_and_clients_untouched(
    backend: Backend, daemon: Daemon, wire: Wire, use_tracer, make
) -> None:
    # Given a tracer that is off
    tracer = use_tracer(make(daemon.address))
    assert tracer.enabled is False

    # Then decorating a handler returns that very handler
    def lambda_handler(event: Any, context: Any) -> Any:
        return event

    assert tracer.capture_lambda_handler(lambda_handler) is lambda_handler

    # ... and a sampled invocation through the wired handler writes and tags nothing
    response = make_invoke(backend)(api_event())

    assert response.status == 201
    assert daemon.silent()
    assert [wire.trace_headers[operation] for operation in ORDER_CALLS] == [[None]] * len(ORDER_CALLS)


@pytest.mark.parametrize("make", DISABLED_TRACERS)
def test_disabled_tracer_puts_no_hook_on_a_client(
    backend: Backend, daemon: Daemon, wire: Wire, use_tracer, make
) -> None:
    # Given a client instrumented by a tracer that is off
    tracer = use_tracer(make(daemon.address))
    tracer.instrument_client(backend.dynamodb)

    # When a call is made while that tracer holds an invocation (as if one had begun)
    tracer._invocation = segments.InvocationTrace.from_header(SAMPLED, cold_start=True)
    backend.dynamodb.describe_table(TableName=backend.settings.orders_table)

    # Then no hook of it ran: the request is untagged and nothing was sent
    assert wire.trace_headers["DescribeTable"] == [None]
    assert daemon.silent()


@pytest.mark.parametrize(
    ("env", "disabled"),
    [
        ({"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "1", "LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "yes", "LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": " True ", "LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, True),
        ({"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "1"}, True),
    ],
)
def test_tracing_is_off_unless_in_lambda_and_not_disabled(env: dict[str, str], disabled: bool) -> None:
    assert config.tracing_disabled(env) is disabled


@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_a_disabled_flag_that_is_not_a_truth_value_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="POWERTOOLS_TRACE_DISABLED"):
        config.tracing_disabled({"POWERTOOLS_TRACE_DISABLED": value, "LAMBDA_TASK_ROOT": "/var/task"})


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("udp:127.0.0.2:2001 tcp:127.0.0.1:2000", ("127.0.0.2", 2001)),
        ("[::1]:2000", ("::1", 2000)),
        ("xray.local:65535", ("xray.local", 65535)),
        ("XRAY:1", ("XRAY", 1)),
        ("host:65536", None),
        ("", None),
        ("host", None),
        ("host:", None),
        (":2000", None),
        ("host:0", None),
        ("host:70000", None),
        ("host:-1", None),
        ("host:20a0", None),
        ("host:²", None),
        ("host:٣", None),
        ("a b c", None),
        ("tcp:h:1 tcp:h:2", None),
        ("udp:h:1 udp:h:2", None),
    ],
)
def test_daemon_address(address: str, parsed: tuple[str, int] | None) -> None:
    assert config.parse_daemon_address(address) == parsed


def test_a_tracer_without_an_environment_of_its_own_reads_the_process_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Lambda's environment with a daemon address
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv(config.DAEMON_ADDRESS_ENV, "169.254.79.129:2000")

    # When a tracer is made without an environment of its own (as the handler's is)
    tracer = XRayWriter(names.SERVICE)

    # Then it is on and writes to that daemon
    assert (tracer.enabled, tracer.emitter.daemon) == (True, ("169.254.79.129", 2000))


def test_without_a_daemon_address_the_tracer_writes_to_lambdas_default() -> None:
    tracer = XRayWriter(names.SERVICE, env={"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"})

    assert (tracer.enabled, tracer.emitter.daemon) == (True, ("127.0.0.1", 2000))


def _nothing_listening() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(_nothing_listening, id="nothing-listening"),
        pytest.param(lambda: "no-such-host.invalid:2000", id="unresolvable"),
    ],
)
@pytest.mark.usefixtures("sampled")
def test_no_daemon_loses_the_trace_not_the_order(
    backend: Backend, wire: Wire, use_tracer, address: Callable[[], str]
) -> None:
    # Given a sampled invocation whose daemon does not listen, or cannot be resolved
    tracer = use_tracer(XRayWriter(names.SERVICE, enabled=True, daemon_address=address()))
    assert tracer.enabled is True
    invoke = make_invoke(backend)

    # When two orders are posted
    responses = [invoke(api_event(headers={"Idempotency-Key": key})) for key in ("lost-1", "lost-2")]

    # Then both are created, stored and queued as if untraced (though their calls were traced)
    assert [response.status for response in responses] == [201, 201]
    created = sorted(response.body["id"] for response in responses)
    assert sorted(order["id"] for order in backend.orders()) == created
    assert sorted(message["order_id"] for message in backend.message_bodies()) == created
    assert [header.startswith(f"Root={ROOT};") for header in wire.trace_headers["PutItem"]] == [True, True]


@pytest.mark.usefixtures("sampled")
def test_an_unresolvable_daemon_is_looked_up_once_not_per_invocation(
    backend: Backend, use_tracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a daemon whose name does not resolve
    lookups: list[tuple[Any, ...]] = []

    def unresolvable(*args: Any, **_: Any) -> Any:
        lookups.append(args)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(emitter.socket, "getaddrinfo", unresolvable)
    use_tracer(XRayWriter(names.SERVICE, enabled=True, daemon_address="daemon.invalid:2000"))
    invoke = make_invoke(backend)

    # When two sampled invocations end
    statuses = [invoke(api_event(headers={"Idempotency-Key": key})).status for key in ("a", "b")]

    # Then the name was looked up once: a lookup can cost a timeout, so it is not paid per invocation
    assert statuses == [201, 201]
    assert lookups == [("daemon.invalid", 2000)]


@pytest.mark.usefixtures("sampled")
def test_the_daemon_socket_never_blocks_an_invocation(traced_invoke: Invoke, tracer: XRayWriter) -> None:
    assert traced_invoke(api_event()).status == 201

    # A full socket buffer drops a datagram (a trace) instead of holding the response back
    assert tracer.emitter._socket is not None
    assert tracer.emitter._socket.getblocking() is False


@pytest.mark.parametrize("header", [True, False], ids=["content-length-sent", "no-content-length"])
@pytest.mark.usefixtures("sampled")
def test_each_calls_answer_length_is_recorded(
    backend: Backend, traced_invoke: Invoke, daemon: Daemon, wire: Wire, header: bool
) -> None:
    # Given answers with a Content-Length header (as AWS sends them) or without (as moto does here)
    def content_length(http_response: Any, **_: Any) -> None:
        http_response.headers["content-length"] = str(len(http_response.content))

    if header:
        for client in (backend.dynamodb, backend.sqs):
            client.meta.events.register_first("after-call", content_length)

    # When an order is created
    assert traced_invoke(api_event()).status == 201

    # Then each call's subsegment holds its answer's length
    trace = daemon.invocation()
    for operation in ORDER_CALLS:
        assert trace.call(operation)["http"]["response"] == {"status": 200, "content_length": wire.lengths[operation]}


@pytest.mark.usefixtures("sampled")
def test_a_429_answer_is_a_throttle_whatever_its_code(backend: Backend, traced_invoke: Invoke, daemon: Daemon) -> None:
    # Given the catalog read answered 429 with a code botocore does not know as throttling
    from chaos.inject import json_response

    def too_many(request: Any, **_: Any) -> Any:
        return json_response(request, 429, {"__type": "SlowDownPlease"}, request_id="r-429")

    backend.dynamodb.meta.events.register_first("before-send.dynamodb.BatchGetItem", too_many)

    # When an order is posted
    assert traced_invoke(api_event()).status == 500

    # Then the call is an error and a throttle
    read = daemon.invocation().call("BatchGetItem")
    assert read["http"]["response"]["status"] == 429
    assert (read["error"], read["throttle"]) == (True, True)
    # ... whose cause is its code, with the empty message it came with
    [exception] = read["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("SlowDownPlease", "")


@pytest.mark.usefixtures("sampled")
def test_a_handler_without_a_name_is_traced_as_handler(tracer: XRayWriter, daemon: Daemon) -> None:
    # Given a handler that is a callable object (it has no __name__)
    class Endpoint:
        def __call__(self, event: Any, context: Any) -> dict[str, Any]:
            return {"statusCode": 200}

    # When it is traced and invoked
    tracer.capture_lambda_handler(Endpoint())({}, None)

    # Then its subsegment is named for a handler
    [document] = daemon.documents()
    assert document["name"] == "## handler"


class _Unprintable(Exception):  # noqa: N818 - a test double
    def __str__(self) -> str:
        raise ValueError("no words")


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")  # the failed invocation added none
@pytest.mark.usefixtures("sampled")
def test_an_exception_that_cannot_be_printed_is_recorded_by_its_type(
    traced_invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Any, event: Any, context: Any) -> Any:
        raise _Unprintable

    monkeypatch.setattr(handler.CreateOrderEndpoint, "handle", explode)

    with pytest.raises(_Unprintable):
        traced_invoke(api_event())

    [exception] = daemon.invocation().handler["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("_Unprintable", "")


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")  # the failed invocation added none
@pytest.mark.usefixtures("sampled")
def test_handler_exception_is_a_fault_with_its_stack_and_still_raised(
    traced_invoke: Invoke, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint that fails outside its own last line of defence
    def explode(self: Any, event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.CreateOrderEndpoint, "handle", explode)

    # When it is invoked, the exception still reaches the runtime
    with pytest.raises(RuntimeError, match="boom"):
        traced_invoke(api_event())

    # Then the handler's subsegment is a fault naming it, innermost frame first
    trace = daemon.invocation()
    assert trace.calls == []
    assert trace.handler["fault"] is True
    assert "http" not in trace.handler
    assert trace.handler["annotations"] == {"ColdStart": True, "Service": names.SERVICE}
    [exception] = trace.handler["cause"]["exceptions"]
    assert exception["type"] == "RuntimeError"
    assert exception["message"] == "boom"
    assert exception["remote"] is False
    stack = exception["stack"]
    assert stack[0]["path"] == "test_tracing.py"
    assert stack[0]["label"] == "explode"
    assert all(set(frame) == {"path", "line", "label"} and isinstance(frame["line"], int) for frame in stack)
    assert {"path": "handler.py", "label": "lambda_handler"} in [
        {"path": frame["path"], "label": frame["label"]} for frame in stack
    ]


def test_handler_imports_neither_the_xray_sdk_nor_pydantic() -> None:
    # Given the environment Lambda gives a traced function
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERS_", "PRODUCTS_", "PROCESSING_"))}
    env.pop("AWS_SAM_LOCAL", None)
    env.update(VALID)
    env.update(PYTHONPATH=str(FUNCTION_DIR), LAMBDA_TASK_ROOT=str(FUNCTION_DIR), POWERTOOLS_TRACE_DISABLED="false")
    code = (
        "import create_order.handler, sys; "
        "print(sorted(m for m in sys.modules if m.startswith(('aws_xray_sdk', 'wrapt', 'pydantic'))))"
    )

    # When the handler module is imported (the cold start)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    # Then none of them was loaded
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
