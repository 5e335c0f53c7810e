"""moto's server, with DynamoDB's conditional writes made atomic as the real service's are.

moto checks a ConditionExpression and then writes, with nothing in between to stop another
request thread doing the same: two concurrent PutItems with ``attribute_not_exists(id)`` can
both succeed. DynamoDB evaluates the condition and writes atomically, and the endpoint's
idempotency rests on exactly that, so the stage serialises moto's DynamoDB write operations.
Everything else is moto's own server (``python -m moto.server``).

usage: python -m loadtests.stage.moto_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

if TYPE_CHECKING:
    from collections.abc import Callable

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_write_lock = threading.RLock()


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _write_lock:
            return method(*args, **kwargs)

    return locked


def make_writes_atomic() -> None:
    """Serialise moto's DynamoDB writes (idempotent: wraps once)."""
    for name in WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "_create_order_atomic", False):
            wrapped = _atomic(method)
            wrapped._create_order_atomic = True  # type: ignore[attr-defined]
            setattr(DynamoDBBackend, name, wrapped)


if __name__ == "__main__":
    make_writes_atomic()
    main(sys.argv[1:])
