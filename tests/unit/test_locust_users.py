"""The Locust users' ledger: a request Locust stops in flight is still recorded.

The users are imported in a child interpreter: importing Locust patches the standard library
with gevent's, which must stay out of the test session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STOPPED_IN_FLIGHT = """
import locust  # first, as under `locust -f`: it patches the standard library with gevent's
import sys
from pathlib import Path

import gevent

from loadtests.ledger import Ledger
from loadtests.part import Part
from loadtests.users import CustomerUser


class {client}:
    def post(self, *args, **kwargs):
        raise gevent.GreenletExit  # what a greenlet killed by Locust's stop sees mid-request


user = object.__new__(CustomerUser)
user.client = {client}()
user.customer_id = "cust-007"
user.part = Part(customers=[], client_id="", orderable=[], cognito=None, ledger=Ledger(Path(sys.argv[1])))
try:
    user.send("create", "valid order", "{{}}", expected=[201, 409], key="key-1", token=None, retryable=True)
except gevent.GreenletExit:
    print("stopped")
"""


def _stopped_request(tmp_path: Path, client: str = "StoppedClient") -> tuple[str, list[dict[str, object]]]:
    result = subprocess.run(
        [sys.executable, "-c", STOPPED_IN_FLIGHT.format(client=client), str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for path in tmp_path.glob("ledger-*.jsonl") for line in path.read_text().splitlines()]
    return result.stdout.strip(), lines


def test_a_request_stopped_in_flight_is_in_the_ledger_with_its_answer_unknown(tmp_path: Path) -> None:
    # When Locust stops a user while its order is in flight (the order may have been stored)
    stopped, ledger = _stopped_request(tmp_path)

    # Then the stop goes on (the user ends) and the ledger names the request, with no answer, final
    assert stopped == "stopped"
    assert len(ledger) == 1
    attempt = ledger[0]
    assert (attempt["customer_id"], attempt["key"], attempt["op"]) == ("cust-007", "key-1", "create")
    assert attempt["status"] == 0
    assert attempt["final"] is True
    assert attempt["error"] == "stopped before its answer"


DUPLICATES_STOPPED = """
import locust  # first, as under `locust -f`
import sys
from pathlib import Path

import gevent

from loadtests.ledger import Ledger
from loadtests.part import Part
from loadtests.users import DuplicateSubmitter


class SlowClient:
    def post(self, *args, **kwargs):
        gevent.sleep(30)  # an answer that comes after the user is stopped


user = object.__new__(DuplicateSubmitter)
user.client = SlowClient()
user.customer_id = "cust-008"
user.part = Part(customers=[], client_id="", orderable=[], cognito=None, ledger=Ledger(Path(sys.argv[1])))
user.order_body = lambda: {}
user.session = type("Session", (), {"id_token": lambda self: "a-token"})()
running = gevent.spawn(user.submit_twice)
gevent.sleep(0.2)  # the three are in flight
running.kill(block=True)  # Locust's stop
user.part.ledger.close()  # as the run's end closes it
print("stopped", running.dead)
"""


def test_a_duplicate_group_stopped_in_flight_leaves_every_request_in_the_ledger(tmp_path: Path) -> None:
    # When Locust stops a DuplicateSubmitter while its three requests are in flight
    result = subprocess.run(
        [sys.executable, "-c", DUPLICATES_STOPPED, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ledger = [json.loads(line) for path in tmp_path.glob("ledger-*.jsonl") for line in path.read_text().splitlines()]

    # Then all three are in the ledger before it closes, each final with its answer unknown
    assert result.stdout.strip() == "stopped True"
    assert len(ledger) == 3
    assert {(a["op"], a["customer_id"], a["status"], a["final"], a["error"]) for a in ledger} == {
        ("duplicate", "cust-008", 0, True, "stopped before its answer")
    }
    assert len({a["key"] for a in ledger}) == 1
