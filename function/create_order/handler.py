"""Lambda entry point of ``POST /orders``: parse, create, and map every outcome to HTTP here.

Settings and clients are built once per execution environment, when Lambda imports this
module; an invalid environment fails the cold start with one log line naming the variable.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from create_order import api, deadline, names, tracing
from create_order.adapters.clients import build_clients
from create_order.adapters.dynamodb import DynamoDBOrderRepository, DynamoDBProductCatalog
from create_order.adapters.sqs import SQSOrderPublisher
from create_order.errors import (
    ConfigurationError,
    DependencyError,
    DuplicateRequestError,
    IdempotencyKeyReusedError,
    RequestError,
)
from create_order.logic import OrderService
from create_order.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from create_order.models import Order

    Handler = Callable[[Mapping[str, Any], LambdaContext], dict[str, Any]]

logger = Logger(service=names.SERVICE)
metrics = Metrics(namespace=names.METRICS_NAMESPACE, service=names.SERVICE)
# X-Ray subsegments for the handler and its SDK calls, written without the X-Ray SDK (see tracing.py).
tracer = tracing.Tracer(service=names.SERVICE)

_DEPENDENCY_DETAIL = {
    names.PRODUCTS_TABLE: "The product catalog could not be read",
    names.ORDERS_TABLE: "The order could not be stored",
    names.PROCESSING_QUEUE: "The order was stored but could not be queued for processing",
}


class CreateOrderEndpoint:
    """``POST /orders`` over an :class:`OrderService`: the one place where outcomes become HTTP."""

    def __init__(self, service: OrderService) -> None:
        self._service = service

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
        except DuplicateRequestError as exc:
            metrics.add_metric(name=names.DUPLICATE_REQUESTS, unit=MetricUnit.Count, value=1)
            logger.info("duplicate request; order re-queued", order_id=exc.order["id"])
            body = _problem(exc, request_id)
            body["order"] = exc.order
            return api.respond(409, body, problem=True, location=f"/orders/{exc.order['id']}")
        except IdempotencyKeyReusedError as exc:
            metrics.add_metric(name=names.IDEMPOTENCY_KEY_REUSED, unit=MetricUnit.Count, value=1)
            logger.info("idempotency key reused with another payload", order_id=exc.order_id)
            return api.respond(409, _problem(exc, request_id), problem=True)
        except RequestError as exc:
            metrics.add_metric(name=names.REJECTED_REQUESTS, unit=MetricUnit.Count, value=1)
            logger.info(
                "request rejected",
                status=exc.status,
                problem=exc.slug,
                fields=[problem.field[:100] for problem in exc.errors[:20]],
            )
            return api.respond(exc.status, _problem(exc, request_id), problem=True)
        except DependencyError as exc:
            return _dependency_failure(exc, request_id)
        except Exception:  # the last line of defence: a bug must still answer as a problem
            metrics.add_metric(name=names.UNHANDLED_ERRORS, unit=MetricUnit.Count, value=1)
            logger.exception("unhandled error")
            body = api.problem_body(
                None,
                status=500,
                title="Internal error",
                detail="The order could not be created because of an internal error",
                slug="internal-error",
                request_id=request_id,
            )
            return api.respond(500, body, problem=True)
        _record_created(order)
        return api.respond(201, order.to_public(), problem=False, location=order.location)


def _problem(exc: RequestError, request_id: str) -> dict[str, Any]:
    return api.problem_body(
        exc, status=exc.status, title=exc.title, detail=exc.detail, slug=exc.slug, request_id=request_id
    )


def _dependency_failure(exc: DependencyError, request_id: str) -> dict[str, Any]:
    with single_metric(
        name=names.DEPENDENCY_FAILURES,
        unit=MetricUnit.Count,
        value=1,
        namespace=names.METRICS_NAMESPACE,
        default_dimensions={"service": names.SERVICE},
    ) as metric:
        metric.add_dimension(name=names.DEPENDENCY_DIMENSION, value=exc.dependency)
    metrics.add_metric(name=names.DEPENDENCY_FAILURES, unit=MetricUnit.Count, value=1)
    if exc.order_id is not None:
        metrics.add_metric(name=names.ORDERS_NOT_QUEUED, unit=MetricUnit.Count, value=1)
    logger.error(
        "dependency failed",
        dependency=exc.dependency,
        error_code=exc.code,
        reason=exc.detail,
        order_id=exc.order_id,
    )
    detail = _DEPENDENCY_DETAIL.get(exc.dependency, "A dependency failed")
    if exc.order_id is not None:
        detail = "The order was stored but could not be queued; retry with the same Idempotency-Key"
    body = api.problem_body(
        None,
        status=500,
        title="Dependency failure",
        detail=f"{detail}. Retry later.",
        slug="dependency-failure",
        request_id=request_id,
    )
    body["dependency"] = exc.dependency
    if exc.order_id is not None:
        body["order_id"] = exc.order_id
    return api.respond(500, body, problem=True)


# The "order created" line is also the OrderValue metric: EMF in a structured log line. Per currency
# (a sum of dollars and euros means nothing), so not in the flush of ``metrics``, whose one dimension
# set is {service}; one line instead of a second EMF document saved ~100 us a warm order (BENCHMARKS.md).
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
    service = OrderService(
        catalog=DynamoDBProductCatalog(dynamodb, settings.products_table),
        repository=DynamoDBOrderRepository(dynamodb, settings.orders_table),
        publisher=SQSOrderPublisher(sqs, settings.queue_url, fifo=settings.fifo_queue),
    )
    return CreateOrderEndpoint(service)


def instrument(endpoint: CreateOrderEndpoint) -> Handler:
    """Wrap an endpoint in the Powertools stack: structured logs, EMF metrics, X-Ray."""

    @logger.inject_lambda_context(log_event=False)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return endpoint.handle(event, context)

    return cast("Handler", lambda_handler)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate the environment, logging one line that names a bad variable before failing."""
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as exc:
        logger.error("invalid configuration", variable=exc.variable, reason=exc.reason)  # noqa: TRY400
        raise
    logger.setLevel(settings.log_level)
    return settings


lambda_handler = instrument(build_endpoint(load_settings(os.environ)))
