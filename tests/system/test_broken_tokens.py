"""Broken tokens at the stage's front: each is a 401 from the Cognito authorizer, and the function never runs.

Every token below is one defect away from the valid ID token the first test shows being
accepted: signed with the pool's own key (moto's) unless the defect is the signature. The
proof that the handler was not reached is the gateway's access log (no integration call for
that request id) and the orders table (no order for that request's idempotency key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import jwt
import pytest
from moto.utilities.utils import load_resource

from create_order.api import PROBLEM_TYPE_PREFIX
from create_order.logic import order_id_for
from localstage.local import LocalStage
from tests.support.localstage import access_entry

CUSTOMER = "cust-000"
PRIVATE_JWK = load_resource("cognitoidp/resources/jwks-private.json")
PUBLIC_JWKS = load_resource("cognitoidp/resources/jwks-public.json")


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStage]:
    with LocalStage(tmp_path_factory.mktemp("tokens"), concurrency=2, customers=1) as running:
        yield running


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(stage: LocalStage, **changes: Any) -> dict[str, Any]:
    info = stage.describe()
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{info['user_pool_id']}",
        "aud": info["client_id"],
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "custom:customer_id": CUSTOMER,
    }
    return {**claims, **changes}


def _signed(claims: dict[str, Any], kid: str | None = None) -> str:
    key = jwt.PyJWK(PRIVATE_JWK)
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": kid or PRIVATE_JWK["kid"]})


def _unsigned(claims: dict[str, Any]) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": PRIVATE_JWK["kid"]}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_the_public_key(claims: dict[str, Any]) -> str:
    # The classic algorithm confusion: HMAC keyed with the RSA public key an attacker can fetch.
    public = jwt.PyJWK(PUBLIC_JWKS["keys"][0]).key
    from cryptography.hazmat.primitives import serialization

    secret = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": PRIVATE_JWK["kid"]}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _tampered(stage: LocalStage) -> str:
    # A valid token of customer cust-000 whose payload now names cust-001, signature kept.
    header, _, signature = _signed(_claims(stage)).split(".")
    payload = _b64(json.dumps(_claims(stage, **{"custom:customer_id": "cust-001"})).encode())
    return f"{header}.{payload}.{signature}"


BROKEN: dict[str, Callable[[LocalStage], str]] = {
    "expired": lambda stage: _signed(_claims(stage, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)),
    "not yet valid": lambda stage: _signed(_claims(stage, nbf=int(time.time()) + 600)),
    "wrong issuer": lambda stage: _signed(_claims(stage, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")),
    "wrong audience": lambda stage: _signed(_claims(stage, aud="another-app-client")),
    "alg none": lambda stage: _unsigned(_claims(stage)),
    "HS256 keyed with the public key": lambda stage: _hs256_with_the_public_key(_claims(stage)),
    "unknown kid": lambda stage: _signed(_claims(stage), kid="a-key-this-pool-never-had"),
    "tampered payload": _tampered,
    "access token": lambda stage: _signed(_claims(stage, token_use="access")),
}  # fmt: skip


def _post(stage: LocalStage, authorization: str) -> tuple[int, dict[str, Any], str, str]:
    """POST a valid order for CUSTOMER; the status, body, the gateway's request id and the key used."""
    key = str(uuid.uuid4())
    body = json.dumps({"customer_id": CUSTOMER, "items": [{"product_id": "P-001", "quantity": 1}]}).encode()
    request = urllib.request.Request(  # noqa: S310 - the stage on loopback
        stage.describe()["orders_url"],
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": authorization, "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the stage on loopback
            return response.status, json.loads(response.read()), response.headers["x-amzn-RequestId"], key
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), error.headers["x-amzn-RequestId"], key


def _stored(stage: LocalStage, key: str, customer: str = CUSTOMER) -> bool:
    table = stage.describe()["physical"]["OrdersTable"]
    answer = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": order_id_for(customer, key)}})
    return "Item" in answer


def test_the_valid_token_the_broken_ones_derive_from_is_accepted(stage: LocalStage) -> None:
    status, body, request_id, key = _post(stage, _signed(_claims(stage)))

    assert status == 201, body
    assert access_entry(stage, request_id)["integration"] == "ok"
    assert _stored(stage, key)


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_token_is_401_and_never_reaches_the_function(stage: LocalStage, kind: str) -> None:
    # Given a token with exactly one defect
    token = BROKEN[kind](stage)

    # When it is presented at the front
    status, body, request_id, key = _post(stage, token)

    # Then the authorizer refuses it, as API Gateway does, and the function never runs
    assert (status, body["type"], body["request_id"]) == (401, PROBLEM_TYPE_PREFIX + "unauthorized", request_id)
    entry = access_entry(stage, request_id)
    assert entry["status"] == 401
    assert "integration" not in entry
    assert not _stored(stage, key)
    assert not _stored(stage, key, customer="cust-001")  # the tampered token's claimed customer
