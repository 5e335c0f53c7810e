"""The function as the local stage runs it: what the template says, and the variables Lambda sets from it.

Built by the stage from ``template.yaml`` (``localstage/local.py``), by the tests and the
benchmarks by hand; read by the worker pool (``localstage/workers.py``), which starts each
execution environment with :meth:`FunctionConfig.variables` over the function's own.
"""

from __future__ import annotations

import platform
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.lambda_context import ACCOUNT_ARN
from harness.platform_log import JSON, LOG_FORMATS, ON_DEMAND, SNAP_START, TEXT, VERSION

if TYPE_CHECKING:
    from pathlib import Path

REGION = "us-east-1"
"""The region of ``ACCOUNT_ARN``: the local account's."""


@dataclass(frozen=True)
class FunctionConfig:
    """What the template says about the function, as the workers need it."""

    code_dir: Path
    """``CodeUri``: the environment's ``LAMBDA_TASK_ROOT`` and working folder."""
    env: dict[str, str]
    """The function's own ``Environment.Variables`` (and the stage's endpoints and credentials)."""
    memory_mb: int = 256
    timeout_s: float = 30.0
    name: str = "order-processing-create-order"
    handler: str = "create_order.handler.lambda_handler"
    runtime: str = "python3.14"
    """``Runtime``: it names the execution environment (``AWS_EXECUTION_ENV``) and its runtime version."""
    architecture: str = "arm64"
    """``Architectures``' one: what Lambda runs the function on (said beside the host's in the banner)."""
    log_format: str = TEXT
    """``LoggingConfig.LogFormat``: ``Text`` (Lambda's default) or ``JSON``."""
    log_level: str | None = None
    """``LoggingConfig.ApplicationLogLevel``, where the template sets one (JSON format only)."""
    log_group: str | None = None
    """``LoggingConfig.LogGroup`` resolved; ``/aws/lambda/<name>`` where the template names none."""
    chaos_plan: str | None = None
    """A fault plan (chaos/*.toml) installed in every environment, outside the handler."""
    chaos_started_at: float | None = None
    """Wall-clock time the plan's windows count from (default: each environment's start)."""

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"LogFormat {self.log_format!r} is none of {', '.join(LOG_FORMATS)}")

    @property
    def arn(self) -> str:
        """The function's ARN, as the runtime is told it was invoked (unqualified: ``$LATEST``)."""
        return f"{ACCOUNT_ARN}:{self.name}"

    def variables(self, runtime_api: str, initialization_type: str = ON_DEMAND) -> dict[str, str]:
        """The variables Lambda sets in an environment of this function, over the function's own.

        ``runtime_api``: the environment's Runtime API (``host:port``). ``_X_AMZN_TRACE_ID`` is
        not among them: the runtime client sets it for each invocation from its trace header.
        Each environment gets a log stream of its own, named as Lambda names them; under SnapStart
        (``initialization_type`` ``snap-start``) neither the log group's nor the stream's name is
        set, as Lambda sets neither in a SnapStart function
        (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html).
        """
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{VERSION}]{uuid.uuid4().hex}"
        variables = {
            **self.env,
            "_HANDLER": self.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": VERSION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group or f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_LOG_FORMAT": self.log_format,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
        if self.log_level and self.log_format == JSON:
            variables["AWS_LAMBDA_LOG_LEVEL"] = self.log_level
        if initialization_type == SNAP_START:
            del variables["AWS_LAMBDA_LOG_GROUP_NAME"], variables["AWS_LAMBDA_LOG_STREAM_NAME"]
        return variables


_MACHINES = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64", "AMD64": "x86_64"}
"""The host's ``platform.machine()`` in Lambda's architecture names."""


def interpreter_line(
    function: FunctionConfig, version: tuple[int, int] = sys.version_info[:2], machine: str = platform.machine()
) -> str:
    """How the environments' interpreter stands to the function's runtime, for the stage's banner.

    Lambda loads the package's ``.pyc``, compiled at build for the runtime's CPython
    (``function/compile_pyc.mjs``). The stage's environments run the host's interpreter on the
    function's source: where it is the runtime's version, that is what Lambda loads; where it is
    not, the ``.pyc`` could not load here, and the line says the figures are the host's CPython's.
    """
    here = f"{version[0]}.{version[1]}"
    host_arch = _MACHINES.get(machine, machine)
    wanted = function.runtime.removeprefix("python")
    arch = "" if host_arch == function.architecture else f"; {host_arch} here, {function.architecture} on Lambda"
    if wanted == here:
        return f"{function.runtime}: the host's CPython {here}, the runtime's version{arch}"
    return (
        f"{function.runtime} on Lambda, CPython {here} here: the package's .pyc (for {wanted}) cannot load on this "
        f"host, so the environments import the function's source with {here}{arch}"
    )
