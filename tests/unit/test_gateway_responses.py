"""The stage's gateway-made answers come from template.yaml, and any drift between the two is named.

The drift judge (:func:`coverage`) is shown passing on the template and failing on each kind of
drift; the renderer follows API Gateway's fallback (own declaration, then DEFAULT_4XX/5XX, then
the built-in body) and refuses a declaration it could not render faithfully.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from harness.template import load_template, resource
from localstage.gateway_responses import (
    NOT_EMULATED,
    SITUATIONS,
    GatewayResponses,
    coverage,
    declared_responses,
)

REQUIRED = {
    "UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "THROTTLED",
    "INTEGRATION_TIMEOUT", "INTEGRATION_FAILURE", "DEFAULT_4XX", "DEFAULT_5XX",
}  # fmt: skip
"""The gateway responses issue 14 asks the API to declare at least."""


def _declared(edit: Any = None) -> dict[str, Any]:
    template = load_template()
    if edit is not None:
        edit(resource(template, "OrdersApi")["Properties"]["GatewayResponses"])
    return declared_responses(template)


def test_the_template_declares_the_responses_a_client_can_get_and_the_stage_agrees() -> None:
    declared = declared_responses()

    assert set(declared) >= REQUIRED
    assert coverage(declared) == []


def test_a_declared_response_the_stage_never_gives_is_named() -> None:
    def add(responses: dict[str, Any]) -> None:
        responses["QUOTA_EXCEEDED"] = copy.deepcopy(responses["THROTTLED"])

    assert coverage(_declared(add)) == ["QUOTA_EXCEEDED is declared but the stage never answers with it"]


def test_a_situation_left_without_a_declaration_is_named() -> None:
    def drop(responses: dict[str, Any]) -> None:
        del responses["DEFAULT_5XX"]

    assert coverage(_declared(drop)) == [
        "the stage answers API_CONFIGURATION_ERROR but the template declares neither it nor its default",
        "the stage answers AUTHORIZER_CONFIGURATION_ERROR but the template declares neither it nor its default",
    ]


def test_a_default_no_situation_falls_back_to_is_named() -> None:
    # Given every 4xx situation declared on its own, DEFAULT_4XX answers none of them
    def declare_each(responses: dict[str, Any]) -> None:
        responses["BAD_REQUEST_BODY"] = copy.deepcopy(responses["DEFAULT_4XX"])

    assert coverage(_declared(declare_each)) == ["DEFAULT_4XX is declared but the stage never answers with it"]


def test_a_not_emulated_type_the_template_no_longer_declares_is_named() -> None:
    def drop(responses: dict[str, Any]) -> None:
        del responses["ACCESS_DENIED"]

    assert coverage(_declared(drop)) == ["ACCESS_DENIED is listed as not emulated but the template does not declare it"]
    assert set(NOT_EMULATED) == {"ACCESS_DENIED"}


def test_a_type_declared_on_its_own_answers_with_its_declaration_and_the_request_id() -> None:
    responses = GatewayResponses.from_template()

    status, headers, body = responses.answer("UNAUTHORIZED", "req-42")

    problem = json.loads(body)
    assert (status, problem["status"], problem["request_id"]) == (401, 401, "req-42")
    assert problem["type"].endswith(":unauthorized")
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["x-amzn-ErrorType"] == "UnauthorizedException"


FALLBACKS = [("BAD_REQUEST_BODY", "DEFAULT_4XX"), ("AUTHORIZER_CONFIGURATION_ERROR", "DEFAULT_5XX")]


@pytest.mark.parametrize(("response_type", "default"), FALLBACKS)
def test_an_undeclared_type_falls_back_to_its_default_with_its_message(response_type: str, default: str) -> None:
    responses = GatewayResponses.from_template()

    status, _, body = responses.answer(response_type, "req-7")

    problem = json.loads(body)
    assert responses.declaration(response_type) == (default, responses.declared[default])
    assert status == problem["status"] == responses.declared[default].status
    assert problem["detail"] == SITUATIONS[response_type].message


def test_with_nothing_declared_the_answer_is_api_gateways_built_in_body() -> None:
    status, headers, body = GatewayResponses({}).answer("MISSING_AUTHENTICATION_TOKEN", "req-1")

    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["Content-Type"] == "application/json"


def test_a_message_with_quotes_still_renders_a_json_body() -> None:
    [declared] = [d for d in declared_responses().values() if "$context.error.messageString" in d.body][:1]

    body = json.loads(declared.render("DEFAULT_4XX", "r", 'bad "thing"\n'))

    assert body["detail"] == 'bad "thing"\n'


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (
            lambda spec: spec["ResponseTemplates"].update({"application/json": '{"ip":"$context.identity.sourceIp"}'}),
            "cannot substitute $context.identity.sourceIp",
        ),
        (
            lambda spec: spec["ResponseParameters"]["Headers"].update({"X-Id": "method.request.header.X-Id"}),
            "header X-Id",
        ),
        (lambda spec: spec.pop("ResponseTemplates"), "no application/json body"),
    ],
    ids=["unknown variable", "mapped header", "no body"],
)
def test_a_declaration_the_stage_cannot_render_faithfully_is_refused(change: Any, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal.replace("$", r"\$")):
        _declared(lambda responses: change(responses["UNAUTHORIZED"]))
