"""Every error the stage's gateway makes itself is the template's declared problem document.

Each situation is brought about for real — no token, a wrong route, a body API Gateway cannot
frame or will not take, a function out of concurrency, a slow one, a crashed one, one whose
response Lambda refuses, an unreachable key set, a defect in the stage — on a gateway in front
of real worker processes, verifying real RS256 tokens against a JWKS served over HTTP. Each
answer is checked as a client sees it (``application/problem+json``, the function's security
headers, the request id of ``x-amzn-RequestId``) and byte for byte against the template's
declaration rendered for that request: one source for the bodies.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from localstage.gateway import MAX_PAYLOAD_BYTES, Gateway, TokenVerifier
from localstage.runtime_api import MAX_RESPONSE_BYTES
from localstage.workers import FunctionConfig, WorkerPool
from tests.support.jwks import served_jwks, signed
from tests.support.localstage import gateway_problem, logged_entries, until_busy

if TYPE_CHECKING:
    from http.client import HTTPMessage

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_gateway"
AUDIENCE = "gateway-errors-client"

Answer = tuple[int, "HTTPMessage", bytes]


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with served_jwks() as url:
        yield url


@contextmanager
def _front(tmp_path: Path, jwks_url: str, *, pool: bool = True, timeout_s: float = 1.0) -> Iterator[Gateway]:
    """A gateway in front of one environment running ``tests.system.handlers.proxy`` (timeout 1 s unless asked)."""
    function = FunctionConfig(code_dir=ROOT, env={}, timeout_s=timeout_s, handler="tests.system.handlers.proxy")
    workers = WorkerPool(function, tmp_path, concurrency=1) if pool else None
    verifier = TokenVerifier(jwks_url, ISSUER, AUDIENCE)
    gateway = Gateway(cast("WorkerPool", workers), verifier, tmp_path / "access.log").start()
    try:
        yield gateway
    finally:
        gateway.stop()
        if workers is not None:
            workers.close()


@pytest.fixture
def front(tmp_path: Path, jwks_url: str) -> Iterator[Gateway]:
    with _front(tmp_path, jwks_url) as gateway:
        yield gateway


def _token() -> str:
    now = int(time.time())
    claims = {"sub": "s-1", "iss": ISSUER, "aud": AUDIENCE, "token_use": "id", "iat": now, "exp": now + 600}
    return signed(claims)


def _call(gateway: Gateway, method: str, path: str, body: bytes = b"", token: str | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    headers = {"Content-Type": "application/json"} | ({"Authorization": token} if token else {})
    try:
        connection.request(method, f"/{gateway.stage_name}{path}", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def _order(gateway: Gateway, asked: dict[str, Any]) -> Answer:
    return _call(gateway, "POST", "/orders", json.dumps(asked).encode(), _token())


def _declared(gateway: Gateway, response_type: str, answer: Answer, slug: str) -> dict[str, Any]:
    """The answer is the template's declaration of ``response_type`` for this request, and a problem of ``slug``."""
    status, headers, raw = answer
    problem = gateway_problem(status, headers, raw, slug)
    assert (status, raw) == gateway.responses.answer(response_type, problem["request_id"])[::2]
    return problem


