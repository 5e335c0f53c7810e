"""The processing queue: one ``OrderCreated`` message per send, FIFO or standard by the URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from create_order import jsonio
from create_order.adapters.clients import dependency_failure, ensure_time_for
from create_order.names import EVENT_TYPE_ATTRIBUTE, ORDER_CREATED_EVENT, PROCESSING_QUEUE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from create_order.models import Order

_ATTRIBUTES = {EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": ORDER_CREATED_EVENT}}


class SQSOrderPublisher:
    """Sends order events; on a FIFO queue grouped by customer and de-duplicated by order id."""

    def __init__(self, client: SQSClient, queue_url: str, *, fifo: bool) -> None:
        self._client = client
        self._queue_url = queue_url
        self._fifo = fifo

    def publish(self, order: Order) -> None:
        """Send the order's ``OrderCreated`` message.

        Raises:
            DependencyError: the queue did not accept it after bounded retries.
        """
        params: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MessageBody": jsonio.dumps(order.to_message()),
            "MessageAttributes": _ATTRIBUTES,
        }
        if self._fifo:
            params["MessageGroupId"] = order.customer_id
            params["MessageDeduplicationId"] = order.id
        ensure_time_for(PROCESSING_QUEUE)
        try:
            self._client.send_message(**params)
        except (ClientError, BotoCoreError) as exc:
            raise dependency_failure(PROCESSING_QUEUE, exc) from exc
