"""The rollback alarms judged on made-up metric series, as CloudWatch would (``dashboards.alarm_math``).

The alarms are read from template.yaml itself. A canary that fails every request while the
endpoint takes 0.5 requests a second (10 % of 30 invocations a minute on the live alias: 3
failures a minute) fires the error-rate alarm and not the count of errors; a healthy endpoint
at 500 requests a second with a few failures fires neither; a quiet minute is left out, neither
firing the alarm nor hiding the minutes around it.
"""

from __future__ import annotations

from typing import Any

import pytest

from dashboards import alarm_math, definition
from harness import slo
from tests.support.template import load_template

MINUTES = 5


def _alarm(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = load_template()["Resources"][logical_id]["Properties"]
    return properties


def _minutes(value: float | None, count: int = MINUTES) -> alarm_math.Series:
    return [value] * count


def test_a_broken_canary_at_half_a_request_a_second_fires_the_rate_alarm_and_not_the_count() -> None:
    # 0.5 requests/s on the alias: 30 invocations a minute, the canary's 10 % (3) each answered 500
    series = {
        "invocations": _minutes(30.0),
        "crashes": _minutes(None),
        "failures": _minutes(3.0),
        "bugs": _minutes(None),
    }

    # The share of failed invocations is 10 %, over the 1 % objective, every minute
    assert alarm_math.alarm_series(_alarm("FunctionErrorRateAlarm"), series) == _minutes(0.1)
    assert alarm_math.state(_alarm("FunctionErrorRateAlarm"), series) == "ALARM"
    # while the count of function errors, even counting the 500s as errors, never reaches its 5 a minute
    assert alarm_math.state(_alarm("FunctionErrorsAlarm"), {"Errors": _minutes(3.0)}) == "OK"


def test_a_healthy_endpoint_at_500_requests_a_second_with_a_few_failures_fires_neither() -> None:
    series = {"invocations": _minutes(30_000.0), "crashes": _minutes(1.0), "failures": _minutes(2.0),
              "bugs": _minutes(None)}  # fmt: skip

    assert alarm_math.state(_alarm("FunctionErrorRateAlarm"), series) == "OK"
    assert alarm_math.state(_alarm("FunctionErrorsAlarm"), {"Errors": _minutes(1.0)}) == "OK"


def test_a_failure_share_at_the_objective_does_not_fire_and_just_over_it_does() -> None:
    at = {
        "invocations": _minutes(1000.0),
        "crashes": _minutes(None),
        "failures": _minutes(10.0),
        "bugs": _minutes(None),
    }
    over = {**at, "bugs": _minutes(1.0)}

    assert alarm_math.state(_alarm("FunctionErrorRateAlarm"), at) == "OK"  # 1.0 %: not over 1 %
    assert alarm_math.state(_alarm("FunctionErrorRateAlarm"), over) == "ALARM"  # 1.1 %


def test_a_quiet_minute_is_left_out_neither_firing_nor_hiding_the_minutes_around_it() -> None:
    alarm = _alarm("FunctionErrorRateAlarm")
    quiet = slo.MIN_INVOCATIONS_FOR_ERROR_RATE - 1
    # Minutes of one failed request out of two: no minute is judged, nothing fires
    lonely = {
        "invocations": _minutes(2.0),
        "crashes": _minutes(1.0),
        "failures": _minutes(None),
        "bugs": _minutes(None),
    }
    assert alarm_math.alarm_series(alarm, lonely) == _minutes(None)
    assert alarm_math.state(alarm, lonely) == "INSUFFICIENT_DATA"
    # A failing minute, a quiet one, a failing one: the two failing minutes fire it, the quiet one between is left out
    around = {"invocations": [30.0, float(quiet), 30.0], "crashes": [0.0, float(quiet), 0.0],
              "failures": [6.0, 0.0, 6.0], "bugs": [None, None, None]}  # fmt: skip
    assert alarm_math.alarm_series(alarm, around) == [0.2, None, 0.2]
    assert alarm_math.state(alarm, around) == "ALARM"


def test_the_rate_alarm_watches_the_alias_and_rolls_a_deploy_back() -> None:
    template = load_template()
    function = template["Resources"]["CreateOrderFunction"]["Properties"]
    alarm = _alarm("FunctionErrorRateAlarm")

    assert {"Ref": "FunctionErrorRateAlarm"} in function["DeploymentPreference"]["Alarms"]
    assert "FunctionErrorRateAlarm" in definition.ROLLBACK_ALARMS
    assert alarm["Threshold"] == slo.SERVER_ERROR_RATIO
    assert f"invocations >= {slo.MIN_INVOCATIONS_FOR_ERROR_RATE}" in alarm["Metrics"][-1]["Expression"]
    assert alarm["TreatMissingData"] == "missing"


def test_the_no_orders_alarm_fires_on_traffic_without_orders_only() -> None:
    alarm = _alarm("NoOrdersAlarm")

    assert alarm_math.state(alarm, {"invocations": [25.0], "orders": [None]}) == "ALARM"
    assert alarm_math.state(alarm, {"invocations": [25.0], "orders": [3.0]}) == "OK"
    assert alarm_math.state(alarm, {"invocations": [5.0], "orders": [None]}) == "OK"  # too quiet to judge


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a + b * 2", [5.0, None]),
        ("(a + b) * 2", [6.0, None]),
        ("a - b - 1", [-2.0, None]),  # left to right
        ("IF(a > 1, a, 0)", [0.0, 3.0]),
        ("IF(a > 1, a)", [None, 3.0]),
        ("FILL(b, 7) / a", [2.0, 7 / 3]),
        ("a >= 1 AND FILL(b, 0) == 0", [0.0, 1.0]),
        ("a / 0", [None, None]),
    ],
)
def test_metric_math_point_by_point(expression: str, expected: alarm_math.Series) -> None:
    assert alarm_math.evaluate(expression, {"a": [1.0, 3.0], "b": [2.0, None]}) == expected


def test_an_expression_it_cannot_read_is_refused_not_guessed() -> None:
    with pytest.raises(alarm_math.MathError, match="RATE with 1 arguments is not evaluated here"):
        alarm_math.evaluate("RATE(a)", {"a": [1.0]})
    with pytest.raises(alarm_math.MathError, match="no series for 'c'"):
        alarm_math.evaluate("a + c", {"a": [1.0]})
