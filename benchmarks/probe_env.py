"""The environment a probe runs in: no AWS, Powertools or Python settings of the caller's, then ``ENV``.

Shared by ``benchmarks.run`` (every in-process figure) and ``benchmarks.e2e`` (the SDK calls
recorded for the backend-only row).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "ORDERS_TABLE": "orders",
    "PRODUCTS_TABLE": "products",
    "PROCESSING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/order-processing",
    "AWS_LAMBDA_FUNCTION_NAME": "order-processing-create-order-dev",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "LAMBDA_TASK_ROOT": str(ROOT / "function"),
    "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "POWERTOOLS_DEV": "false",
    "PYTHONPATH": os.pathsep.join((str(ROOT / "function"), str(ROOT))),
}


CPU_HEADER = "x-bench-cpu-us"
"""A SnapStart environment's answer header: the CPU the function took for the invocation (all its threads)."""
SNAPSTART_UNPRIMED = "BENCH_SNAPSTART_UNPRIMED"
"""Set in a SnapStart environment: the function's before-snapshot hook removed (``benchmarks.snapstart_handler``)."""


def bench_env(*, xray: bool, pyc_prefix: str | None, write_pyc: bool) -> dict[str, str]:
    """A probe's environment: this one without AWS, Powertools and Python settings, then ``ENV``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env |= ENV | {"POWERTOOLS_TRACE_DISABLED": "false" if xray else "true"}
    if pyc_prefix is not None:
        env["PYTHONPYCACHEPREFIX"] = pyc_prefix
    if not write_pyc:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
