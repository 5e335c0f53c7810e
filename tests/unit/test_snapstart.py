"""The function under Lambda SnapStart (``create_order.snapstart``): priming offline, and each restore's own state.

The hooks are registered only when Lambda initialises the function for a snapshot. Priming runs
the canned order through the whole path on clients whose endpoints refuse every connection (so a
call that left the process would fail it) and leaves nothing behind. After a restore, two
environments resumed from one snapshot's state draw different jitter, hold no pooled
connection, sign with the credentials of their own environment and read products afresh;
without the after-restore hook they draw the same.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import snapshot_restore_py
from botocore.exceptions import EndpointConnectionError

from create_order import handler, snapstart
from create_order.adapters.clients import build_clients
from create_order.adapters.dynamodb import JITTER
from create_order.settings import Settings

REFUSING = "http://127.0.0.1:9"
"""The discard port: nothing listens, so a call that leaves the process fails at once."""


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> handler.CreateOrderEndpoint:
    """The endpoint as Lambda builds it at init, its clients pointed where no connection can succeed."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", REFUSING)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", REFUSING)
    settings = Settings.from_env({"ORDERS_TABLE": "orders", "PRODUCTS_TABLE": "products",
                                  "PROCESSING_QUEUE_URL": f"{REFUSING}/123456789012/order-processing"})  # fmt: skip
    return handler.build_endpoint(settings, build_clients())


@pytest.fixture
def registries() -> Iterator[tuple[list[Any], list[Any]]]:
    """snapshot_restore_py's registries, emptied for the test and put back after."""
    before, after = snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()
    saved = (list(before), list(after))
    before.clear()
    after.clear()
    yield before, after
    before[:], after[:] = saved


