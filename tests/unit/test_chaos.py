"""Fault plans: read from TOML, refused when wrong, applied by window, count and probability."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import EndpointConnectionError

from chaos.inject import FaultInjector
from chaos.plan import FaultPlan, FaultRule, PlanError

PLAN = """
[[rule]]
service = "dynamodb"
operation = "PutItem"
kind = "error"
code = "ProvisionedThroughputExceededException"
count = 2

[[rule]]
service = "sqs"
kind = "connection"
start_s = 10
end_s = 20
"""


def _request() -> SimpleNamespace:
    return SimpleNamespace(url="http://127.0.0.1:1/", context={}, body=b"{}")


def test_plan_is_read_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN)

    plan = FaultPlan.load(path)

    assert [rule.kind for rule in plan.rules] == ["error", "connection"]
    assert plan.rules[0].status == 400
    assert (plan.rules[1].start_s, plan.rules[1].end_s) == (10, 20)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"service": "dynamodb", "kind": "explode"}, "unknown fault kind"),
        ({"service": "s3", "kind": "connection"}, "unknown service"),
        ({"service": "sqs", "kind": "error", "code": "ProvisionedThroughputExceededException"}, "does not answer"),
        ({"service": "sqs", "kind": "connection", "probability": 1.5}, "probability"),
        ({"service": "sqs", "operation": "SendMessage", "kind": "unprocessed-keys"}, "BatchGetItem only"),
        ({"service": "sqs", "kind": "connection", "typo": 1}, "typo"),
    ],
)
def test_wrong_plan_is_refused_with_the_reason(rule: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        FaultPlan.from_dict({"rule": [rule]})


def test_count_limits_how_many_attempts_are_faulted() -> None:
    injector = FaultInjector(FaultPlan.from_dict({"rule": [{"service": "dynamodb", "kind": "error",
                                                           "code": "InternalServerError", "count": 2}]}))  # fmt: skip

    answers = [injector(_request(), event_name="before-send.dynamodb.PutItem") for _ in range(4)]

    assert [answer.status_code if answer else None for answer in answers] == [500, 500, None, None]
    assert injector.attempts["dynamodb.PutItem"] == 4


def test_window_is_measured_from_the_plan_start() -> None:
    now = [100.0]
    plan = FaultPlan.from_dict({"rule": [{"service": "sqs", "kind": "connection", "start_s": 10, "end_s": 20}]})
    injector = FaultInjector(plan, started_at=100.0, clock=lambda: now[0])

    before = injector(_request(), event_name="before-send.sqs.SendMessage")
    now[0] = 115.0
    with pytest.raises(EndpointConnectionError):
        injector(_request(), event_name="before-send.sqs.SendMessage")
    now[0] = 121.0
    after = injector(_request(), event_name="before-send.sqs.SendMessage")

    assert before is None
    assert after is None


def test_probability_faults_about_that_share_of_attempts() -> None:
    plan = FaultPlan.from_dict({"rule": [{"service": "dynamodb", "kind": "error", "code": "ThrottlingException",
                                          "probability": 0.3}]})  # fmt: skip
    injector = FaultInjector(plan, rng=random.Random(7))  # noqa: S311 - a seeded sample, not a secret

    faulted = sum(injector(_request(), event_name="before-send.dynamodb.GetItem") is not None for _ in range(2000))

    assert 500 < faulted < 700


def test_rules_apply_to_their_operation_only() -> None:
    rule = FaultRule("dynamodb", "PutItem", "connection")
    injector = FaultInjector(FaultPlan(rules=(rule,)))

    assert injector(_request(), event_name="before-send.dynamodb.BatchGetItem") is None
    with pytest.raises(EndpointConnectionError):
        injector(_request(), event_name="before-send.dynamodb.PutItem")


def test_latency_delays_and_lets_the_attempt_through() -> None:
    slept: list[float] = []
    plan = FaultPlan.from_dict({"rule": [{"service": "sqs", "kind": "latency", "delay_s": 1.5}]})
    injector = FaultInjector(plan, sleep=slept.append)

    assert injector(_request(), event_name="before-send.sqs.SendMessage") is None
    assert slept == [1.5]


def test_network_rules_are_read_and_give_the_mode_for_each_moment() -> None:
    plan = FaultPlan.from_dict(
        {
            "network": [
                {"service": "sqs", "mode": "blackhole", "start_s": 5, "end_s": 10},
                {"service": "dynamodb", "mode": "latency", "delay_s": 0.2},
            ]
        }
    )

    assert plan.network_mode("sqs", 4.9) == ("pass", 0.0)
    assert plan.network_mode("sqs", 5.0) == ("blackhole", 0.0)
    assert plan.network_mode("sqs", 10.0) == ("pass", 0.0)
    assert plan.network_mode("dynamodb", 99.0) == ("latency", 0.2)
    assert (5, 10) in plan.windows()


@pytest.mark.parametrize(
    ("rule", "message"),
    [({"service": "cognito-idp", "mode": "reset"}, "no fault proxy"), ({"service": "sqs", "mode": "slow"}, "mode")],
)
def test_wrong_network_rule_is_refused(rule: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        FaultPlan.from_dict({"network": [rule]})


def test_schedule_switches_the_proxies_through_the_windows_and_back() -> None:
    from chaos.proxy import FaultProxy
    from chaos.schedule import NetworkSchedule

    now = [0.0]
    plan = FaultPlan.from_dict({"network": [{"service": "sqs", "mode": "reset", "start_s": 5, "end_s": 10}]})
    proxy = FaultProxy("127.0.0.1", 9)
    schedule = NetworkSchedule(plan, {"sqs": proxy}, started_at=0.0, clock=lambda: now[0])

    schedule.apply()
    before = proxy.mode
    now[0] = 6.0
    schedule.apply()
    during = proxy.mode
    schedule.stop()

    assert (before, during, proxy.mode) == ("pass", "reset", "pass")


def test_drop_acknowledges_a_put_and_never_sends_it() -> None:
    journal: list[dict] = []
    injector = FaultInjector(FaultPlan.from_dict({"rule": [{"service": "dynamodb", "operation": "PutItem",
                                                           "kind": "drop"}]}), journal=journal.append)  # fmt: skip
    request = SimpleNamespace(url="http://127.0.0.1:1/", context={}, body=b'{"TableName": "orders", "Item": {}}')

    answer = injector(request, event_name="before-send.dynamodb.PutItem")

    assert answer is not None
    assert answer.status_code == 200
    assert json.loads(b"".join(answer.raw.stream())) == {}
    assert [(f["kind"], f["target"]) for f in journal] == [("drop", "orders")]


def test_drop_acknowledges_a_message_with_the_digest_of_its_body() -> None:
    injector = FaultInjector(FaultPlan.from_dict({"rule": [{"service": "sqs", "operation": "SendMessage",
                                                           "kind": "drop"}]}))  # fmt: skip
    body = json.dumps({"QueueUrl": "http://q/orders", "MessageBody": '{"order_id": "o-1"}'}).encode()
    request = SimpleNamespace(url="http://127.0.0.1:1/", context={}, body=body)

    answer = injector(request, event_name="before-send.sqs.SendMessage")

    assert answer is not None
    acknowledged = json.loads(b"".join(answer.raw.stream()))
    assert acknowledged["MD5OfMessageBody"] == hashlib.md5(b'{"order_id": "o-1"}').hexdigest()  # noqa: S324
    assert acknowledged["MessageId"]


@pytest.mark.parametrize(("service", "operation"), [("dynamodb", "BatchGetItem"), ("sqs", "*"), ("dynamodb", "*")])
def test_drop_is_refused_on_anything_but_the_two_writes(service: str, operation: str) -> None:
    with pytest.raises(PlanError, match="drop applies to dynamodb PutItem and sqs SendMessage only"):
        FaultPlan.from_dict({"rule": [{"service": service, "operation": operation, "kind": "drop"}]})
