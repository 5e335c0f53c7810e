"""CodeDeploy's pre-traffic hook (``deploy_hooks/pre_traffic.py``) on a good version and on broken ones.

Moto holds the tables and the queue. Lambda's Invoke of the new version is answered on the real
client by a ``before-call`` hook that runs the real function in-process over moto — as deployed,
or broken (its queue URL wrong, or answering 201 with an order it never stored).
CodeDeploy's ``PutLifecycleEventHookExecutionStatus`` (which moto does not implement) is
answered the same way and recorded: the test reads what the hook reported.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from create_order import handler
from create_order.settings import Settings
from deploy_hooks import pre_traffic
from tests.support.template import load_template
from tests.unit.conftest import Backend, make_invoke

EVENT = {"DeploymentId": "d-ABC123XYZ", "LifecycleEventHookExecutionId": "hook-1"}
NEW_VERSION = "arn:aws:lambda:us-east-1:123456789012:function:order-processing-create-order-dev:7"

Function = Callable[[dict[str, Any]], dict[str, Any]]


def _env(backend: Backend) -> dict[str, str]:
    return {"NEW_VERSION": NEW_VERSION, "ORDERS_TABLE": "orders", "PRODUCTS_TABLE": "products",
            "PROCESSING_QUEUE_URL": backend.settings.queue_url}  # fmt: skip


def _account(function: Function, reported: list[dict[str, Any]], invoked: list[str]) -> boto3.Session:
    """A session whose Invoke runs ``function`` and whose CodeDeploy status call is recorded."""
    session = boto3.Session()

    def invoke(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        invoked.append(params["url_path"].split("/functions/")[1].split("/")[0])
        payload = json.dumps(function(json.loads(params["body"]))).encode()
        answered = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
        return AWSResponse(None, 200, {}, None), answered

    def status(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        reported.append(json.loads(params["body"]))
        return AWSResponse(None, 200, {}, None), {"lifecycleEventHookExecutionId": "hook-1"}

    session.events.register("before-call.lambda.Invoke", invoke)
    session.events.register("before-call.codedeploy.PutLifecycleEventHookExecutionStatus", status)
    return session


def _deployed(backend: Backend, queue_url: str | None = None) -> Function:
    settings = backend.settings
    if queue_url is not None:
        settings = Settings.from_env({"ORDERS_TABLE": "orders", "PRODUCTS_TABLE": "products",
                                      "PROCESSING_QUEUE_URL": queue_url})  # fmt: skip
    run = make_invoke(Backend(backend.dynamodb, backend.sqs, settings))

    def function(event: dict[str, Any]) -> dict[str, Any]:
        answer = run(event)
        return {"statusCode": answer.status, "headers": answer.headers, "body": answer.raw}

    return function


def _run(backend: Backend, function: Function, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[Any]]:
    reported: list[dict[str, Any]] = []
    invoked: list[str] = []
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", _account(function, reported, invoked))
    for name, value in _env(backend).items():
        monkeypatch.setenv(name, value)
    result = pre_traffic.handler(dict(EVENT), None)
    assert invoked == [NEW_VERSION.replace(":", "%3A")] or invoked == [NEW_VERSION]  # the version, never the alias
    return result, reported


def test_a_good_version_succeeds_and_leaves_nothing_behind(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    result, reported = _run(backend, _deployed(backend), monkeypatch)

    assert result["problems"] == []
    assert reported == [{"deploymentId": "d-ABC123XYZ", "lifecycleEventHookExecutionId": "hook-1",
                         "status": "Succeeded"}]  # fmt: skip
    [note] = result["notes"]
    assert note.endswith("its message seen on the queue")
    # The check's order is gone from the table and its message from the queue
    assert backend.orders() == []
    assert backend.messages() == []


def test_a_version_whose_queue_url_is_wrong_fails_the_deployment(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = backend.settings.queue_url.replace("order-processing", "no-such-queue")

    result, reported = _run(backend, _deployed(backend, queue_url=wrong), monkeypatch)

    [problem] = result["problems"]
    assert problem.startswith("the new version answered 500, not 201")
    assert [r["status"] for r in reported] == ["Failed"]
    # The order it stored before the queue refused is deleted all the same
    [note] = result["notes"]
    assert note.endswith("stored and not queued, deleted")
    assert backend.orders() == []


def test_a_201_for_an_order_never_stored_fails_the_deployment(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def liar(event: dict[str, Any]) -> dict[str, Any]:
        request = json.loads(event["body"])
        line = {"product_id": "P-100", "quantity": 1, "unit_price": "19.99"}
        order = {"id": "made-up", "customer_id": request["customer_id"], "status": "pending", "currency": "USD",
                 "total": "19.99", "items": [line]}  # fmt: skip
        return {"statusCode": 201, "body": json.dumps(order)}

    result, reported = _run(backend, liar, monkeypatch)

    assert "order made-up was answered 201 but is not in orders" in result["problems"]
    assert [r["status"] for r in reported] == ["Failed"]


def test_a_201_whose_order_is_wrongly_priced_fails_the_deployment(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _deployed(backend)

    def overcharges(event: dict[str, Any]) -> dict[str, Any]:
        answer = real(event)
        order = json.loads(answer["body"])
        order["total"] = "99.99"
        return {**answer, "body": json.dumps(order)}

    result, reported = _run(backend, overcharges, monkeypatch)

    assert any("price or total is not the catalog's 19.99" in p for p in result["problems"]), result
    assert [r["status"] for r in reported] == ["Failed"]
    assert backend.orders() == []  # cleaned up even when it fails


def test_a_check_that_cannot_run_fails_the_deployment(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the Invoke API refused the call")

    result, reported = _run(backend, refused, monkeypatch)

    [problem] = result["problems"]
    assert problem.startswith("the check itself failed")
    assert [r["status"] for r in reported] == ["Failed"]


def test_the_synthetic_customer_is_an_identifier_under_the_reserved_prefix() -> None:
    customer = pre_traffic.customer_for("d-ABC123XYZ")

    assert customer == "synthetic-pretraffic-d-ABC123XYZ"
    assert customer.startswith(pre_traffic.SYNTHETIC_PREFIX)
    assert pre_traffic.customer_for("d/../x y") == "synthetic-pretraffic-d----x-y"


def test_the_hook_imports_nothing_of_the_endpoint_nor_of_the_harness() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(pre_traffic.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }

    assert imported <= {"__future__", "contextlib", "json", "os", "uuid", "decimal", "typing", "boto3"}
    assert handler.__name__ == "create_order.handler"  # the endpoint is reached only by invoking it


def test_the_hook_s_role_allows_exactly_the_calls_it_makes(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every call the hook makes on a good version, named as IAM names them
    made: set[str] = set()
    prefixes = {"lambda": "lambda", "dynamodb": "dynamodb", "sqs": "sqs", "codedeploy": "codedeploy"}

    def record(model: Any, **_: Any) -> None:
        made.add(f"{prefixes[model.service_model.service_name]}:{model.name}")

    session = _account(_deployed(backend), [], [])
    session.events.register("before-parameter-build", record)  # every call, answered here or not
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    for name, value in _env(backend).items():
        monkeypatch.setenv(name, value)
    pre_traffic.handler(dict(EVENT), None)

    # Then the role's statements allow those calls and no other (the log writes are Lambda's own, for the hook)
    template = load_template()
    statements = template["Resources"]["PreTrafficHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    allowed = set()
    for statement in statements:
        if "Fn::If" in statement:
            continue  # the key's use through DynamoDB and SQS, when the environment has the key
        actions = statement["Action"]
        allowed |= {actions} if isinstance(actions, str) else set(actions)
    assert made | {"logs:CreateLogStream", "logs:PutLogEvents"} == {
        a.replace("lambda:InvokeFunction", "lambda:Invoke") for a in allowed
    }
