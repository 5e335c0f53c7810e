"""SDK faults for tests: the chaos injector (chaos/inject.py) on one client's operation.

The hook answers in place of the network, so everything above it runs for real:
botocore's parsing, its standard retry mode (and retry quota), the adapters and the handler.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ReadTimeoutError

from chaos.inject import INJECTED, FaultInjector
from chaos.plan import FaultPlan, FaultRule


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
        if request.context.pop(INJECTED, False):
            return None
        return botocore_stubber(event_name, request, **kwargs)

    client.meta.events.register("before-send", moto_unless_faulted)
    client._fault_shield = True


class SdkFault:
    """One chaos rule on one client's operation, for a test: ``times`` attempts (``None``: all).

    ``kind`` is a chaos kind (``error`` with ``code``, ``connection``, ``read-timeout``,
    ``latency``, ``unprocessed-keys``). ``attempts`` counts every attempt of the operation,
    faulted or not.
    """

    def __init__(
        self,
        client: Any,
        operation: str,
        *,
        code: str = "",
        kind: str = "error",
        times: int | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.client = client
        service = client.meta.service_model.service_id.hyphenize()
        self._counter = f"{service}.{operation}"
        _shield_in_process_moto(client)
        code = code or ("InternalServerError" if service == "dynamodb" else "InternalError")
        rule = FaultRule(service, operation, kind, code if kind == "error" else "", count=times, delay_s=delay_s)
        self.injector = FaultInjector(FaultPlan(rules=(rule,)))
        self.injector.install(client)

    @property
    def attempts(self) -> int:
        return self.injector.attempts[self._counter]

    def remove(self) -> None:
        """Stop injecting; later attempts reach the backend."""
        self.injector.uninstall(self.client)


class LostResponse:
    """In-process moto only: the first ``times`` attempts are carried out, then their answer is lost.

    A read timeout after the backend did the work: what a retried write must survive.
    """

    def __init__(self, client: Any, operation: str, *, times: int) -> None:
        self._event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        self._times = times
        self._lost = 0
        self.attempts = 0
        _shield_in_process_moto(client)
        client.meta.events.register_first(self._event, self._lose)

    def _lose(self, request: Any, **_: Any) -> None:
        from moto.core.models import botocore_stubber

        self.attempts += 1
        if self._lost >= self._times:
            return
        self._lost += 1
        botocore_stubber(self._event, request)
        raise ReadTimeoutError(endpoint_url=request.url)


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
