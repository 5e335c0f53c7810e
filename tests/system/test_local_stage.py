"""The local stage: built from template.yaml, guarded like API Gateway, and stopped cleanly."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt
import pytest

from create_order.api import PROBLEM_TYPE_PREFIX
from harness.billing import read_bills
from harness.platform_log import is_platform_line, read_reports
from harness.runfolder import RunFolder
from harness.template import function_environment, load_template, resource, resources_of_type
from localstage.allotment import Allotment
from localstage.local import LocalStage, id_token
from localstage.resources import create_resources
from tests.support.localstage import access_entries, access_entry, gateway_problem


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("run"), concurrency=4, customers=2) as running:
        yield running


def _post(url: str, body: Any, headers: dict[str, str], raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the stage on loopback
        url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _order(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "items": [{"product_id": "P-001", "quantity": 2}]}


def _orders(stage: LocalStage) -> list[dict[str, Any]]:
    table = stage.describe()["physical"]["OrdersTable"]
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


def test_tables_follow_the_template(stage: LocalStage) -> None:
    dynamodb = boto3.client("dynamodb")
    physical = stage.describe()["physical"]
    for logical_id, spec in resources_of_type(load_template(), "AWS::DynamoDB::Table").items():
        table = dynamodb.describe_table(TableName=physical[logical_id])["Table"]
        assert table["KeySchema"] == spec["Properties"]["KeySchema"]
        assert table["AttributeDefinitions"] == spec["Properties"]["AttributeDefinitions"]
        assert table["BillingModeSummary"]["BillingMode"] == spec["Properties"]["BillingMode"]


def test_queue_and_dead_letter_queue_follow_the_template(stage: LocalStage) -> None:
    physical = stage.describe()["physical"]
    props = resource(load_template(), "ProcessingQueue")["Properties"]
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=physical["ProcessingQueue"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=physical["ProcessingDLQ"], AttributeNames=["QueueArn"])["Attributes"]

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
    assert int(attributes["VisibilityTimeout"]) == props["VisibilityTimeout"]


def test_cognito_follows_the_template(stage: LocalStage) -> None:
    info = stage.describe()
    cognito = boto3.client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=info["user_pool_id"])["UserPool"]
    client = cognito.describe_user_pool_client(UserPoolId=info["user_pool_id"], ClientId=info["client_id"])
    groups = cognito.list_groups(UserPoolId=info["user_pool_id"])["Groups"]

    assert "custom:customer_id" in {attribute["Name"] for attribute in pool["SchemaAttributes"]}
    flows = resource(load_template(), "UserPoolClient")["Properties"]["ExplicitAuthFlows"]
    assert set(client["UserPoolClient"]["ExplicitAuthFlows"]) == set(flows)
    assert [g["GroupName"] for g in groups] == [resource(load_template(), "AdminsGroup")["Properties"]["GroupName"]]


def test_function_gets_exactly_the_template_environment(stage: LocalStage) -> None:
    env = stage.describe()["function_env"]

    declared = function_environment(load_template())
    # Conditional variables (the FIS extension's) are for deployed non-production stages only.
    assert set(env) == {name for name, value in declared.items() if not (isinstance(value, dict) and "Fn::If" in value)}
    assert env["ORDERS_TABLE"] == stage.describe()["physical"]["OrdersTable"]
    assert env["PROCESSING_QUEUE_URL"] == stage.describe()["physical"]["ProcessingQueue"]


def test_a_resource_type_the_stage_cannot_stand_up_fails_loudly() -> None:
    template = load_template()
    template["Resources"]["Notifications"] = {"Type": "AWS::Kinesis::Stream", "Properties": {}}

    with pytest.raises(ValueError, match="AWS::Kinesis::Stream"):
        create_resources(template)


def test_customer_with_a_valid_id_token_creates_an_order_that_is_queued(stage: LocalStage) -> None:
    info = stage.describe()
    customer = info["customers"][0]
    token = id_token(info, customer)

    status, body = _post(info["orders_url"], _order(customer["customer_id"]), {"Authorization": token})

    assert status == 201, body
    assert body["total"] == 2 * float(info["catalog"]["P-001"]["price"])
    assert any(item["id"]["S"] == body["id"] for item in _orders(stage))
    assert stage.consumer is not None
    stage.consumer.drain(quiet_s=1.5, timeout_s=20)
    messages = (Path(info["run_dir"]) / "messages.jsonl").read_text()
    assert body["id"] in messages


def test_admin_claims_reach_the_function_as_the_rest_api_passes_them(stage: LocalStage) -> None:
    info = stage.describe()
    token = id_token(info, info["admin"])

    status, body = _post(info["orders_url"], _order(info["customers"][1]["customer_id"]), {"Authorization": token})

    assert status == 201, body


@pytest.mark.parametrize(
    "authorization",
    [None, "", "not-a-jwt", jwt.encode({"sub": "x", "token_use": "id"}, "a-shared-secret-of-32-bytes-length", "HS256")],
    ids=["missing", "empty", "garbage", "hs256"],
)
def test_missing_or_forged_token_is_401_without_reaching_the_function(stage: LocalStage, authorization) -> None:
    info = stage.describe()
    started = stage.pool.started if stage.pool else 0
    headers = {} if authorization is None else {"Authorization": authorization}

    status, body = _post(info["orders_url"], _order("cust-000"), headers)

    assert (status, body["type"], body["status"]) == (401, PROBLEM_TYPE_PREFIX + "unauthorized", 401)
    assert stage.pool is not None
    assert stage.pool.started == started


def test_unknown_route_is_403_and_an_oversized_payload_is_413(stage: LocalStage) -> None:
    info = stage.describe()

    unknown = _post(info["url"] + "/nope", {}, {})
    oversized = _post(info["orders_url"], None, {}, raw=b" " * (10 * 1024 * 1024 + 1))

    assert (unknown[0], unknown[1]["type"]) == (403, PROBLEM_TYPE_PREFIX + "route-not-found")
    assert (oversized[0], oversized[1]["type"]) == (413, PROBLEM_TYPE_PREFIX + "payload-too-large")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD"])
def test_an_undeclared_method_is_api_gateways_403_without_reaching_the_function(stage: LocalStage, method: str) -> None:
    info = stage.describe()
    url = urlsplit(info["orders_url"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, url.path, headers={"Authorization": id_token(info, info["customers"][0])})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    if method == "HEAD":
        assert body == b""
        assert response.headers["Content-Type"] == "application/problem+json"
    else:
        gateway_problem(403, response.headers, body, "route-not-found")
    assert "integration" not in access_entry(stage, response.headers["x-amzn-RequestId"])


def test_invocations_write_report_records_and_bills(stage: LocalStage) -> None:
    run = RunFolder(Path(stage.describe()["run_dir"]))
    reports = [report for path in run.logs.worker_logs() for report in read_reports(path)]

    # The template's LogFormat is JSON: every platform line is a JSON record
    assert reports
    assert all(
        line.startswith('{"time"')
        for path in run.logs.worker_logs()
        for line in path.read_text().splitlines()
        if is_platform_line(line)
    )
    assert any(report.init_ms is not None for report in reports)
    # ... and each request's bill is the one its REPORT gives
    bills = {bill.request_id: bill for bill in read_bills(run.billing)}
    assert {r.request_id: r.billed_ms for r in reports} == {k: b.billed_ms for k, b in bills.items()}


def test_stopping_the_stage_leaves_no_process_behind(tmp_path: Path) -> None:
    with LocalStage(tmp_path, concurrency=1, customers=1) as running:
        info = running.describe()
        token = id_token(info, info["customers"][0])
        _post(info["orders_url"], _order(info["customers"][0]["customer_id"]), {"Authorization": token})
        assert running.backend is not None
        assert running.pool is not None
        pids = running.backend.pids + running.pool.pids

    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_memory_size_option_is_the_functions_for_the_run(tmp_path: Path) -> None:
    # Given a stage started with --memory-size 512 over the template's MemorySize
    with LocalStage(tmp_path, concurrency=1, customers=1, allotment=Allotment(memory_mb=512)) as running:
        assert running.pool is not None
        # Then the environments are told that memory size, and report it
        assert running.pool.function.memory_mb == 512
        assert running.pool.function.variables("127.0.0.1:9001")["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"


def test_conditional_writes_are_atomic_as_in_dynamodb(stage: LocalStage) -> None:
    # Given 16 threads putting the same new id with attribute_not_exists(id), all at once
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from botocore.config import Config

    table = stage.describe()["physical"]["OrdersTable"]
    client = boto3.client("dynamodb", config=Config(max_pool_connections=16))
    order_id = str(uuid.uuid4())
    barrier = threading.Barrier(16)

    def put(n: int) -> bool:
        barrier.wait()
        try:
            client.put_item(
                TableName=table,
                Item={"id": {"S": order_id}, "writer": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(id)",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(put, range(16)))

    # Then exactly one succeeds
    assert outcomes.count(True) == 1


def test_a_request_whose_client_left_is_still_served_and_in_the_access_log(stage: LocalStage) -> None:
    import socket
    import struct
    from urllib.parse import urlsplit

    # Given a customer's valid order, sent by a client that resets the connection at once
    info = stage.describe()
    customer = info["customers"][1]
    token = id_token(info, customer)
    key = str(uuid.uuid4())
    body = json.dumps(_order(customer["customer_id"])).encode()
    url = urlsplit(info["orders_url"])
    request = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Authorization: {token}\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((url.hostname, url.port), timeout=10) as client:
        client.sendall(request)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset

    # Then the order is served all the same, and the access log shows what API Gateway answered
    gone = access_entries(stage, lambda entry: bool(entry.get("client_gone")), wait_s=30)
    assert [entry["status"] for entry in gone] == [201]
    from create_order.logic import order_id_for

    order_id = order_id_for(customer["customer_id"], key)
    assert any(item["id"]["S"] == order_id for item in _orders(stage))


def test_a_client_resetting_its_connection_is_not_reported_as_an_error_but_a_bug_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The gateway server's error hook, called as socketserver calls it: inside the except block
    from localstage.gateway import _Server

    server = _Server.__new__(_Server)  # the hook needs no socket

    def report(error: Exception) -> None:
        try:
            raise error  # noqa: TRY301 - socketserver calls the hook inside its except block
        except Exception:  # noqa: BLE001 - the hook reads the exception being handled
            server.handle_error(None, ("127.0.0.1", 50000))

    report(ConnectionResetError(104, "Connection reset by peer"))
    report(BrokenPipeError(32, "Broken pipe"))
    assert capsys.readouterr().err == ""

    report(ValueError("a bug in the gateway"))
    assert "ValueError: a bug in the gateway" in capsys.readouterr().err


def test_the_stage_serves_the_apis_openapi_description(stage: LocalStage) -> None:
    with urllib.request.urlopen(stage.describe()["url"] + "/openapi.yaml", timeout=10) as response:  # noqa: S310
        served = response.read()
        content_type = response.headers["Content-Type"]

    assert content_type == "application/yaml"
    assert served == (Path(__file__).resolve().parents[2] / "openapi.yaml").read_bytes()
