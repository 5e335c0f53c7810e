"""Drives the stage's fault proxies through a plan's network windows while a run is under way."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chaos.plan import FaultPlan
    from chaos.proxy import FaultProxy


class NetworkSchedule:
    """Sets each proxy's mode from ``plan`` every ``tick_s`` until stopped (then back to ``pass``)."""

    def __init__(
        self,
        plan: FaultPlan,
        proxies: Mapping[str, FaultProxy],
        started_at: float,
        *,
        tick_s: float = 0.2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._plan = plan
        self._proxies = proxies
        self._started_at = started_at
        self._tick_s = tick_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="network-schedule", daemon=True)

    def apply(self) -> None:
        """Set every proxy to the mode the plan gives for now."""
        elapsed = self._clock() - self._started_at
        for service, proxy in self._proxies.items():
            mode, delay = self._plan.network_mode(service, elapsed)
            if (proxy.mode, proxy.delay_s) != (mode, delay):
                proxy.set_mode(mode, delay)

    def start(self) -> NetworkSchedule:
        """Apply the plan in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop applying the plan and let all traffic through again."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for proxy in self._proxies.values():
            proxy.set_mode("pass")

    def _run(self) -> None:
        while not self._stop.wait(self._tick_s):
            self.apply()
