"""A run's Cognito users: created under the run's synthetic prefix, and deleted by it."""

from __future__ import annotations

import secrets

import boto3

from harness.seed import create_customer
from loadtests.deployed.errors import DeployedInputError
from loadtests.deployed.runs import customer_id, customer_prefix, username

CUSTOMER_ID_ATTRIBUTE = "custom:customer_id"


def create_users(pool_id: str, run_id: str, count: int) -> list[dict[str, str]]:
    """``count`` confirmed users of the run, with random passwords: ``[{username, password, customer_id}]``."""
    cognito = boto3.client("cognito-idp")
    users = []
    for n in range(count):
        password = secrets.token_urlsafe(18) + "Aa1!"  # the pool's policy: upper, lower, digit
        try:
            users.append(create_customer(cognito, pool_id, username(run_id, n), password, customer_id(run_id, n)))
        except cognito.exceptions.UsernameExistsException as exc:
            raise DeployedInputError(
                f"{username(run_id, n)} is already in the pool: run {run_id} made users before "
                f"({len(users)} made now; `cleanup --run-id {run_id}` deletes them all)"
            ) from exc
    return users


def delete_users(pool_id: str, run_id: str) -> int:
    """Delete every user of the pool whose e-mail and customer id are under the run's prefix; how many.

    Found in the pool rather than in the users file, so users of a run whose file was lost go too.
    """
    cognito = boto3.client("cognito-idp")
    prefix = customer_prefix(run_id)
    pages = cognito.get_paginator("list_users").paginate(UserPoolId=pool_id, Filter=f'email ^= "{prefix}"')
    # Listed in full before deleting: a page token does not survive deletions under it.
    doomed = [
        user["Username"]
        for page in pages
        for user in page["Users"]
        if any(a["Name"] == CUSTOMER_ID_ATTRIBUTE and a["Value"].startswith(prefix) for a in user.get("Attributes", []))
    ]
    for name in doomed:
        cognito.admin_delete_user(UserPoolId=pool_id, Username=name)
    return len(doomed)
