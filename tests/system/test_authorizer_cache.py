"""The gateway's Cognito authorizer keeps an accepted token's result as API Gateway's cache does.

A token that passed every check is taken again unchecked for the authorizer's TTL (the
template's, else API Gateway's 300 s), but never past its ``exp``; a refused token is checked
every time. The keys are moto's pool key, served over HTTP as the pool's JWKS is.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from harness.template import load_template, resource
from localstage import gateway
from localstage.gateway import REAUTHORIZE_EVERY_S, TokenVerifier, authorizer_ttl_s
from localstage.gateway_responses import API
from tests.support.jwks import served_jwks, signed

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_cache"
AUDIENCE = "cache-client"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with served_jwks() as url:
        yield url


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the authorizer checked (``jwt.decode`` as the gateway calls it)."""
    seen: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(gateway.jwt, "decode", counted)
    return seen


def _token(exp_in_s: float = 600, **changes: Any) -> str:
    now = int(time.time())
    claims = {"sub": "s-1", "iss": ISSUER, "aud": AUDIENCE, "token_use": "id", "iat": now, "exp": now + exp_in_s}
    return signed({**claims, **changes})


def test_an_accepted_token_is_checked_once_within_the_ttl(jwks_url: str, checks: list[str]) -> None:
    # Given an authorizer with API Gateway's default TTL and a valid ID token
    verifier = TokenVerifier(jwks_url, ISSUER, AUDIENCE)
    token = _token()

    # When the token comes three times
    answers = [verifier.claims(f"Bearer {token}") for _ in range(3)]

    # Then each gets the same claims, and only the first was checked
    assert all(answer is not None and answer["sub"] == "s-1" for answer in answers)
    assert checks == [token]


def test_an_accepted_token_is_refused_once_it_expires_inside_the_ttl(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url, ISSUER, AUDIENCE)
    token = _token(exp_in_s=2)
    assert verifier.claims(token) is not None

    time.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()) + 0.05)

    assert verifier.claims(token) is None


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(aud="another-client"), id="wrong audience"),
        pytest.param(lambda: _token(token_use="access"), id="access token"),
        pytest.param(lambda: _token(exp_in_s=-60), id="expired"),
    ],
)
def test_a_refused_token_is_checked_every_time(jwks_url: str, checks: list[str], token: Any) -> None:
    verifier = TokenVerifier(jwks_url, ISSUER, AUDIENCE)
    refused = token()

    assert [verifier.claims(refused) for _ in range(2)] == [None, None]
    assert checks == [refused, refused]


def test_a_ttl_of_zero_checks_every_time(jwks_url: str, checks: list[str]) -> None:
    verifier = TokenVerifier(jwks_url, ISSUER, AUDIENCE, cache_ttl_s=0)
    token = _token()

    assert all(verifier.claims(token) is not None for _ in range(2))
    assert checks == [token, token]


def test_the_ttl_is_the_templates_reauthorize_every_else_api_gateways_default() -> None:
    template = load_template()
    identity = resource(template, API)["Properties"]["Auth"]["Authorizers"]["CognitoAuthorizer"]["Identity"]
    assert "ReauthorizeEvery" not in identity
    assert authorizer_ttl_s(template) == REAUTHORIZE_EVERY_S == 300

    changed = copy.deepcopy(template)
    resource(changed, API)["Properties"]["Auth"]["Authorizers"]["CognitoAuthorizer"]["Identity"]["ReauthorizeEvery"] = 0
    assert authorizer_ttl_s(changed) == 0
