"""Travel times and distances between points, one matrix pair per vehicle profile.

A provider is anything with ``matrices(points, profile, hour)``
(:class:`TravelTimeProvider`); the solver only sees the integer
:class:`TravelMatrices` it returns, so tests swap in a ten-line fake.

Default: :class:`HaversineProvider`, great-circle distance x a road circuity
factor, at a speed that depends on the profile and the hour of day. The
defaults (:data:`DEFAULT_PROFILES`) are planning assumptions for dense
Chinese city traffic, to be replaced by measured values when available:

========  =========  ==================  ===============================
profile   circuity   off-peak speed      busy hours (07-09, 17-19 local)
========  =========  ==================  ===============================
``bike``  1.3        18 km/h             15 km/h (e-bike/scooter: bike
                                         lanes, little congestion)
``van``   1.4        30 km/h             18 km/h (congestion, one-way
                                         streets, parking)
========  =========  ==================  ===============================

:class:`OsrmTableProvider` asks an OSRM-compatible ``table`` service
instead (the one module here that does IO, behind the same Protocol; the
HTTP client is injected so the edges own it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np

from optimization.routing.problem import TravelMatrices

#: Mean Earth radius, metres (IUGG).
EARTH_RADIUS_M = 6_371_008.8
#: Local hours whose start falls in the busy period.
BUSY_HOURS = frozenset({7, 8, 17, 18})

Point = tuple[float, float]
"""(latitude, longitude) in degrees."""


class TravelTimeProvider(Protocol):
    """Anything that turns points into integer travel matrices for a profile and hour."""

    def matrices(self, points: Sequence[Point], profile: str, hour: int) -> TravelMatrices:
        """Durations (s) and distances (m) between every pair of ``points``."""
        ...


@dataclass(frozen=True)
class SpeedProfile:
    """How a vehicle type moves: road circuity and speed (km/h) off-peak and busy."""

    name: str
    circuity: float
    speed_kmh: float
    busy_speed_kmh: float
    busy_hours: frozenset[int] = BUSY_HOURS

    def __post_init__(self) -> None:
        if self.circuity < 1:
            raise ValueError(f"circuity must be >= 1, got {self.circuity}")
        if self.speed_kmh <= 0 or self.busy_speed_kmh <= 0:
            raise ValueError(f"speeds must be > 0 km/h, got {self.speed_kmh}/{self.busy_speed_kmh}")
        if any(not 0 <= h <= 23 for h in self.busy_hours):
            raise ValueError(f"busy hours must be in 0..23, got {sorted(self.busy_hours)}")

    def speed_at(self, hour: int) -> float:
        """Speed in km/h for a trip starting in local ``hour`` (0-23)."""
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be in 0..23, got {hour}")
        return self.busy_speed_kmh if hour in self.busy_hours else self.speed_kmh


DEFAULT_PROFILES: Mapping[str, SpeedProfile] = MappingProxyType(
    {
        "bike": SpeedProfile("bike", circuity=1.3, speed_kmh=18.0, busy_speed_kmh=15.0),
        "van": SpeedProfile("van", circuity=1.4, speed_kmh=30.0, busy_speed_kmh=18.0),
    }
)


def haversine_m(points: Sequence[Point]) -> np.ndarray:
    """Great-circle distances in metres between every pair of (lat, lon) points."""
    coords = np.radians(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    lat, lon = coords[:, 0][:, None], coords[:, 1][:, None]
    a = (
        np.sin((lat - lat.T) / 2) ** 2
        + np.cos(lat) * np.cos(lat.T) * np.sin((lon - lon.T) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@dataclass(frozen=True)
class HaversineProvider:
    """Travel from coordinates: haversine x circuity, at the profile's speed for the hour."""

    profiles: Mapping[str, SpeedProfile] = field(default_factory=lambda: DEFAULT_PROFILES)

    def matrices(self, points: Sequence[Point], profile: str, hour: int) -> TravelMatrices:
        """Integer metres (rounded) and seconds (rounded up) between every pair of points.

        Raises
        ------
        ValueError
            For an unknown profile or an hour outside 0..23.
        """
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r}; known: {sorted(self.profiles)}")
        speed = self.profiles[profile]
        metres = haversine_m(points) * speed.circuity
        seconds = np.ceil(metres / (speed.speed_at(hour) / 3.6))
        return TravelMatrices(np.rint(seconds).astype(np.int64), np.rint(metres).astype(np.int64))
