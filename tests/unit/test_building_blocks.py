"""Money arithmetic, strict JSON, the deadline's hold on retries, the one-way import graph."""

from __future__ import annotations

import ast
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from create_order import deadline, jsonio, money
from create_order.adapters import clients

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("2.345", "USD", "2.34"),
        ("2.355", "USD", "2.36"),
        ("2.3450001", "USD", "2.35"),
        ("-2.345", "USD", "-2.34"),
        ("1234.5", "JPY", "1234"),
        ("1235.5", "JPY", "1236"),
        ("1.0005", "BHD", "1.000"),
        ("1.0015", "BHD", "1.002"),
        ("10", "EUR", "10.00"),
    ],
)
def test_rounding_is_half_even_to_the_minor_unit(amount: str, currency: str, rounded: str) -> None:
    result = money.round_to_minor_unit(Decimal(amount), currency)

    assert str(result) == rounded


def test_line_total_rounds_once_after_multiplying() -> None:
    # 0.005 x 3 = 0.015 -> 0.02 (rounding the unit price first would give 0.00)
    assert money.line_total(Decimal("0.005"), 3, "USD") == Decimal("0.02")


def test_order_total_is_the_sum_of_rounded_lines() -> None:
    lines = [money.line_total(Decimal("0.125"), 1, "USD"), money.line_total(Decimal("0.125"), 1, "USD")]

    # 0.12 + 0.12, not the rounded sum of the unrounded lines (0.25)
    assert money.order_total(lines, "USD") == Decimal("0.24")


def test_decimal_is_serialised_with_its_exact_digits() -> None:
    value = Decimal("12345678901234567.89")  # more digits than a float keeps

    assert jsonio.dumps({"total": value}) == '{"total":12345678901234567.89}'


@pytest.mark.parametrize("encode", [jsonio.dumps, jsonio.dumps_written_out], ids=["fast", "written-out"])
def test_a_decimal_with_an_exponent_is_written_in_plain_digits(encode) -> None:
    assert encode([Decimal("1E+2"), Decimal("1E-7"), Decimal("-0.00")]) == "[100,0.0000001,-0.00]"


@pytest.mark.parametrize("encode", [jsonio.dumps, jsonio.dumps_written_out], ids=["fast", "written-out"])
@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf")])
def test_non_finite_numbers_are_refused_on_output(encode, value) -> None:
    with pytest.raises(ValueError, match=r"^a non-finite number has no JSON form$"):
        encode([value])


@pytest.mark.parametrize("encode", [jsonio.dumps, jsonio.dumps_written_out], ids=["fast", "written-out"])
def test_a_value_without_a_json_form_is_refused_by_its_type(encode) -> None:
    with pytest.raises(TypeError, match=r"^bytes has no JSON form$"):
        encode({"a": [b"raw"]})


def test_strings_are_escaped_to_ascii_on_output() -> None:
    assert jsonio.dumps(['\u2028"\\\u00e9']) == '["\\u2028\\"\\\\\\u00e9"]'


def test_serialisation_matches_the_standard_library_for_plain_values() -> None:
    import json

    value = {"a": [1, 2.5, None, True, False, "x"], "b": {"c": -0.0, "d": 10**30}}

    assert jsonio.loads(jsonio.dumps(value)) == value
    assert jsonio.dumps(value) == json.dumps(value, separators=(",", ":"))


