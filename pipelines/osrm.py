"""Travel times from an OSRM-compatible HTTP ``table`` service (network IO).

Implements :class:`optimization.routing.TravelTimeProvider`; it lives here,
not in ``optimization/``, because that package stays pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import httpx
import numpy as np

from optimization.routing import TravelMatrices
from optimization.routing.travel import Point


class TravelServiceError(RuntimeError):
    """The travel-time service failed or answered something unusable."""


@dataclass(frozen=True)
class OsrmTableProvider:
    """Matrices from an OSRM-compatible ``/table/v1/{profile}/{lon,lat;...}`` service.

    ``client`` is an ``httpx.Client`` whose ``base_url`` points at the service
    (the caller owns it and its timeouts); ``profile_names`` maps our profile
    names to the service's (e.g. ``{"bike": "bike", "van": "driving"}``). The
    service has no notion of hour, so ``hour`` is ignored.
    """

    client: httpx.Client
    profile_names: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"bike": "bike", "van": "driving"})
    )

    def matrices(self, points: Sequence[Point], profile: str, hour: int) -> TravelMatrices:
        """Durations rounded up to seconds, distances rounded to metres.

        Raises
        ------
        TravelServiceError
            HTTP failure, a non-``Ok`` code, or a missing (unroutable) pair.
        """
        if profile not in self.profile_names:
            raise ValueError(f"unknown profile {profile!r}; known: {sorted(self.profile_names)}")
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        url = f"/table/v1/{self.profile_names[profile]}/{coordinates}"
        try:
            response = self.client.get(url, params={"annotations": "duration,distance"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise TravelServiceError(f"travel-time service failed: {error}") from error
        if body.get("code") != "Ok":
            raise TravelServiceError(f"travel-time service answered {body.get('code')!r}")
        durations = _table(body, "durations", len(points))
        distances = _table(body, "distances", len(points))
        return TravelMatrices(
            np.ceil(durations).astype(np.int64), np.rint(distances).astype(np.int64)
        )


def _table(body: Mapping[str, object], key: str, size: int) -> np.ndarray:
    rows = body.get(key)
    if not isinstance(rows, list) or len(rows) != size:
        raise TravelServiceError(f"travel-time service returned no {size}x{size} {key!r}")
    values = np.full((size, size), math.nan)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != size:
            raise TravelServiceError(f"travel-time service row {i} of {key!r} is malformed")
        for j, value in enumerate(row):
            if value is None:
                raise TravelServiceError(f"no route from point {i} to point {j} ({key})")
            values[i, j] = float(value)
    return values