def _logged(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The request's access-log entry (written just after its answer, so waited for)."""
    [entry] = logged_entries(gateway.access_log, lambda entry: entry["requestId"] == request_id)
    return entry


def test_no_token_is_the_declared_401_and_the_function_never_runs(front: Gateway) -> None:
    problem = _declared(front, "UNAUTHORIZED", _call(front, "POST", "/orders", b"{}"), "unauthorized")

    assert problem["status"] == 401
    assert front.pool.started == 0


def test_a_wrong_route_is_the_declared_route_not_found(front: Gateway) -> None:
    for method, path in (("GET", "/orders"), ("POST", "/orders/42")):
        problem = _declared(front, "MISSING_AUTHENTICATION_TOKEN", _call(front, method, path, token=_token()),
                            "route-not-found")  # fmt: skip
        assert problem["status"] == 403
    assert front.pool.started == 0


def test_a_body_over_10_mb_is_the_declared_413(front: Gateway) -> None:
    answer = _call(front, "POST", "/orders", b" " * (MAX_PAYLOAD_BYTES + 1), _token())

    assert _declared(front, "REQUEST_TOO_LARGE", answer, "payload-too-large")["status"] == 413


def test_a_length_that_is_not_a_number_falls_back_to_the_declared_default_4xx(front: Gateway) -> None:
    # Given a request whose Content-Length is not a number (http.client would not send one)
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as raw:
        raw.sendall(b"POST /local/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}")
        response = http.client.HTTPResponse(raw)
        response.begin()
        answer = (response.status, response.headers, response.read())

    # Then API Gateway's BAD_REQUEST_BODY, not declared itself, is answered by DEFAULT_4XX with its own message
    problem = _declared(front, "BAD_REQUEST_BODY", answer, "bad-request")
    assert (problem["status"], problem["detail"]) == (400, "Invalid request body")
    assert front.responses.declaration("BAD_REQUEST_BODY") == ("DEFAULT_4XX", front.responses.declared["DEFAULT_4XX"])


def test_a_function_out_of_concurrency_is_the_declared_integration_failure_not_a_429(front: Gateway) -> None:
    # Given the function's only environment busy for a second (its concurrency, 1, exhausted)
    assert _order(front, {})[0] == 200
    busy = threading.Thread(target=_order, args=(front, {"sleep": 1.0}))
    busy.start()
    until_busy(front.pool, 1)
    try:
        # When another request arrives, and Lambda refuses to invoke the function for it (its 429)
        answer = _order(front, {})
    finally:
        busy.join()

    # Then API Gateway does not pass Lambda's 429 on: a REST API's Lambda proxy integration answers
    # a refused invocation as INTEGRATION_FAILURE ("Internal server error"; 500 when nothing is
    # declared for it), here the template's declaration of it: the 502 integration-failure problem.
    # (AWS Lambda's "Handling Lambda errors with an API Gateway API"; deployed access logs show
    # INTEGRATION_FAILURE with "Execution failed due to configuration error: Rate Exceeded.")
    status, headers, _ = answer
    assert status != 429
    assert headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    problem = _declared(front, "INTEGRATION_FAILURE", answer, "integration-failure")
    assert problem["status"] == 502
    entry = _logged(front, problem["request_id"])
    assert entry["integration"] == "throttled"  # the cause stays in the stage's access log
    assert front.pool.started == 1  # no environment was started for it


def test_a_function_past_its_timeout_is_the_declared_504(front: Gateway) -> None:
    problem = _declared(front, "INTEGRATION_TIMEOUT", _order(front, {"sleep": 3}), "integration-timeout")

    assert _logged(front, problem["request_id"])["integration"] == "timeout"


def test_a_crashed_function_is_the_declared_502(front: Gateway) -> None:
    problem = _declared(front, "INTEGRATION_FAILURE", _order(front, {"crash": True}), "integration-failure")

    assert _logged(front, problem["request_id"])["integration"] == "error"


def test_a_response_over_lambda_s_limit_is_the_declared_502(tmp_path: Path, jwks_url: str) -> None:
    # Given a function whose response is one byte over Lambda's limit (time enough for it, however busy the machine)
    with _front(tmp_path, jwks_url, timeout_s=30.0) as gateway:
        answer = _order(gateway, {"respond_bytes": MAX_RESPONSE_BYTES + 1})

        # Then Lambda's Function.ResponseSizeTooLarge is a failed integration: the template's 502
        problem = _declared(gateway, "INTEGRATION_FAILURE", answer, "integration-failure")
        assert problem["status"] == 502
        assert _logged(gateway, problem["request_id"])["integration"] == "error"


def test_a_response_of_exactly_lambda_s_limit_passes(tmp_path: Path, jwks_url: str) -> None:
    with _front(tmp_path, jwks_url, timeout_s=30.0) as gateway:
        status, headers, raw = _order(gateway, {"respond_bytes": MAX_RESPONSE_BYTES})

    assert (status, headers["Content-Type"]) == (200, "text/plain")
    assert len(raw) > MAX_RESPONSE_BYTES - 100  # the body: the response less its JSON frame
    assert raw.strip(b"x") == b""


def test_an_unreachable_key_set_falls_back_to_the_declared_default_5xx(tmp_path: Path) -> None:
    # Given a pool whose JWKS address answers nothing (a port just freed)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/.well-known/jwks.json"
    with _front(tmp_path, closed) as gateway:
        problem = _declared(gateway, "AUTHORIZER_CONFIGURATION_ERROR", _order(gateway, {}), "gateway-error")

        assert problem["status"] == 500
        assert "authorizer_error" in _logged(gateway, problem["request_id"])
        assert gateway.pool.started == 0


def test_a_defect_in_the_stage_is_the_declared_default_5xx_and_logged(tmp_path: Path, jwks_url: str) -> None:
    # Given a gateway whose integration is broken (no worker pool at all)
    with _front(tmp_path, jwks_url, pool=False) as gateway:
        problem = _declared(gateway, "API_CONFIGURATION_ERROR", _order(gateway, {}), "gateway-error")

        assert "AttributeError" in _logged(gateway, problem["request_id"])["gateway_error"]
