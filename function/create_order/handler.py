"""Lambda entry point of ``POST /orders``: parse, create, and answer every outcome from one table.

Settings and clients are built once per execution environment, when Lambda imports this
module; an invalid environment fails the cold start with one log line naming the variable.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from create_order import api, deadline, names, snapstart
from create_order.adapters.clients import build_clients
from create_order.adapters.dynamodb import DynamoDBOrderRepository, DynamoDBProductCatalog
from create_order.adapters.sqs import SQSOrderPublisher
from create_order.errors import ConfigurationError
from create_order.logic import OrderService
from create_order.outcomes import answer_to
from create_order.settings import Settings
from create_order.snapstart import SnapshotHooks
from create_order.xray.writer import XRayWriter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from create_order.models import Order

    Handler = Callable[[Mapping[str, Any], LambdaContext], dict[str, Any]]

logger = Logger(service=names.SERVICE)
metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE)
# X-Ray subsegments for the handler and its SDK calls, written without the X-Ray SDK (see xray/).
tracer = XRayWriter(service=names.SERVICE)


class CreateOrderEndpoint:
    """``POST /orders`` over an :class:`OrderService`: the one place where outcomes become HTTP."""

    def __init__(self, service: OrderService, snapshot_hooks: SnapshotHooks | None = None) -> None:
        self._service = service
        self.snapshot_hooks = snapshot_hooks
        """What Lambda SnapStart runs before the snapshot and after each restore (registered only under it)."""

    def handle(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Answer one API Gateway proxy event; never raises, never leaks a stack trace."""
        request_id = _request_id(event, context)
        # API Gateway's request id, as correlation_paths.API_GATEWAY_REST would find it (without a
        # JMESPath search per invocation), or Lambda's when there is none.
        logger.set_correlation_id(request_id)
        token = deadline.start(deadline.Deadline.for_invocation(context.get_remaining_time_in_millis()))
        try:
            return self._create(event, request_id)
        finally:
            deadline.finish(token)

    def _create(self, event: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        try:
            caller = api.caller(event)
            request, key = api.parse_order_request(event)
            order = self._service.create(request, caller, key)
        except Exception as exc:  # noqa: BLE001 - every outcome but 201, a bug too, answers from the table
            return _answer(exc, request_id)
        _record_created(order)
        return api.respond(201, order.to_public(), problem=False, location=order.location)


def _answer(exc: Exception, request_id: str) -> dict[str, Any]:
    """The problem response of a failure, counted, logged and written as the outcome table answers it."""
    answer = answer_to(exc)
    outcome = answer.outcome
    for metric in outcome.metrics:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    if answer.dependency is not None:
        for metric in outcome.by_dependency:
            _count_by_dependency(metric, answer.dependency)
    getattr(logger, outcome.log)(outcome.message, **answer.fields)
    body = api.problem_body(
        answer.errors,
        status=outcome.status,
        title=outcome.title,
        detail=answer.detail,
        slug=outcome.slug,
        request_id=request_id,
    )
    body.update(answer.members)
    return api.respond(outcome.status, body, problem=True, location=answer.location)


def _count_by_dependency(metric: str, dependency: str) -> None:
    # A dimension set of its own, so its own EMF document, written now.
    with single_metric(
        name=metric,
        unit=MetricUnit.Count,
        value=1,
        namespace=names.METRICS_NAMESPACE,
        default_dimensions={"service": names.SERVICE},
    ) as written:
        written.add_dimension(name=names.DEPENDENCY_DIMENSION, value=dependency)


# The "order created" line is also the OrderValue metric: EMF in a structured log line. Per currency
# (a sum of dollars and euros means nothing), so not in the flush of ``metrics``, whose one dimension
# set is {service}; one line instead of a second EMF document saves CPU a warm order (BENCHMARKS.md, T8).
_ORDER_VALUE_DIRECTIVES = (
    {
        "Namespace": names.METRICS_NAMESPACE,
        "Dimensions": [["service", names.CURRENCY_DIMENSION]],
        "Metrics": [{"Name": names.ORDER_VALUE, "Unit": MetricUnit.NoUnit.value}],
    },
)


def _record_created(order: Order) -> None:
    metrics.add_metric(name=names.ORDERS_CREATED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=names.ORDER_LINES, unit=MetricUnit.Count, value=len(order.lines))
    logger.info(
        "order created",
        order_id=order.id,
        customer_id=order.customer_id,
        total=str(order.total),
        currency=order.currency,
        lines=len(order.lines),
        extra={
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": _ORDER_VALUE_DIRECTIVES},
            names.CURRENCY_DIMENSION: order.currency,
            names.ORDER_VALUE: float(order.total),
        },
    )


def _request_id(event: Mapping[str, Any], context: LambdaContext) -> str:
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else context.aws_request_id


def build_endpoint(settings: Settings, clients: tuple[DynamoDBClient, SQSClient] | None = None) -> CreateOrderEndpoint:
    """Wire the endpoint: catalog, repository and publisher over the given (or new) clients."""
    dynamodb, sqs = clients if clients is not None else build_clients()
    for client in (dynamodb, sqs):
        tracer.instrument_client(client)
    catalog = DynamoDBProductCatalog(dynamodb, settings.products_table)
    service = OrderService(
        catalog=catalog,
        repository=DynamoDBOrderRepository(dynamodb, settings.orders_table),
        publisher=SQSOrderPublisher(sqs, settings.queue_url, fifo=settings.fifo_queue),
    )
    return CreateOrderEndpoint(service, SnapshotHooks(service, catalog, (dynamodb, sqs), tracer))


def instrument(endpoint: CreateOrderEndpoint) -> Handler:
    """Wrap an endpoint in the Powertools stack: structured logs, EMF metrics, X-Ray."""

    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return endpoint.handle(event, context)

    wrapped: Handler = lambda_handler  # the decorators return their wrappers untyped
    return wrapped


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate the environment, logging one line that names a bad variable before failing."""
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as exc:
        logger.error("invalid configuration", variable=exc.variable, reason=exc.reason)  # noqa: TRY400
        raise
    logger.setLevel(settings.log_level)
    return settings


_endpoint = build_endpoint(load_settings(os.environ))
lambda_handler = instrument(_endpoint)
if _endpoint.snapshot_hooks is not None:
    _endpoint.snapshot_hooks.instrumented(lambda_handler, logger, metrics)
    snapstart.register(_endpoint.snapshot_hooks, os.environ)
