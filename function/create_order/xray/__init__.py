"""X-Ray tracing without the X-Ray SDK, one module per role (see ``create_order.tracing``)."""