_json_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False) | st.text() | st.sampled_from(["\ufdd0", '"\ufdd0"'])
)  # fmt: skip
_json_values = st.recursive(
    _json_leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_fast_serialisation_writes_exactly_what_the_written_out_encoder_writes(value) -> None:
    # The C encoder with Decimals spliced in, including values whose strings hold the splice mark
    assert jsonio.dumps(value) == jsonio.dumps_written_out(value)


def test_retry_is_vetoed_when_it_could_outlive_the_deadline() -> None:
    # Given an invocation with less than one backoff plus one attempt left
    token = deadline.start(deadline.Deadline(time.monotonic() + clients.ATTEMPT_BUDGET_S + 0.5))
    try:
        # Then a retry after the first attempt (backoff up to 1 s) is refused...
        assert clients._veto_retry_past_deadline(attempts=1) is False
    finally:
        deadline.finish(token)
    # ... while with time to spare the decision is left to botocore's standard retries
    assert clients._veto_retry_past_deadline(attempts=1) is None


NOW = 1000.0


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline's monotonic clock stands at ``NOW``: a deadline's time left is exact."""
    monkeypatch.setattr(deadline, "time", SimpleNamespace(monotonic=lambda: NOW))


@pytest.mark.parametrize(
    ("left_s", "attempts", "retry"),
    [
        (5.0, 1, True),  # the first backoff (up to 1 s) and one more attempt (4 s) just fit
        (4.5, 1, False),
        (6.0, 2, True),  # the second backoff is up to 2 s
        (5.5, 2, False),
        (24.0, 6, True),  # a backoff is never more than 20 s
        (23.5, 6, False),
    ],
)
@pytest.mark.usefixtures("stopped_clock")
def test_a_retry_goes_ahead_only_with_time_for_its_backoff_and_one_attempt(
    left_s: float, attempts: int, retry: bool
) -> None:
    token = deadline.start(deadline.Deadline(NOW + left_s))
    try:
        decision = clients._veto_retry_past_deadline(attempts=attempts)
    finally:
        deadline.finish(token)

    assert decision is (None if retry else False)


@pytest.mark.parametrize(("remaining_ms", "budget_s"), [(10_000, 8.0), (6_500, 4.5), (900_000, 27.0)])
@pytest.mark.usefixtures("stopped_clock")
def test_an_invocations_budget_is_its_time_left_within_api_gateways_limit_less_the_reserve(
    remaining_ms: int, budget_s: float
) -> None:
    assert deadline.Deadline.for_invocation(remaining_ms).remaining() == budget_s


def test_invocation_deadline_stays_inside_api_gateways_limit() -> None:
    # A 900 s Lambda timeout still answers within API Gateway's 29 s, less the reserve
    remaining = deadline.Deadline.for_invocation(900_000).remaining()

    assert remaining <= deadline.API_GATEWAY_TIMEOUT_S - deadline.RESPONSE_RESERVE_S
    assert remaining > deadline.API_GATEWAY_TIMEOUT_S - deadline.RESPONSE_RESERVE_S - 1


def test_worst_case_retries_fit_inside_api_gateways_limit() -> None:
    # One dependency call with every attempt timing out and the largest backoffs fits; three
    # such calls in a row would not, and the deadline veto is what keeps those inside 29 s.
    worst_per_call = clients.MAX_ATTEMPTS * clients.ATTEMPT_BUDGET_S + sum(
        2.0 ** (n - 1) for n in range(1, clients.MAX_ATTEMPTS)
    )
    assert worst_per_call < deadline.API_GATEWAY_TIMEOUT_S - deadline.RESPONSE_RESERVE_S


ALLOWED_TOP_LEVEL = {
    "__future__", "base64", "binascii", "collections", "contextvars", "dataclasses", "datetime",
    "decimal", "hashlib", "json", "math", "os", "random", "re", "time", "typing", "urllib", "uuid",
    "contextlib", "functools", "platform", "socket", "traceback", "io", "logging",
    "botocore", "aws_lambda_powertools", "mypy_boto3_dynamodb",
    "mypy_boto3_sqs", "create_order",
    "snapshot_restore_py",  # SnapStart's hooks: part of Lambda's Python managed runtimes, imported only under SnapStart
}  # fmt: skip


def test_function_imports_only_the_runtime_and_itself() -> None:
    # The Lambda package must run without the harness (tests, load tests, chaos, dashboards).
    imported: set[str] = set()
    for path in (FUNCTION_DIR / "create_order").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])

    assert imported <= ALLOWED_TOP_LEVEL, imported - ALLOWED_TOP_LEVEL


class _Sent(Exception):  # noqa: N818 - a signal, not an error
    pass


def test_clients_send_their_fixed_user_agent_not_botocores_rebuilt_one(monkeypatch) -> None:
    # botocore rebuilds its User-Agent on every request unless the client config fixes one
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    dynamodb, sqs = clients.build_clients()
    sent: list[str] = []

    def capture(request, **_) -> None:
        sent.append(request.headers["User-Agent"])
        raise _Sent

    for client in (dynamodb, sqs):
        client.meta.events.register("before-send", capture)
    with pytest.raises(_Sent):
        dynamodb.describe_limits()
    with pytest.raises(_Sent):
        sqs.list_queues()

    agents = [str(agent, "ascii") if isinstance(agent, bytes) else agent for agent in sent]
    assert len(agents) == 2
    # (Powertools, once imported, appends its own tag to every SDK request's agent)
    assert all(agent.startswith(clients.USER_AGENT) for agent in agents)
    assert not any("ua/2.1" in agent or " md/" in agent for agent in agents)  # botocore's built string
    assert clients.USER_AGENT.startswith("create-order botocore/")


@settings(max_examples=300, deadline=None)
@given(st.uuids(), st.text())
def test_order_ids_are_the_standard_uuid5_of_the_customer_and_key(namespace, name) -> None:
    import uuid

    from create_order.logic import uuid5_text

    assert uuid5_text(namespace, name) == str(uuid.uuid5(namespace, name))
