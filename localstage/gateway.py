"""The stage's API Gateway: a real HTTP server in front of the workers.

It does what the deployed REST API does for ``POST /{stage}/orders``: throttles at the
stage's rate and burst when given a bucket, checks the Cognito ID token (signature against
the pool's JWKS, expiry, issuer, audience, ``token_use``; a token it accepted is taken again
without a second check for the authorizer's cache TTL, never past its ``exp``) and answers
401 itself, builds the
v1 proxy event with the claims as strings, enforces the 10 MB payload limit and the 29 s
integration timeout, and maps Lambda's refusals and function errors as API Gateway would (a
function out of concurrency is an integration failure, not a 429). Each error it makes itself
is answered from the template's ``GatewayResponses``
(:mod:`localstage.gateway_responses`). Every request gets one JSON line in the access log.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from harness.template import load_template, resource
from localstage.gateway_responses import API, GatewayResponses

if TYPE_CHECKING:
    from localstage.throttle import TokenBucket
    from localstage.workers import Invocation, WorkerPool

INTEGRATION_TIMEOUT_S = 29.0
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
RESOURCE = "/orders"

STAGE_NAME = "local"
"""The local API's stage (the first segment of its paths, and the dashboard's ``Stage``)."""
OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"
"""The API's description, served at ``/{stage}/openapi.yaml`` (for Schemathesis and people)."""


REAUTHORIZE_EVERY_S = 300
"""API Gateway's TTL for a Cognito authorizer's cached results when the template sets none.

SAM's ``Identity.ReauthorizeEvery`` (``authorizerResultTtlInSeconds``): "By default, API Gateway
sets this property to 300. The maximum value is 3600"; 0 turns the cache off
(docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-cognitoauthorizationidentity.html).
"""
_MAX_CACHED_TOKENS = 10_000
"""Verified tokens kept at most; past it the cache starts again (a load test holds a few hundred)."""


def authorizer_ttl_s(template: dict[str, Any] | None = None) -> int:
    """How long the API's default (Cognito) authorizer's results are cached, as the template deploys it."""
    template = load_template() if template is None else template
    auth = resource(template, API)["Properties"].get("Auth") or {}
    authorizer = (auth.get("Authorizers") or {}).get(auth.get("DefaultAuthorizer")) or {}
    return int((authorizer.get("Identity") or {}).get("ReauthorizeEvery", REAUTHORIZE_EVERY_S))


class AuthorizerUnavailableError(Exception):
    """The pool's signing keys could not be fetched: API Gateway's authorizer configuration error."""


@dataclass
class TokenVerifier:
    """Verifies Cognito ID tokens as the REST API's Cognito authorizer does, its result cache included.

    API Gateway caches an authorizer's result by the identity source (the ``Authorization``
    header) for ``cache_ttl_s``; here a token that passed every check is taken again, unchecked,
    until that TTL or its ``exp`` ends, whichever comes first, so no answer differs from a
    check every time: an expired token is refused even inside the TTL. Only accepted tokens are
    kept; a refused one is checked again each time (BENCHMARKS.md, T15).
    """

    jwks_url: str
    issuer: str
    audience: str
    cache_ttl_s: float = REAUTHORIZE_EVERY_S
    _client: jwt.PyJWKClient = field(init=False)
    _accepted: dict[str, tuple[float, dict[str, Any]]] = field(init=False, default_factory=dict)
    """Accepted token -> (when its entry ends, ``time.time()``; its claims)."""

    def __post_init__(self) -> None:
        self._client = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=3600)

    def claims(self, header: str | None) -> dict[str, Any] | None:
        """The token's claims when it is a valid ID token of this pool and client, else ``None``."""
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        now = time.time()
        cached = self._accepted.get(token)
        if cached is not None and now < cached[0]:
            return cached[1]
        claims = self._verified(token)
        if claims is not None and self.cache_ttl_s > 0:
            if len(self._accepted) >= _MAX_CACHED_TOKENS:
                self._accepted.clear()
            # PyJWT refuses a token once exp <= now (leeway 0): the entry ends there too.
            self._accepted[token] = (min(now + self.cache_ttl_s, float(claims["exp"])), claims)
        return claims

    def _verified(self, token: str) -> dict[str, Any] | None:
        """Every check of the authorizer, done now: the claims, or ``None``."""
        try:
            key = self._client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub", "aud", "token_use"]},
                leeway=0,
            )
        except jwt.PyJWKClientConnectionError as error:
            raise AuthorizerUnavailableError(str(error)) from error
        except (jwt.PyJWTError, ValueError):
            return None
        if claims.get("token_use") != "id":
            return None
        return claims


