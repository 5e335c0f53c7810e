"""The real function under SnapStart, with a window on what each restored environment holds.

The handler is create-order's own (``create_order.handler.lambda_handler``, its snapshot hooks
registered at import as on Lambda); the probe answers with the function's answer and, beside it,
what makes the environment its own: its pid and the snapshot's, the next draws of the retry
jitter, and the local ports of the connections its SDK clients hold.

``PROBE_WITHOUT_AFTER_RESTORE`` set in the function's variables removes the function's
after-restore hook before the snapshot is taken: what a function not ready for SnapStart is.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import snapshot_restore_py

from create_order import handler as function
from create_order.adapters.dynamodb import JITTER

WITHOUT_AFTER_RESTORE = "PROBE_WITHOUT_AFTER_RESTORE"
HOLD = "probe_hold_s"
"""The event's key: seconds the environment stays busy after the order (taken out before the function sees it)."""

if os.environ.get(WITHOUT_AFTER_RESTORE):
    snapshot_restore_py.get_after_restore().clear()


def _pooled_ports(client: Any) -> list[int]:
    """The local ports of the connections ``client`` keeps open (botocore's urllib3 pools)."""
    ports = []
    manager = client._endpoint.http_session._manager
    for key in list(manager.pools.keys()):
        pool = manager.pools.get(key)
        for connection in list(getattr(pool.pool, "queue", [])) if pool is not None else []:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                ports.append(sock.getsockname()[1])
    return sorted(ports)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function's answer, and the environment's own state beside it."""
    hooks = function._endpoint.snapshot_hooks
    assert hooks is not None
    jitter = [JITTER.random() for _ in range(3)]  # before the order: what the snapshot left, or the reseed
    hold_s = float(event.pop(HOLD, 0))
    answer = function.lambda_handler(event, context)
    time.sleep(hold_s)  # the environment kept busy, so that orders sent together each get one of their own
    seen = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "jitter": jitter,
        "ports": [port for client in hooks._clients for port in _pooled_ports(client)],
        "status": answer["statusCode"],
        "order": json.loads(answer["body"]),
    }
    return {"statusCode": 200, "body": json.dumps(seen)}
