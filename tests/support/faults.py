"""SDK faults injected at the real client's edge with a botocore ``before-send`` hook.

The hook answers in place of the network, so everything above it runs for real:
botocore's parsing, its standard retry mode (and retry quota), the adapters and the handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


_FAULTED = "create_order_test_fault"
_JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}


def _shield_in_process_moto(client: Any) -> None:
    """Keep moto's in-process stub from also executing an attempt that a fault answered.

    botocore calls every ``before-send`` handler and takes the first answer, so without this
    moto would still carry out (say) a PutItem whose response the fault replaced. Against a
    moto server there is no in-process stub and nothing to do.
    """
    from moto.core.models import botocore_stubber

    if getattr(client, "_fault_shield", False):
        return
    client.meta.events.unregister("before-send", botocore_stubber)

    def moto_unless_faulted(event_name: str, request: Any, **kwargs: Any) -> Any:
        if request.context.pop(_FAULTED, False):
            return None
        return botocore_stubber(event_name, request, **kwargs)

    client.meta.events.register("before-send", moto_unless_faulted)
    client._fault_shield = True


class SdkFault:
    """Answers ``times`` attempts of one operation with a fault (``None``: every attempt).

    ``kind`` is ``"error"`` (an AWS error response with ``code`` and ``status``),
    ``"connection"`` (the endpoint cannot be reached), ``"read-timeout"`` (no answer),
    ``"lost-response"`` (the backend carries the request out, then the answer is lost) or
    ``"unprocessed-keys"`` (BatchGetItem answers with every key unprocessed).
    ``attempts`` counts every attempt of the operation seen, faulted or not.
    """

    def __init__(
        self,
        client: Any,
        operation: str,
        *,
        code: str = "InternalServerError",
        status: int = 500,
        kind: str = "error",
        times: int | None = None,
    ) -> None:
        self.client = client
        self.operation = operation
        self.code = code
        self.status = status
        self.kind = kind
        self.times = times
        self.attempts = 0
        self.injected = 0
        service = client.meta.service_model.service_id.hyphenize()
        self._event = f"before-send.{service}.{operation}"
        _shield_in_process_moto(client)
        client.meta.events.register_first(self._event, self, unique_id=f"fault-{id(self)}")

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.times is not None and self.injected >= self.times:
            return None
        self.injected += 1
        if self.kind == "connection":
            raise EndpointConnectionError(endpoint_url=request.url)
        if self.kind == "read-timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.kind == "lost-response":
            from moto.core.models import botocore_stubber

            botocore_stubber(self._event, request)
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.kind == "unprocessed-keys":
            asked = json.loads(request.body)["RequestItems"]
            body = json.dumps({"Responses": {}, "UnprocessedKeys": asked}).encode()
            return self._answer(request, 200, body)
        body = json.dumps({"__type": self.code, "message": f"injected {self.code}"}).encode()
        return self._answer(request, self.status, body)

    @staticmethod
    def _answer(request: Any, status: int, body: bytes) -> AWSResponse:
        # Marks this attempt (the context dict is shared by all attempts of a call) so the
        # shield keeps moto from also executing it; the shield takes the mark off again.
        request.context[_FAULTED] = True
        return AWSResponse(request.url, status, _JSON_HEADERS, _RawBody(body))

    def remove(self) -> None:
        """Stop injecting; later attempts reach the backend."""
        self.client.meta.events.unregister(self._event, unique_id=f"fault-{id(self)}")


class CallRecorder:
    """Records every API call the clients make (once per call, not per attempt).

    ``calls`` holds ``service:Operation`` (the IAM action), ``params`` the call's parameters.
    """

    def __init__(self, *clients: Any) -> None:
        self.calls: list[str] = []
        self.params: list[dict[str, Any]] = []
        for client in clients:
            client.meta.events.register("before-parameter-build.*.*", self._record)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(f"{model.service_model.endpoint_prefix}:{model.name}")
        self.params.append(dict(params))

    @property
    def actions(self) -> set[str]:
        return set(self.calls)
