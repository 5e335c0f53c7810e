"""401 and 403: who may place an order for whom."""

from __future__ import annotations

import pytest

from tests.support.events import api_event, order_body
from tests.unit.conftest import Backend


@pytest.mark.parametrize(
    "claims",
    [None, {}, {"custom:customer_id": "cust-alice"}, {"sub": ""}, {"sub": 42}],
    ids=["no-authorizer", "no-claims", "no-sub", "empty-sub", "non-string-sub"],
)
def test_request_without_a_usable_identity_is_401(backend: Backend, invoke, claims) -> None:
    response = invoke(api_event(claims=claims))

    assert response.status == 401
    assert response.body["type"] == "urn:problem-type:create-order:unauthorized"
    no_token = claims is None  # no authorizer: the token was missing or refused
    assert response.body["detail"] == (
        "A valid Cognito ID token is required" if no_token else "The token names no subject"
    )
    assert backend.orders() == []
    assert backend.messages() == []


def test_ordering_for_another_customer_is_403(backend: Backend, invoke) -> None:
    response = invoke(api_event(order_body(customer_id="cust-bob")))

    assert response.status == 403
    assert response.body["type"] == "urn:problem-type:create-order:forbidden"
    assert response.body["detail"] == "customer_id is not the authenticated customer's id"
    assert "customer_id" in response.body["detail"]
    assert backend.orders() == []
    assert backend.messages() == []


def test_custom_customer_id_claim_wins_over_the_subject(backend: Backend, invoke) -> None:
    claims = {"sub": "sub-1", "custom:customer_id": "cust-alice"}

    assert invoke(api_event(order_body(customer_id="sub-1"), claims=claims)).status == 403


@pytest.mark.parametrize("groups", ["order-admin", "order-admins-readonly", "", "[support]", "order-adminsX"])
def test_other_groups_do_not_grant_ordering_for_others(backend: Backend, invoke, groups: str) -> None:
    claims = {"sub": "s", "custom:customer_id": "cust-alice", "cognito:groups": groups}

    assert invoke(api_event(order_body(customer_id="cust-bob"), claims=claims)).status == 403
    assert backend.orders() == []


@pytest.mark.parametrize("customer_id", ["not-a-valid-id", "XXXX"])
def test_caller_with_an_unusable_customer_claim_may_not_order_for_anyone(
    backend: Backend, invoke, customer_id: str
) -> None:
    claims = {"sub": "s", "custom:customer_id": "not a valid id"}

    assert invoke(api_event(order_body(customer_id=customer_id), claims=claims)).status == 403


def test_admin_group_given_as_a_list_may_order_for_others(backend: Backend, invoke) -> None:
    claims = {"sub": "s", "custom:customer_id": "cust-alice", "cognito:groups": ["support", "order-admins"]}

    assert invoke(api_event(order_body(customer_id="cust-bob"), claims=claims)).status == 201


def test_a_customer_claim_that_is_not_text_is_unusable(backend: Backend, invoke) -> None:
    claims = {"sub": "s", "custom:customer_id": 42}

    assert invoke(api_event(order_body(customer_id="s"), claims=claims)).status == 403
