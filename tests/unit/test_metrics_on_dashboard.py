"""The handler's metrics and the dashboard name the same things: EMF output held to the definition.

One sweep drives the real handler through every outcome and reads the EMF it printed; the
dashboard and the alarms must show each metric it emitted (same namespace, name and dimension
names), each emitted metric must carry a CloudWatch unit, and every custom metric the dashboard
or an alarm names must be one the handler emitted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from create_order import names
from dashboards.definition import Facts, alarms, dashboard_body, watched_metrics
from harness.lambda_context import FakeLambdaContext
from tests.support.cloudwatch_body import metrics_of
from tests.support.events import api_event, order_body
from tests.support.faults import SdkFault
from tests.support.template import load_template

# CloudWatch's StandardUnit values.
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
UNITLESS = {names.ORDER_VALUE: "money: CloudWatch has no currency unit, so the currency is a dimension"}
"""Metrics allowed the unit ``None``, each with its reason."""
_SEARCH = re.compile(r"""SEARCH\('\{([^}]*)\} MetricName="([^"]+)"'""")

Declared = tuple[str, str, frozenset[str]]


def emitted(emf: list[dict[str, Any]]) -> dict[Declared, set[str]]:
    """(namespace, metric, dimension names) -> the units it was declared with."""
    found: dict[Declared, set[str]] = {}
    for blob in emf:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    key = (directive["Namespace"], metric["Name"], frozenset(dimension_set))
                    found.setdefault(key, set()).add(metric.get("Unit", "<missing>"))
    return found


def on_dashboard() -> set[Declared]:
    """Every custom metric the dashboard draws or an alarm watches."""
    body = dashboard_body(Facts.from_template(load_template()))
    shown: set[Declared] = {(m.namespace, m.name, frozenset(k for k, _ in m.dimensions)) for m in metrics_of(body)}
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if match := _SEARCH.match(line[-1].get("expression", "") if isinstance(line[-1], dict) else ""):
                namespace, *dims = match.group(1).split(",")
                shown.add((namespace, match.group(2), frozenset(dims)))
    for spec in alarms().values():
        for metric in watched_metrics(spec):
            dims = frozenset(d["Name"] for d in metric.get("Dimensions", []))
            shown.add((metric["Namespace"], metric["MetricName"], dims))
    return {key for key in shown if key[0] == names.METRICS_NAMESPACE}


@pytest.fixture
def sweep(backend, invoke, output, monkeypatch) -> dict[Declared, set[str]]:
    """The handler through every outcome, from a cold start; what it emitted."""
    from create_order import logic

    monkeypatch.setattr("aws_lambda_powertools.metrics.provider.cold_start.is_cold_start", True)

    def post(product: str, key: str, quantity: int = 1) -> int:
        body = order_body(items=[{"product_id": product, "quantity": quantity}])
        return invoke(api_event(body, headers={"Idempotency-Key": key}), FakeLambdaContext()).status

    statuses = [post("P-100", "sweep-1"), post("P-EUR", "sweep-2")]  # 201 (a cold start), 201 in EUR
    statuses += [post("P-100", "sweep-1"), post("P-100", "sweep-1", quantity=3)]  # 409 duplicate, 409 reuse
    statuses.append(invoke(api_event(order_body(items=[]))).status)  # 400
    products = SdkFault(backend.dynamodb, "BatchGetItem", code="InternalServerError")
    statuses.append(post("P-HALF", "sweep-3"))  # 500 ProductsTable (not yet in the catalog cache)
    products.remove()
    orders = SdkFault(backend.dynamodb, "PutItem", code="InternalServerError")
    statuses.append(post("P-100", "sweep-4"))  # 500 OrdersTable
    orders.remove()
    SdkFault(backend.sqs, "SendMessage", code="InternalError")
    statuses.append(post("P-100", "sweep-5"))  # 500 ProcessingQueue: stored, not queued

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(logic, "request_hash", broken)
    statuses.append(post("P-100", "sweep-6"))  # 500 unhandled
    assert statuses == [201, 201, 409, 409, 400, 500, 500, 500, 500]
    return emitted(output().emf)


def test_the_sweep_reaches_every_metric_the_names_module_declares(sweep) -> None:
    # Given the metric names the function declares
    declared = {
        value for name, value in vars(names).items()
        if name.isupper() and isinstance(value, str) and value[:1].isupper() and name not in (
            "SERVICE", "METRICS_NAMESPACE", "PRODUCTS_TABLE", "ORDERS_TABLE", "PROCESSING_QUEUE",
            "DEPENDENCY_DIMENSION", "CURRENCY_DIMENSION", "ORDER_CREATED_EVENT")
    }  # fmt: skip
    # Then each was emitted by the sweep (a new metric needs its outcome here)
    assert declared <= {metric for _, metric, _ in sweep}


def test_every_metric_the_handler_emits_is_on_the_dashboard(sweep) -> None:
    missing = set(sweep) - on_dashboard()
    assert not missing, f"emitted but not on the dashboard (namespace, metric, dimensions): {sorted(missing)}"


def test_every_custom_metric_on_the_dashboard_is_one_the_handler_emits(sweep) -> None:
    phantom = on_dashboard() - set(sweep)
    assert not phantom, f"on the dashboard or an alarm but never emitted: {sorted(phantom)}"


def test_every_emitted_metric_has_a_cloudwatch_unit(sweep) -> None:
    for (_, metric, _), units in sweep.items():
        assert len(units) == 1, f"{metric} is emitted with several units {units}"
        [unit] = units
        assert unit in UNITS, f"{metric}: {unit!r} is not a CloudWatch unit"
        assert unit != "None" or metric in UNITLESS, f"{metric} has no unit; give it one or say why in UNITLESS"


def test_a_metric_renamed_in_the_function_only_is_caught(sweep, monkeypatch) -> None:
    # Given the function emits a metric under a new name the dashboard does not know
    renamed = {(ns, "OrdersMade" if metric == names.ORDERS_CREATED else metric, dims) for ns, metric, dims in sweep}
    # Then the cross-check sees both sides differ
    assert renamed - on_dashboard()
    assert on_dashboard() - renamed
