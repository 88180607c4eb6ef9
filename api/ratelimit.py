"""A token bucket per API key: a steady rate with room for a burst.

Each key's bucket holds up to ``burst`` tokens and refills at ``rate`` a
second; a request takes one, and with none left it is refused with the
seconds until the next one (the 429's ``Retry-After``). The buckets live in
the serving process: with N uvicorn workers a key may get up to N times the
rate. A shared bucket would cost a write to the operational store on every
request, the one thing the store must not be slowed by.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """Per-key buckets of one rate and burst."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError(f"a bucket needs rate > 0 and burst >= 1, got {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> int:
        """Take a token for ``key``: 0 if granted, else whole seconds to wait (>= 1)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))
