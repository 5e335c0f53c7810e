"""The HTTP edge: read an API Gateway (REST, v1 proxy) event, write proxy responses.

Everything here is plain dictionary work on the event; it runs on every invocation, so it
stays free of framework routing and of per-request object graphs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from create_order import jsonio
from create_order.errors import (
    FieldProblem,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from create_order.models import Caller, CreateOrderRequest
from create_order.request_contract import IDENTIFIER

MAX_BODY_BYTES = 16 * 1024
ADMIN_GROUP = "order-admins"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
CUSTOMER_ID_CLAIM = "custom:customer_id"
PROBLEM_TYPE_PREFIX = "urn:problem-type:create-order:"

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
_JSON_MEDIA_TYPE = "application/json"
_SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def header(event: Mapping[str, Any], name: str) -> str | None:
    """The single value of a request header (case-insensitive), ``None`` when absent.

    Raises:
        ValidationError: the header was sent more than once with different values.
    """
    lower = name.lower()
    values = {
        str(value) for key, value in (event.get("headers") or {}).items() if key.lower() == lower and value is not None
    }
    for key, many in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == lower and many:
            values.update(str(value) for value in many)
    if len(values) > 1:
        raise ValidationError(
            f"The {name} header was sent more than once",
            [FieldProblem(name, "repeated_header", "Send the header once")],
        )
    return values.pop() if values else None


def check_content_type(event: Mapping[str, Any]) -> None:
    """Accept ``application/json`` (optionally ``; charset=utf-8``).

    Raises:
        UnsupportedMediaTypeError: any other or no content type.
    """
    value = header(event, "Content-Type")
    if value is None:
        raise UnsupportedMediaTypeError("Send the body as application/json (Content-Type is missing)")
    media_type, _, params = value.partition(";")
    if media_type.strip().lower() != _JSON_MEDIA_TYPE:
        raise UnsupportedMediaTypeError("Send the body as application/json")
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaTypeError("The JSON body must be encoded as UTF-8")


def body_text(event: Mapping[str, Any]) -> str:
    """The request body as text, within the size limit.

    Raises:
        PayloadTooLargeError: more than ``MAX_BODY_BYTES`` bytes.
        ValidationError: no body, bad base64 or bytes that are not UTF-8.
    """
    body = event.get("body")
    if body is None or body == "":
        raise ValidationError("The request has no body", [FieldProblem("body", "missing", "Send a JSON object")])
    if not isinstance(body, str):
        raise ValidationError("The body is not text", [FieldProblem("body", "invalid_json", "Send a JSON object")])
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4:
            raise _too_large()
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError(
                "The body is not valid base64", [FieldProblem("body", "invalid_encoding", "Bad base64")]
            ) from exc
    else:
        if len(body) > MAX_BODY_BYTES:  # a character is at least one byte
            raise _too_large()
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _not_utf8() from exc
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8() from exc


def _too_large() -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The body must be at most {MAX_BODY_BYTES} bytes")


def _not_utf8() -> ValidationError:
    return ValidationError(
        "The body is not UTF-8", [FieldProblem("body", "invalid_encoding", "Encode the JSON as UTF-8")]
    )


def idempotency_key(event: Mapping[str, Any]) -> tuple[str | None, list[FieldProblem]]:
    """The ``Idempotency-Key`` header (1-255 printable ASCII), and its problem if malformed."""
    value = header(event, IDEMPOTENCY_KEY_HEADER)
    if value is None or _IDEMPOTENCY_KEY.fullmatch(value):
        return value, []
    return None, [
        FieldProblem(
            IDEMPOTENCY_KEY_HEADER,
            "invalid_idempotency_key",
            "Must be 1-255 printable ASCII characters, no leading or trailing space; a UUID is recommended",
        )
    ]


def parse_order_request(event: Mapping[str, Any]) -> tuple[CreateOrderRequest, str | None]:
    """Read the body and the ``Idempotency-Key``; every problem found is reported at once.

    Raises:
        UnsupportedMediaTypeError, PayloadTooLargeError, ValidationError: the request as sent
            cannot be processed.
    """
    check_content_type(event)
    text = body_text(event)
    key, problems = idempotency_key(event)
    try:
        document = jsonio.loads(text)
    except jsonio.JSONRejectedError as exc:
        problems.insert(0, FieldProblem("body", "invalid_json", str(exc)))
        raise ValidationError("The body is not valid JSON", problems) from exc
    if not isinstance(document, dict):
        problems.insert(0, FieldProblem("body", "invalid_type", "The body must be a JSON object"))
        raise ValidationError("The body must be a JSON object", problems)
    request, invalid = CreateOrderRequest.read(document)
    problems.extend(invalid)
    if problems or request is None:
        raise ValidationError("The request has invalid fields", problems)
    return request, key


def caller(event: Mapping[str, Any]) -> Caller:
    """The identity the Cognito authorizer vouched for.

    Raises:
        UnauthorizedError: no claims reached the function (no or invalid token).
    """
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims")
    if not isinstance(claims, Mapping):
        raise UnauthorizedError("A valid Cognito ID token is required")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise UnauthorizedError("The token names no subject")
    customer_id = claims.get(CUSTOMER_ID_CLAIM) or subject
    if not isinstance(customer_id, str) or not IDENTIFIER.fullmatch(customer_id):
        # A caller without a usable customer id may still be an admin ordering for others.
        customer_id = ""
    return Caller(customer_id=customer_id, is_admin=ADMIN_GROUP in _groups(claims))


def _groups(claims: Mapping[str, Any]) -> set[str]:
    # The REST authorizer passes claims as strings: "a", "a,b" or "[a b]"; tests may pass lists.
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        return {str(group) for group in raw}
    if isinstance(raw, str):
        return set(re.split(r"[,\s]+", raw.strip().strip("[]"))) - {""}
    return set()


def respond(status: int, body: Mapping[str, Any], *, problem: bool, location: str | None = None) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON (or problem+json) body."""
    headers = {
        "Content-Type": "application/problem+json" if problem else _JSON_MEDIA_TYPE,
        **_SECURITY_HEADERS,
    }
    if location is not None:
        headers["Location"] = location
    return {"statusCode": status, "headers": headers, "body": jsonio.dumps(body), "isBase64Encoded": False}


def problem_body(
    errors: Sequence[FieldProblem], *, status: int, title: str, detail: str, slug: str, request_id: str
) -> dict[str, Any]:
    """An RFC 9457 problem document; ``errors`` lists every failing field, when there are any."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = [
            {"field": problem.field, "code": problem.code, "detail": problem.detail} for problem in errors
        ]
    return body
