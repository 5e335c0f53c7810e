"""The client's retry rule, written once in the ledger: the Locust users retry by it, the audit judges by it."""

from __future__ import annotations

import pytest

from loadtests.ledger import transient


@pytest.mark.parametrize("status", [0, 429, 500, 502, 503, 504, 599])
def test_no_answer_a_throttle_and_every_server_error_are_tried_again(status: int) -> None:
    assert transient(status) is True


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 409, 413, 415, 428, 430, 499])
def test_an_answer_the_client_can_act_on_is_final(status: int) -> None:
    assert transient(status) is False
