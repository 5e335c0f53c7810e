"""API Gateway's own answers, rendered from template.yaml's ``GatewayResponses``.

Every error the stage's gateway makes itself — no or a bad token, no such route, a body over
10 MB, a throttle, a timeout, a failed integration — is answered from the template's
declaration for that response type, as the deployed REST API answers it: the declared status,
headers and body, ``$context`` variables substituted. There is no second copy of the bodies here.

Which declaration answers is API Gateway's rule: the response type's own when declared, else
``DEFAULT_4XX`` or ``DEFAULT_5XX`` by the type's default status, else API Gateway's built-in
``{"message": ...}``. :func:`coverage` names every drift between the template and the stage.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from harness.template import load_template, resource

API = "OrdersApi"
BODY_MEDIA_TYPE = "application/json"
"""The template key API Gateway uses when no other matches the client's ``Accept``."""


@dataclass(frozen=True)
class Situation:
    """One answer API Gateway makes itself, as it makes it when nothing is declared for it."""

    response_type: str
    status: int
    message: str
    """API Gateway's own message (``$context.error.message``)."""
    error_type: str
    """Its ``x-amzn-ErrorType`` header."""


SITUATIONS: dict[str, Situation] = {
    situation.response_type: situation
    for situation in (
        Situation("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException"),
        Situation("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token",
                  "MissingAuthenticationTokenException"),
        Situation("REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLongException"),
        Situation("BAD_REQUEST_BODY", 400, "Invalid request body", "BadRequestException"),
        Situation("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException"),
        Situation("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out", "IntegrationTimeoutException"),
        Situation("INTEGRATION_FAILURE", 502, "Internal server error", "InternalServerErrorException"),
        Situation("AUTHORIZER_CONFIGURATION_ERROR", 500, "Authorizer configuration error",
                  "AuthorizerConfigurationException"),
        Situation("API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException"),
    )
}  # fmt: skip
"""Every gateway-made answer the stage gives, by response type."""

NOT_EMULATED: dict[str, str] = {
    "ACCESS_DENIED": "the API has no resource policy and no Lambda authorizer, and its Cognito authorizer "
    "refuses a token with UNAUTHORIZED, so nothing in the stage denies an authenticated caller",
}
"""Response types the template declares for the deployed API that the stage never gives, and why."""

DEFAULTS = {4: "DEFAULT_4XX", 5: "DEFAULT_5XX"}

_VARIABLE = re.compile(r"\$[A-Za-z]+(?:\.[A-Za-z]+)*")
VARIABLES = frozenset(
    {"$context.requestId", "$context.error.message", "$context.error.messageString", "$context.error.responseType"}
)
"""The ``$context`` variables the stage substitutes; a template using another is refused at load."""


@dataclass(frozen=True)
class Declared:
    """One declared gateway response: its status (``None``: the type's own), headers and body template."""

    status: int | None
    headers: dict[str, str]
    body: str

    def render(self, response_type: str, request_id: str, message: str) -> bytes:
        """The body as API Gateway writes it for one request, with its ``$context`` substituted."""
        values = {
            "$context.requestId": request_id,
            "$context.error.message": message,
            "$context.error.messageString": json.dumps(message),
            "$context.error.responseType": response_type,
        }
        return _VARIABLE.sub(lambda match: values[match.group(0)], self.body).encode()


def declared_responses(template: dict[str, Any] | None = None) -> dict[str, Declared]:
    """The API's ``GatewayResponses``, by response type.

    Raises:
        ValueError: a header is not a static quoted value, there is no ``application/json``
            body, or a body uses a variable the stage cannot substitute.
    """
    template = load_template() if template is None else template
    declared = resource(template, API)["Properties"].get("GatewayResponses") or {}
    return {response_type: _declared(response_type, spec) for response_type, spec in declared.items()}


def _declared(response_type: str, spec: dict[str, Any]) -> Declared:
    headers: dict[str, str] = {}
    for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items():
        if not (isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'"):
            raise ValueError(f"{response_type}: header {name} is {value!r}, not a static 'quoted' value")
        headers[name] = value[1:-1]
    body = (spec.get("ResponseTemplates") or {}).get(BODY_MEDIA_TYPE)
    if not isinstance(body, str):
        raise ValueError(f"{response_type}: no {BODY_MEDIA_TYPE} body template")  # noqa: TRY004 - a bad declaration
    unknown = sorted(set(_VARIABLE.findall(body)) - VARIABLES)
    if unknown:
        raise ValueError(f"{response_type}: the stage cannot substitute {', '.join(unknown)}")
    status = spec.get("StatusCode")
    return Declared(None if status is None else int(status), headers, body)


@dataclass(frozen=True)
class GatewayResponses:
    """Answers the stage's gateway-made errors from the declarations."""

    declared: dict[str, Declared]

    @classmethod
    def from_template(cls, template: dict[str, Any] | None = None) -> GatewayResponses:
        """The declarations of template.yaml (or of the given template)."""
        return cls(declared_responses(template))

    def declaration(self, response_type: str) -> tuple[str, Declared] | None:
        """The declaration that answers this type, and the type it was declared under (``None``: built-in)."""
        if response_type in self.declared:
            return response_type, self.declared[response_type]
        default = DEFAULTS[SITUATIONS[response_type].status // 100]
        if default in self.declared:
            return default, self.declared[default]
        return None

    def answer(self, response_type: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of API Gateway's answer of this type to the request."""
        situation = SITUATIONS[response_type]
        found = self.declaration(response_type)
        if found is None:
            headers = {"Content-Type": BODY_MEDIA_TYPE, "x-amzn-ErrorType": situation.error_type}
            return situation.status, headers, json.dumps({"message": situation.message}).encode()
        _, declared = found
        headers = {**declared.headers, "x-amzn-ErrorType": situation.error_type}
        body = declared.render(response_type, request_id, situation.message)
        return declared.status or situation.status, headers, body


def coverage(declared: dict[str, Declared]) -> list[str]:
    """Every drift between the declarations and the stage; empty when they agree.

    A declared type the stage never gives (and does not list as not emulated), a default no
    situation falls back to, or a situation the stage answers with no declaration (API
    Gateway's built-in body) is one line each.
    """
    drifts: list[str] = []
    responses = GatewayResponses(declared)
    used = {found[0] for found in map(responses.declaration, SITUATIONS) if found is not None}
    for response_type in sorted(declared):
        if response_type in NOT_EMULATED:
            continue
        if response_type not in used:
            drifts.append(f"{response_type} is declared but the stage never answers with it")
    drifts.extend(
        f"the stage answers {response_type} but the template declares neither it nor its default"
        for response_type in sorted(SITUATIONS)
        if responses.declaration(response_type) is None
    )
    drifts.extend(
        f"{response_type} is listed as not emulated but the template does not declare it"
        for response_type in sorted(set(NOT_EMULATED) - set(declared))
    )
    return drifts
