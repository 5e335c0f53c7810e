"""API Gateway's stage throttle, locally: a token bucket at the template's rate and burst.

The bucket holds ``burst`` tokens and gains ``rate`` a second; each request takes one, and a
request that finds none is answered 429 (the template's ``THROTTLED`` gateway response) without
reaching the function. API Gateway's own bucket is spread over its fleet and only approximately
this one; the shape of the answer is what the stage reproduces.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class TokenBucket:
    """``burst`` requests at once, refilled at ``rate`` a second; :meth:`take` is thread-safe."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    """Seconds, monotonic (a test hands in its own)."""
    _tokens: float = field(init=False)
    _last: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(
                f"a throttle needs a positive rate and a burst of at least 1, not {self.rate}, {self.burst}"
            )
        self._tokens = float(self.burst)
        self._last = self.clock()

    def take(self) -> bool:
        """Take a token for one request: ``False`` when the bucket is empty (throttled)."""
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True
