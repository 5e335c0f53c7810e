"""The stage's knobs: the template's parameters as the local stage honours them, and its throttle."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from harness.template import load_template
from localstage.knobs import HONOURED, NOT_EMULATED, Knobs
from localstage.resources import create_resources
from localstage.samconfig import parameter_overrides
from localstage.throttle import TokenBucket


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_burst_at_once_then_refuses() -> None:
    bucket = TokenBucket(rate=2, burst=3, clock=_Clock())

    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_a_bucket_refills_at_its_rate_and_never_past_its_burst() -> None:
    clock = _Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    while bucket.take():
        pass
    clock.now += 0.5  # one token at 2 a second
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # an idle minute fills the bucket to its burst, no more
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (10, 0)])
def test_a_bucket_that_could_never_pass_a_request_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate=rate, burst=burst)


def test_the_defaults_are_the_templates_nothing_provisioned_nor_reserved() -> None:
    parameters = load_template()["Parameters"]

    knobs = Knobs.from_template(load_template())

    assert (knobs.provisioned, knobs.reserved, knobs.snapstart) == (0, None, False)
    assert (knobs.rate, knobs.burst) == (
        parameters["ApiThrottlingRateLimit"]["Default"],
        parameters["ApiThrottlingBurstLimit"]["Default"],
    )
    assert knobs.concurrency(100) == 100


def test_an_environments_values_turn_the_knobs() -> None:
    values = {**parameter_overrides("prod"), "ProvisionedConcurrency": "3", "ReservedConcurrency": "20",
              "ApiThrottlingRateLimit": "50", "ApiThrottlingBurstLimit": "80"}  # fmt: skip

    knobs = Knobs.from_template(load_template(), values)

    assert knobs == Knobs(provisioned=3, reserved=20, rate=50, burst=80)
    assert knobs.concurrency(100) == 20  # reserved concurrency caps the environments
    assert knobs.concurrency(8) == 8


def test_a_value_the_template_refuses_is_refused_by_the_stage_too() -> None:
    with pytest.raises(ValueError, match="ReservedConcurrency"):
        Knobs.from_template(load_template(), {"ReservedConcurrency": "0"})


def test_every_parameter_is_honoured_or_named_as_not_emulated() -> None:
    parameters = set(load_template()["Parameters"])

    assert set(HONOURED) | set(NOT_EMULATED) == parameters
    assert not set(HONOURED) & set(NOT_EMULATED)


def test_the_banner_says_what_the_stage_does_and_names_what_it_does_not() -> None:
    knobs = Knobs(provisioned=2, reserved=10, rate=100, burst=200)

    off = knobs.banner(limit=100, throttled=False)
    on = knobs.banner(limit=100, throttled=True)

    assert "2 environments initialised before the first request" in off[0]
    assert "at most 10 environments" in off[1]
    assert off[2].startswith("throttle       off")
    assert "--throttle" in off[2]
    assert on[2] == "throttle       on: 100 requests/s, burst 200 -> 429 THROTTLED"
    assert off[3].startswith("snapstart      off: every new environment initialises")
    for name in NOT_EMULATED:
        assert any(line.startswith("not emulated") and name in line for line in off), name


def test_snapstart_published_versions_turns_restores_on_and_none_leaves_them_off() -> None:
    template = load_template()

    assert Knobs.from_template(template, {"SnapStart": "PublishedVersions"}).snapstart is True
    assert Knobs.from_template(template, {"SnapStart": "None"}).snapstart is False
    assert Knobs.from_template(template).snapstart is False  # the template's default
    # An environment's values: dev turns it on, staging and prod leave it off
    assert Knobs.from_template(template, parameter_overrides("dev")).snapstart is True
    assert Knobs.from_template(template, parameter_overrides("prod")).snapstart is False


def test_the_stage_s_snapstart_option_turns_it_on_whatever_the_values_say() -> None:
    knobs = Knobs.from_template(load_template(), {"SnapStart": "None"}, snapstart=True)

    assert knobs.snapstart is True
    assert knobs.banner(limit=100, throttled=False)[3].startswith("snapstart      on: one environment initialised")


@pytest.mark.parametrize("snapstart_option", [False, True])
def test_snapstart_with_provisioned_concurrency_is_refused_by_the_template_s_rule(snapstart_option: bool) -> None:
    values = {"ProvisionedConcurrency": "2"} | ({} if snapstart_option else {"SnapStart": "PublishedVersions"})

    with pytest.raises(ValueError, match="SnapStartWithoutProvisionedConcurrency"):
        Knobs.from_template(load_template(), values, snapstart=snapstart_option)
    # ... either alone is taken
    assert Knobs.from_template(load_template(), {"ProvisionedConcurrency": "2"}).provisioned == 2


@pytest.mark.parametrize("key", ["false", "true"])
def test_the_stage_stands_up_with_the_key_on_or_off(key: str) -> None:
    # Given the template with the customer-managed key turned on or off (prod and staging turn it on)
    with mock_aws():
        # When the stage creates its resources from it
        created = create_resources(load_template(), parameters={"CustomerManagedKey": key})

        # Then it stands up: the key is named as not emulated, and the queues get plain attributes, never an Fn::If
        sqs = boto3.client("sqs")
        for queue in ("ProcessingQueue", "ProcessingDLQ"):
            attributes = sqs.get_queue_attributes(QueueUrl=created.physical[queue], AttributeNames=["All"])[
                "Attributes"
            ]
            assert attributes["SqsManagedSseEnabled"] == "true", queue  # moto's default too: SSE-SQS
            assert "KmsMasterKeyId" not in attributes, queue
        assert "CustomerManagedKey" in NOT_EMULATED
