"""Names that cross a boundary (metrics, dashboards, the template): one definition each."""

from __future__ import annotations

SERVICE = "create-order"
METRICS_NAMESPACE = "OrderProcessing"

# Dependencies, named as the template's logical ids; also the values of the Dependency dimension.
PRODUCTS_TABLE = "ProductsTable"
ORDERS_TABLE = "OrdersTable"
PROCESSING_QUEUE = "ProcessingQueue"
DEPENDENCIES = (PRODUCTS_TABLE, ORDERS_TABLE, PROCESSING_QUEUE)

# Custom metrics (EMF, namespace METRICS_NAMESPACE, dimension service=SERVICE).
ORDERS_CREATED = "OrdersCreated"
"""Count: orders stored and queued (201)."""
ORDER_VALUE = "OrderValue"
"""None (CloudWatch has no money unit): each created order's total, per CURRENCY_DIMENSION."""
ORDER_LINES = "OrderLines"
"""Count: lines in each created order."""
DUPLICATE_REQUESTS = "DuplicateRequests"
"""Count: repeats of an already created order (409 duplicate; the order is re-queued)."""
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
"""Count: keys sent again with a different payload (409 reuse)."""
REJECTED_REQUESTS = "RejectedRequests"
"""Count: requests refused as sent (400, 401, 403, 413, 415)."""
DEPENDENCY_FAILURES = "DependencyFailures"
"""Count: a dependency failed after bounded retries (500); also emitted per DEPENDENCY_DIMENSION."""
ORDERS_NOT_QUEUED = "OrdersNotQueued"
"""Count: orders stored but not queued (500 with order_id); they heal on a retry with the key."""
UNHANDLED_ERRORS = "UnhandledErrors"
"""Count: bugs caught by the handler's last line of defence (500)."""
DEPENDENCY_DIMENSION = "Dependency"
CURRENCY_DIMENSION = "Currency"

ORDER_CREATED_EVENT = "OrderCreated"
"""Value of the queue message attribute ``event_type``."""
EVENT_TYPE_ATTRIBUTE = "event_type"
