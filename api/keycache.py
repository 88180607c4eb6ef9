"""Verified API keys remembered for a few seconds: a request is let in without a store read.

Verifying a token is one primary-key read of ``api_keys``, but from the event
loop it also costs a hop to a worker thread and a store transaction: under
load (bench/bench_api_load.py) that was a tenth of an availability request's
CPU. A store system sends many requests a second with the same key, so each
worker keeps the identities it verified for ``ttl_s`` seconds.

What this gives up, bounded: a key revoked with ``partsflow api-key revoke``
keeps working for at most ``ttl_s`` seconds on a worker that let it in just
before (``PARTSFLOW_API_KEY_CACHE_S``; 0 turns the cache off and revocation
is seen on the next request). Only keys that verified are kept: an unknown or
revoked token is read from the store every time, so nothing anyone sends can
make a refused key pass, and random tokens cannot fill the cache. Entries are
keyed by the token's SHA-256, never the token, and the cache is bounded
(oldest out first).

Used from the event loop only (the middleware), so it needs no lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from ops import KeyIdentity


class KeyCache:
    """Identities of verified tokens, each for ``ttl_s`` seconds after it was verified."""

    def __init__(
        self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError(
                f"a key cache needs ttl_s >= 0 and max_entries >= 1, got {ttl_s} and {max_entries}"
            )
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[KeyIdentity, float]] = {}  # oldest first

    def get(self, token: str) -> KeyIdentity | None:
        """The identity verified for ``token`` less than ``ttl_s`` ago, else ``None``."""
        digest = _digest(token)
        found = self._entries.get(digest)
        if found is None:
            return None
        identity, expires = found
        if self._clock() >= expires:
            del self._entries[digest]
            return None
        return identity

    def put(self, token: str, identity: KeyIdentity) -> None:
        """Remember that ``token`` verified as ``identity`` (nothing when the TTL is 0)."""
        if not self.ttl_s:
            return
        digest = _digest(token)
        self._entries.pop(digest, None)  # re-inserted last: the order stays oldest first
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[digest] = (identity, self._clock() + self.ttl_s)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
