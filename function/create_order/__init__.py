"""create-order: the ``POST /orders`` Lambda function (entry point ``create_order.handler``)."""
