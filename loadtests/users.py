"""The Locust users for POST /orders: customers, duplicate submitters, bad-input senders, intruders.

They share one base (``OrdersUser``, abstract): a Cognito login as the next customer of the
process's part, valid order bodies, and one POST per attempt, each checked against the statuses
expected and written to the ledger (``loadtests/ledger.py``); an attempt answered by a throttle,
a 5xx or no answer (``transient``) is tried again with the same key. ``role`` names each user
in ``--weights``. The locustfile exposes them to Locust.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

import gevent
import jwt
from locust import FastHttpUser, between, task

from loadtests.ledger import STOPPED, Attempt, transient
from loadtests.part import CASTING, Part
from loadtests.session import CognitoSession

NAME = "create order"  # the valid traffic the SLO is measured on
SESSION_TOKEN = "<session>"  # noqa: S105 - a marker: "use the user's own ID token"
MAX_TRIES = 6


class OrdersUser(FastHttpUser):
    """Shared behaviour: a customer login, order bodies, and a ledger entry per attempt."""

    abstract = True
    role = ""
    wait_time = between(0.5, 1.5)
    network_timeout = 35.0
    connection_timeout = 10.0
    part: Part
    customer_id: str
    session: CognitoSession

    def on_start(self) -> None:
        """Log in as the next customer of the pool (Cognito USER_PASSWORD_AUTH)."""
        self.part, me = CASTING.next_customer()
        self.customer_id = me.customer_id
        self.session = CognitoSession(me.username, me.password, self.part.cognito, self.part.client_id)

    def order_body(self, customer_id: str | None = None) -> dict[str, Any]:
        """A valid order of 1-3 active catalog products."""
        orderable = self.part.orderable
        products = random.sample(orderable, k=random.randint(1, min(3, len(orderable))))  # noqa: S311 - test data
        return {
            "customer_id": customer_id or self.customer_id,
            "items": [{"product_id": p, "quantity": random.randint(1, 5)} for p in products],  # noqa: S311
        }

    def send(
        self,
        op: str,
        name: str,
        body: bytes | str,
        *,
        expected: list[int],
        key: str | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = SESSION_TOKEN,
        customer_id: str | None = None,
        attempt: int = 1,
        stat_name: str | None = None,
        retryable: bool = False,
    ) -> Attempt:
        """POST one request, check its status, record it in the ledger and in Locust's stats.

        With ``retryable``, a 429, 5xx or connection error is recorded as not final: the
        caller will try again with the same key (unless this was its last try).
        """
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            sent["Idempotency-Key"] = key
        if token == SESSION_TOKEN:
            sent["Authorization"] = self.session.id_token()
        elif token is not None:
            sent["Authorization"] = token
        started = time.monotonic()
        record = Attempt(op, name, customer_id or self.customer_id, key, attempt, 0, expected, 0.0)
        try:
            self._post(record, body, sent, stat_name or f"{op}: {name}", retryable=retryable, started=started)
        except gevent.GreenletExit:
            # Locust stopped this user mid-request (the web UI's Stop; no stop timeout): the order
            # may have been stored, so the ledger still names the request, its answer unknown.
            record.latency_ms = round((time.monotonic() - started) * 1000, 2)
            record.error = STOPPED
            record.final = True
            self.part.ledger.record(record)
            raise
        self.part.ledger.record(record)
        return record

    def _post(
        self,
        record: Attempt,
        body: bytes | str,
        sent: dict[str, str],
        stat_name: str,
        *,
        retryable: bool,
        started: float,
    ) -> None:
        """POST and fill ``record`` from the answer, telling Locust whether it was expected."""
        # FastHttpSession.post takes bytes too (its docstring: "String/bytes"); its annotation says str or dict.
        with self.client.post(
            "/orders",
            data=body,  # type: ignore[arg-type]
            headers=sent,
            name=stat_name,
            catch_response=True,
        ) as response:
            record.latency_ms = round((time.monotonic() - started) * 1000, 2)
            record.status = response.status_code or 0
            record.request_id = response.headers.get("x-amzn-RequestId") if response.headers else None
            data = _json(response.text)
            order = data.get("order", data) if isinstance(data, dict) else {}
            record.order_id = order.get("id") or (data.get("order_id") if isinstance(data, dict) else None)
            record.total = str(order["total"]) if "total" in order else None
            record.problem_type = data.get("type") if isinstance(data, dict) else None
            if record.status == 0:
                record.error = str(response.error)[:200]
            record.final = not (retryable and record.attempt < MAX_TRIES and transient(record.status))
            if record.ok:
                response.success()
            else:
                response.failure(f"expected {record.expected}, got {record.status}")

    def send_until_final(self, op: str, name: str, body: str, **kwargs: Any) -> Attempt:
        """:meth:`send`, tried again with the same key after a throttle, 5xx or lost connection."""
        for attempt in range(1, MAX_TRIES + 1):
            result = self.send(op, name, body, attempt=attempt, retryable=True, **kwargs)
            if result.final:
                break
            gevent.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
        return result


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "", parse_float=str)
    except ValueError:
        return None


class CustomerUser(OrdersUser):
    """Places valid orders with a fresh key; retries 5xx, 429 and connection errors with that key."""

    role = "customer"

    @task
    def place_order(self) -> None:
        """One order, retried with the same key until 201/409 or MAX_TRIES."""
        key = str(uuid.uuid4())
        body = json.dumps(self.order_body())
        self.send_until_final("create", "valid order", body, expected=[201, 409], key=key, stat_name=NAME)


class DuplicateSubmitter(OrdersUser):
    """Sends one order with one key three times at once, and again later: one 201, the rest 409."""

    role = "duplicate"

    @task
    def submit_twice(self) -> None:
        """Three at once, then once more."""
        key = str(uuid.uuid4())
        body = json.dumps(self.order_body())
        group = [gevent.spawn(self._send, key, body) for _ in range(3)]
        try:
            gevent.joinall(group)
        finally:
            # Locust stops this user's greenlet, not the ones it spawned: stopped mid-group, the user
            # stops them too, so each in-flight request is in the ledger (as stopped) before it closes.
            gevent.killall(group, block=True)
        gevent.sleep(0.5)
        self._send(key, body)

    def _send(self, key: str, body: str) -> None:
        self.send_until_final("duplicate", "same key and body", body, expected=[201, 409], key=key)


class BadInputSender(OrdersUser):
    """Sends each bad body and expects its exact status; nothing may be stored."""

    role = "bad"

    @task
    def send_bad(self) -> None:
        """One bad request, chosen at random."""
        name, body, headers, status = random.choice(self._cases())  # noqa: S311 - test data
        self.send_until_final("bad", name, body, expected=[status], key=str(uuid.uuid4()), headers=headers)

    def _cases(self) -> list[tuple[str, str, dict[str, str], int]]:
        valid = self.order_body()
        valid_quantity = f'"quantity": {valid["items"][0]["quantity"]}'
        me = self.customer_id
        return [
            ("invalid json", '{"customer_id": ', {}, 400),
            ("duplicate key", f'{{"customer_id": "{me}", "customer_id": "x", "items": []}}', {}, 400),
            ("NaN quantity", json.dumps(valid).replace(valid_quantity, '"quantity": NaN', 1), {}, 400),
            ("quantity 0", json.dumps({**valid, "items": [{"product_id": "P-001", "quantity": 0}]}), {}, 400),
            ("boolean quantity", json.dumps({**valid, "items": [{"product_id": "P-001", "quantity": True}]}), {}, 400),
            ("unknown field total", json.dumps({**valid, "total": 0.01}), {}, 400),
            ("unknown product", json.dumps({**valid, "items": [{"product_id": "P-NOPE", "quantity": 1}]}), {}, 400),
            ("inactive product", json.dumps({**valid, "items": [{"product_id": "P-900", "quantity": 1}]}), {}, 400),
            ("no items", json.dumps({**valid, "items": []}), {}, 400),
            ("text/plain", json.dumps(valid), {"Content-Type": "text/plain"}, 415),
            ("over 16 KiB", json.dumps(valid) + " " * 17_000, {}, 413),
        ]  # fmt: skip


class Intruder(OrdersUser):
    """No token, a forged token, another customer's id: 401 or 403, and nothing stored."""

    role = "intruder"

    @task
    def intrude(self) -> None:
        """One unauthorised attempt, chosen at random."""
        other = f"{self.customer_id}-not-me"
        forged = jwt.encode(
            {"sub": "x", "token_use": "id", "custom:customer_id": self.customer_id, "exp": time.time() + 600},
            "not-the-pool-key-but-long-enough-for-hs256",
            algorithm="HS256",
        )
        case = random.choice(["no token", "forged token", "another customer"])  # noqa: S311
        key = str(uuid.uuid4())
        if case == "another customer":
            body = json.dumps(self.order_body(customer_id=other))
            self.send_until_final("intrude", case, body, expected=[403], key=key, customer_id=other)
        else:
            token = None if case == "no token" else forged
            self.send_until_final("intrude", case, json.dumps(self.order_body()), expected=[401], token=token, key=key)


USERS: tuple[type[OrdersUser], ...] = (CustomerUser, DuplicateSubmitter, BadInputSender, Intruder)
"""Every user the main job runs, each weighed by its ``role`` in ``--weights``."""
