"""The API's parameters as frozen values: built once by ``settings`` and passed down.

The defaults live here, beside the code that uses them; ``settings.Settings``
mirrors them as ``PARTSFLOW_*`` fields and builds an :class:`ApiConfig` with
:meth:`settings.Settings.api_config`, so each value is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ApiLimits:
    """What one caller may send.

    ``max_body_bytes``: a request body above it is refused (413) before it is
    read; 64 KiB holds a 50-line order many times over. ``rate_per_s`` and
    ``rate_burst``: a token bucket per API key and server process (429 with
    ``Retry-After`` when empty). ``snapshot_poll_s``: how often a worker
    looks for a newer published snapshot. ``key_cache_s``: how long a worker
    lets a verified key in without reading the store again, so the longest a
    revoked key still works (:mod:`api.keycache`; 0: revocation is seen on
    the next request).
    """

    max_body_bytes: int = 64 * 1024
    rate_per_s: float = 50.0
    rate_burst: int = 100
    snapshot_poll_s: float = 1.0
    key_cache_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if not self.rate_per_s > 0 or self.rate_burst < 1:
            raise ValueError(
                f"rate limit must be > 0 per second with a burst >= 1, got "
                f"{self.rate_per_s}/s, burst {self.rate_burst}"
            )
        if not 0 < self.snapshot_poll_s <= 60:
            raise ValueError(f"snapshot_poll_s must be in (0, 60], got {self.snapshot_poll_s}")
        if not 0 <= self.key_cache_s <= 60:
            raise ValueError(f"key_cache_s must be in [0, 60], got {self.key_cache_s}")


@dataclass(frozen=True)
class PromiseParams:
    """The delivery promise's knobs (the formula is in :mod:`api.promise`).

    ``load_window_min``: a warehouse's load is its orders not yet dispatched
    placed in the last this many minutes (the 30-minute promise's horizon);
    ``default_riders``: riders on shift where the snapshot's dispatch replay
    does not say.
    """

    load_window_min: int = 30
    default_riders: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.load_window_min <= 240:
            raise ValueError(f"load_window_min must be in 1-240, got {self.load_window_min}")
        if self.default_riders < 1:
            raise ValueError(f"default_riders must be at least 1, got {self.default_riders}")


@dataclass(frozen=True)
class ApiConfig:
    """Everything :func:`api.app.create_app` needs."""

    snapshot_dir: Path
    ops_url: str
    limits: ApiLimits = field(default_factory=ApiLimits)
    promise: PromiseParams = field(default_factory=PromiseParams)
