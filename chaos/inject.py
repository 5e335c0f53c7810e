"""The injector: a botocore ``before-send`` hook that answers an attempt with a fault.

Installed on the real clients, it stands where the network would be, so botocore's own
retry logic (standard mode, retry quota), the adapters and the handler all run for real.
For the stage's workers it is installed from outside the handler, before the handler module
is imported, through botocore's built-in handler list, which every new client copies.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from chaos.plan import FaultPlan, FaultRule

INJECTED = "chaos_injected"
"""Set in the request context of an attempt the injector answered with a response."""
JOURNAL_KEY = "chaos_fault"
"""The key of the JSON line a journaled fault is written as (the local dashboard and the chaos report read it)."""


def journal_line(fault: dict[str, Any], request_id: str | None) -> str:
    """A journaled fault as the workers' logs hold it: one JSON line, with the invocation's request id."""
    return json.dumps({JOURNAL_KEY: {**fault, "request_id": request_id}}) + "\n"


def read_journal(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every fault journaled in ``paths`` (the workers' logs), in no particular order."""
    faults = []
    for path in paths:
        with path.open(errors="replace") as lines:
            for line in lines:
                if JOURNAL_KEY in line and line.startswith("{"):
                    try:
                        faults.append(json.loads(line)[JOURNAL_KEY])
                    except (ValueError, KeyError):
                        continue  # a line cut short by a killed environment
    return faults


def resource_named(body: dict[str, Any]) -> str:
    """The table or queue a DynamoDB or SQS JSON request names (tables joined by ',' for a batch)."""
    if "TableName" in body:
        return str(body["TableName"])
    if "QueueUrl" in body:
        return str(body["QueueUrl"]).rsplit("/", 1)[-1]
    tables = body.get("RequestItems") or {}
    return ",".join(sorted(tables)) if isinstance(tables, dict) else ""


def _target(request: Any) -> str:
    try:
        return resource_named(json.loads(request.body or b"{}"))
    except (TypeError, ValueError):
        return ""


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _acknowledgement(request: Any) -> dict[str, Any]:
    """What a successful PutItem or SendMessage answers (the write itself is dropped)."""
    body = json.loads(request.body or b"{}")
    if "MessageBody" not in body:
        return {}
    digest = hashlib.md5(body["MessageBody"].encode(), usedforsecurity=False).hexdigest()
    return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": digest}


def json_response(request: Any, status: int, body: dict[str, Any], *, request_id: str) -> AWSResponse:
    """An AWS JSON-protocol answer to ``request``, as a ``before-send`` hook returns one."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}
    # botocore-stubs asks for HTTPHeaders; AWSResponse wraps any mapping in a HeadersDict.
    return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))  # type: ignore[arg-type]


class FaultInjector:
    """Applies a :class:`FaultPlan` to every attempt it sees; counts what it did."""

    def __init__(
        self,
        plan: FaultPlan,
        *,
        started_at: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        journal: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.plan = plan
        self._clock = clock
        self._sleep = sleep
        self._started_at = clock() if started_at is None else started_at
        self._rng = rng or random.Random()  # noqa: S311 - fault sampling, not secrets
        self._journal = journal
        """Given each fault injected, as a dict (the stage's workers write it to their log with the request id)."""
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.injected: Counter[int] = Counter()

    def __call__(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        """The ``before-send`` hook."""
        service, operation = ([*event_name.split("."), "", "", ""])[1:3]
        elapsed = self._clock() - self._started_at
        with self._lock:
            self.attempts[f"{service}.{operation}"] += 1
            rule_index = self._choose(service, operation, elapsed)
        if rule_index is None:
            return None
        rule = self.plan.rules[rule_index]
        if self._journal is not None:
            fault = {"ts": round(self._clock(), 4), "service": service, "operation": operation, "kind": rule.kind}
            fault["target"] = _target(request)
            if rule.kind == "error":
                fault.update(code=rule.code, status=rule.status)
            self._journal(fault)
        return self._apply(rule, request)

    def _choose(self, service: str, operation: str, elapsed: float) -> int | None:
        for index, rule in enumerate(self.plan.rules):
            if not rule.matches(service, operation, elapsed):
                continue
            if rule.count is not None and self.injected[index] >= rule.count:
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            self.injected[index] += 1
            return index
        return None

    def _apply(self, rule: FaultRule, request: Any) -> AWSResponse | None:
        if rule.kind == "latency":
            self._sleep(rule.delay_s)
            return None
        if rule.kind == "connection":
            raise EndpointConnectionError(endpoint_url=request.url)
        if rule.kind == "read-timeout":
            self._sleep(rule.delay_s)
            raise ReadTimeoutError(endpoint_url=request.url)
        if rule.kind == "drop":
            return self._answer(request, 200, _acknowledgement(request))
        if rule.kind == "unprocessed-keys":
            asked = json.loads(request.body)["RequestItems"]
            return self._answer(request, 200, {"Responses": {}, "UnprocessedKeys": asked})
        return self._answer(request, rule.status, {"__type": rule.code, "message": f"chaos: {rule.code}"})

    @staticmethod
    def _answer(request: Any, status: int, body: dict[str, Any]) -> AWSResponse:
        request.context[INJECTED] = True
        return json_response(request, status, body, request_id="chaos")

    def install(self, client: Any) -> None:
        """Answer ``client``'s attempts (registered first, ahead of any other sender)."""
        client.meta.events.register_first("before-send", self, unique_id=f"chaos-{id(self)}")

    def uninstall(self, client: Any) -> None:
        """Stop answering ``client``'s attempts."""
        client.meta.events.unregister("before-send", unique_id=f"chaos-{id(self)}")

    def install_for_new_clients(self) -> None:
        """Answer the attempts of every client created from now on in this process."""
        from botocore import handlers  # noqa: PLC0415 - only the stage's workers need this

        handlers.BUILTIN_HANDLERS.insert(0, ("before-send", self))