def test_without_snapstart_nothing_is_registered(
    offline: handler.CreateOrderEndpoint, registries: tuple[list[Any], list[Any]]
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None

    for env in ({}, {"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"},
                {"AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"}):  # fmt: skip
        assert snapstart.register(hooks, env) is False
    assert registries == ([], [])


def test_initialised_for_a_snapshot_the_function_registers_its_priming_and_its_refresh(
    offline: handler.CreateOrderEndpoint, registries: tuple[list[Any], list[Any]]
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None

    assert snapstart.register(hooks, {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) is True

    before, after = registries
    assert [(func, args, kwargs) for func, args, kwargs in before] == [(hooks.prime, (), {})]
    assert [(func, args, kwargs) for func, args, kwargs in after] == [(hooks.refresh, (), {})]


def test_priming_runs_the_canned_order_through_every_step_without_a_network_call(
    offline: handler.CreateOrderEndpoint,
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None

    # When the canned order is primed on clients that cannot connect anywhere
    answer = hooks.prime()

    # Then it was created and answered as any order is (no call left the process, or it would have failed)
    assert answer["statusCode"] == 201
    assert '"customer_id":"snapstart-priming"' in answer["body"]
    # And nothing of it stays: the canned product is not cached, the hook answering its calls is gone
    assert offline._service._catalog._cache == {}  # type: ignore[attr-defined]
    dynamodb, _ = hooks._clients
    with pytest.raises(EndpointConnectionError):
        dynamodb.describe_table(TableName="products")


def _snapshot_state() -> tuple[Any, ...]:
    return JITTER.getstate()


def test_each_restored_environment_draws_its_own_jitter_and_without_the_hook_all_draw_the_same(
    offline: handler.CreateOrderEndpoint,
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None
    snapshot = _snapshot_state()

    def restored(*, refresh: bool) -> list[float]:
        JITTER.setstate(snapshot)  # every environment resumes with the snapshot's memory
        if refresh:
            hooks.refresh()
        return [JITTER.uniform(0, 1) for _ in range(4)]

    assert restored(refresh=True) != restored(refresh=True)
    assert restored(refresh=False) == restored(refresh=False)


def test_a_restore_drops_pooled_connections_rereads_credentials_and_forgets_cached_products(
    offline: handler.CreateOrderEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None
    dynamodb, sqs = hooks._clients
    # Given an environment whose snapshot holds a pooled connection, a cached product, the X-Ray socket
    # and the credentials of the environment that was snapshotted
    pool = dynamodb._endpoint.http_session._manager  # type: ignore[attr-defined]
    pool.connection_from_url("http://127.0.0.1:9/")
    assert len(pool.pools) == 1
    offline._service._catalog._cache["P-1"] = (float("inf"), object())  # type: ignore[attr-defined]
    emitter = handler.tracer.emitter
    emitter._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    held = emitter._socket
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "restored-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "restored-secret")

    # When the environment is restored
    hooks.refresh()

    # Then it holds none of them, and signs with its own environment's credentials
    assert len(pool.pools) == 0
    assert offline._service._catalog._cache == {}  # type: ignore[attr-defined]
    assert emitter._socket is None
    assert held.fileno() == -1  # closed
    for client in (dynamodb, sqs):
        assert client._request_signer._credentials.access_key == "restored-key"  # type: ignore[attr-defined]
    assert os.environ["AWS_ACCESS_KEY_ID"] == "restored-key"


def test_priming_through_the_lambda_handler_is_quiet_and_leaves_no_metric(
    offline: handler.CreateOrderEndpoint, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.logging import logger as powertools_logger
    from aws_lambda_powertools.metrics.provider import cold_start

    # Powertools' cold-start flags are the process's: put back whatever the priming leaves
    monkeypatch.setattr(cold_start, "is_cold_start", cold_start.is_cold_start)
    monkeypatch.setattr(powertools_logger, "is_cold_start", powertools_logger.is_cold_start)
    hooks = offline.snapshot_hooks
    assert hooks is not None
    hooks.instrumented(handler.instrument(offline), handler.logger, handler.metrics)
    level = handler.logger.log_level

    answer = hooks.prime()

    # Then the canned order went through the whole Lambda handler, three times, and said nothing of it
    assert answer["statusCode"] == 201
    assert capsys.readouterr().out == ""
    assert handler.metrics.metric_set == {}
    assert handler.logger.log_level == level
    # and a restored environment's first invocation is no cold start: the snapshot's priming was
    assert cold_start.is_cold_start is False


class _Request:
    """What a before-send hook is handed of a request: its target header, its JSON body, its URL."""

    def __init__(self, target: str | bytes, body: dict[str, Any]) -> None:
        self.headers = {"X-Amz-Target": target}
        self.body = json.dumps(body).encode()
        self.url = "https://example.invalid/"


def _sent(response: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    return response.status_code, dict(response.headers), json.loads(response.content)


def test_the_canned_answers_are_the_three_calls_own_answers_in_their_protocol() -> None:
    json_headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "snapstart-priming"}
    read = _Request(b"DynamoDB_20120810.BatchGetItem", {"RequestItems": {"products": {"Keys": []}}})
    product = {"product_id": {"S": "P-SNAPSTART-PRIMING"}, "price": {"N": "1.00"}, "currency": {"S": "USD"},
               "active": {"BOOL": True}}  # fmt: skip

    assert _sent(snapstart._priming_answer(read)) == (
        200, json_headers, {"Responses": {"products": [product]}, "UnprocessedKeys": {}}
    )  # fmt: skip
    sent = _Request("AmazonSQS.SendMessage", {"MessageBody": "hello"})  # a header read as text works too
    assert _sent(snapstart._priming_answer(sent)) == (
        200, json_headers, {"MessageId": "snapstart-priming", "MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592"}
    )  # fmt: skip
    stored = _Request(b"DynamoDB_20120810.PutItem", {"TableName": "orders"})
    assert _sent(snapstart._priming_answer(stored)) == (200, json_headers, {})


def test_the_canned_order_is_a_proxy_event_of_one_line_by_the_priming_customer() -> None:
    event = snapstart.priming_event()
    claims = {"sub": "snapstart-priming", "custom:customer_id": "snapstart-priming"}

    assert event == {
        "httpMethod": "POST",
        "path": "/orders",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestId": "snapstart-priming", "authorizer": {"claims": claims}},
        "body": '{"customer_id": "snapstart-priming", "items": [{"product_id": "P-SNAPSTART-PRIMING", "quantity": 1}]}',
        "isBase64Encoded": False,
    }


class _Logger:
    def __init__(self) -> None:
        self.log_level = 20
        self.levels: list[int] = []

    def setLevel(self, level: int) -> None:
        self.levels.append(level)


class _Metrics:
    cleared = 0

    def clear_metrics(self) -> None:
        self.cleared += 1


def test_priming_through_the_handler_runs_it_three_times_quietly_and_puts_everything_back(
    offline: handler.CreateOrderEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks = offline.snapshot_hooks
    assert hooks is not None
    calls: list[tuple[dict[str, Any], Any]] = []

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append((event, context))
        print("an EMF document")  # what Powertools prints: swallowed
        return {"statusCode": 201, "n": len(calls)}

    logger, metrics = _Logger(), _Metrics()
    hooks.instrumented(lambda_handler, logger, metrics)  # type: ignore[arg-type]

    answer = hooks.prime()

    assert answer == {"statusCode": 201, "n": snapstart.PRIMING_RUNS}  # the last run's answer
    assert snapstart.PRIMING_RUNS == 3
    assert [event for event, _ in calls] == [snapstart.priming_event()] * 3
    assert len({id(event) for event, _ in calls}) == 3  # each run its own copy of the event
    context = calls[0][1]
    assert context.get_remaining_time_in_millis() == snapstart.PRIMING_DEADLINE_MS
    assert context.aws_request_id == "snapstart-priming"
    assert logger.levels == [logging.CRITICAL, 20]  # quiet while priming, its level back after
    assert metrics.cleared == 1
    assert capsys.readouterr().out == ""