def _started(invocation: Invocation) -> dict[str, float]:
    """What the access log says of a new environment the invocation started in: its init, or its restore (SnapStart)."""
    started = {"init_ms": invocation.init_ms, "restore_ms": invocation.restore_ms}
    return {name: round(value, 2) for name, value in started.items() if value is not None}


def _claim_strings(claims: dict[str, Any]) -> dict[str, str]:
    # The REST API hands claims to the integration as strings; times as API Gateway writes them.
    strings: dict[str, str] = {}
    for key, value in claims.items():
        if key in ("exp", "iat", "auth_time") and isinstance(value, int | float):
            strings[key] = datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, list):
            strings[key] = ",".join(str(v) for v in value)
        else:
            strings[key] = str(value)
    return strings


@dataclass
class Gateway:
    """The HTTP front; :meth:`start` serves in a background thread."""

    pool: WorkerPool
    verifier: TokenVerifier
    access_log: Path
    stage_name: str = STAGE_NAME
    port: int = 0
    host: str = "127.0.0.1"
    """The address it listens on: loopback, or one that load generators on other hosts reach."""
    responses: GatewayResponses = field(default_factory=GatewayResponses.from_template)
    throttle: TokenBucket | None = None
    """The stage throttle (the template's rate and burst); ``None``: requests are never throttled here."""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The stage's base URL; POST to ``{url}/orders``."""
        return f"http://{self.host}:{self.port}/{self.stage_name}"

    def start(self) -> Gateway:
        """Listen on :attr:`host` and serve until :meth:`stop`."""
        gateway = self

        class Handler(_RequestHandler):
            owner = gateway

        self._server = _Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def log(self, entry: dict[str, Any]) -> None:
        """Append one access-log line."""
        line = json.dumps(entry, separators=(",", ":"))
        with self._log_lock, self.access_log.open("a") as log:
            log.write(line + "\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    """The listen backlog; a class attribute because it is read when the socket starts listening,
    during construction (the default, 5, reset connections in a burst of a few hundred)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets its kept-alive connection is not an error (Locust stopping); the rest is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    owner: Gateway
    protocol_version = "HTTP/1.1"
    server_version = "local-apigateway"

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the gateway writes its own JSON access log."""

    def __getattr__(self, name: str) -> Any:
        """Route every method (``do_TRACE`` too), as API Gateway does.

        Only POST /orders is an operation; API Gateway answers any other method 403 Missing
        Authentication Token, where http.server would answer 501.
        """
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        entry: dict[str, Any] = {"requestId": request_id, "ts": time.time(), "method": self.command}
        try:
            status, headers, body = self._answer(request_id, entry)
        except Exception as error:  # noqa: BLE001 - any defect of the stage is API Gateway's 500, logged
            entry["gateway_error"] = repr(error)
            self.close_connection = True
            status, headers, body = self.owner.responses.answer("API_CONFIGURATION_ERROR", request_id)
        entry["status"] = status
        entry["latency_ms"] = round((time.monotonic() - started) * 1000, 2)
        try:
            self.send_response(status)
            headers = {**headers, "x-amzn-RequestId": request_id, "Content-Length": str(len(body))}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer is the GET answer's head: no body follows
                self.wfile.write(body)
        except OSError:
            # The client left before its answer (a load generator stopping mid-request): the
            # request was still served, and API Gateway's access log would still show it.
            entry["client_gone"] = True
            self.close_connection = True
        finally:
            self.owner.log(entry)

    def _answer(self, request_id: str, entry: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:  # noqa: PLR0911
        gateway = self.owner
        answer = gateway.responses.answer
        url = urlsplit(self.path)
        entry["path"] = url.path
        declared_length = (self.headers.get("Content-Length") or "0").strip()
        if not declared_length.isdigit():
            # Not a length: nothing after the headers can be framed, so the connection ends here.
            self.close_connection = True
            return answer("BAD_REQUEST_BODY", request_id)
        length = int(declared_length)
        if length > MAX_PAYLOAD_BYTES:
            # Read what was sent (up to a bound) so the client sees the answer, not a reset.
            remaining = min(length, 4 * MAX_PAYLOAD_BYTES)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            self.close_connection = True
            return answer("REQUEST_TOO_LARGE", request_id)
        raw = self.rfile.read(length) if length else b""
        if url.path == f"/{gateway.stage_name}/openapi.yaml" and self.command == "GET":
            return 200, {"Content-Type": "application/yaml"}, OPENAPI.read_bytes()
        refused = self._refused(url.path, request_id, entry)
        if refused is not None:
            return refused
        try:
            claims = gateway.verifier.claims(self.headers.get("Authorization"))
        except AuthorizerUnavailableError as error:
            entry["authorizer_error"] = str(error)
            return answer("AUTHORIZER_CONFIGURATION_ERROR", request_id)
        if claims is None:
            return answer("UNAUTHORIZED", request_id)
        event = self._event(request_id, url, raw, claims)
        invocation = gateway.pool.invoke(event, request_id, wait_s=INTEGRATION_TIMEOUT_S)
        entry["integration"] = invocation.outcome
        entry["integration_ms"] = round(invocation.duration_ms, 2)
        entry.update(_started(invocation))
        if invocation.outcome == "throttled":
            # Lambda refused the invocation (429 TooManyRequestsException: the function's concurrency is
            # exhausted). A REST API's Lambda proxy integration does not pass that on as a 429: the request
            # fails as INTEGRATION_FAILURE, "Internal server error" (500 when nothing is declared for the
            # type; the declared answer when it is: here the template's 502). THROTTLED is the stage's own
            # rate and burst only (``_refused``).
            return answer("INTEGRATION_FAILURE", request_id)
        if invocation.outcome in ("gave-up", "timeout"):
            return answer("INTEGRATION_TIMEOUT", request_id)
        payload = invocation.payload
        if invocation.outcome != "ok" or not isinstance(payload, dict) or "statusCode" not in payload:
            return answer("INTEGRATION_FAILURE", request_id)
        body = payload.get("body") or ""
        data = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
        return (
            int(payload["statusCode"]),
            {k: str(v) for k, v in (payload.get("headers") or {}).items()},
            data,
        )

    def _refused(self, path: str, request_id: str, entry: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        """API Gateway's answer before the authorizer: no such route, or the stage's throttle; else ``None``."""
        gateway = self.owner
        if path != f"/{gateway.stage_name}{RESOURCE}" or self.command != "POST":
            return gateway.responses.answer("MISSING_AUTHENTICATION_TOKEN", request_id)
        if gateway.throttle is not None and not gateway.throttle.take():
            # A throttled request costs no token check and never reaches the function.
            entry["throttled"] = "stage"
            return gateway.responses.answer("THROTTLED", request_id)
        return None

    def _event(self, request_id: str, url: Any, raw: bytes, claims: dict[str, Any]) -> dict[str, Any]:
        gateway = self.owner
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers[name] = value
            multi.setdefault(name, []).append(value)
        query = parse_qsl(url.query, keep_blank_values=True)
        try:
            body: str | None = raw.decode("utf-8") if raw else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        now = time.time()
        return {
            "resource": RESOURCE,
            "path": RESOURCE,
            "httpMethod": self.command,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": dict(query) or None,
            "multiValueQueryStringParameters": {k: [v for kk, v in query if kk == k] for k, _ in query} or None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": RESOURCE,
                "httpMethod": self.command,
                "path": url.path,
                "stage": gateway.stage_name,
                "requestId": request_id,
                "requestTimeEpoch": int(now * 1000),
                "protocol": self.request_version,
                "accountId": "123456789012",
                "apiId": "local",
                "identity": {"sourceIp": self.client_address[0], "userAgent": self.headers.get("User-Agent")},
                "authorizer": {"claims": _claim_strings(claims)},
            },
            "body": body,
            "isBase64Encoded": encoded,
        }
