"""The default travel-time provider: haversine x circuity at the profile speed."""

from __future__ import annotations

import numpy as np
import pytest

from optimization.routing import (
    HaversineProvider,
    haversine_m,
)

# Two points in Shanghai about 1.11 km apart along a meridian (0.01 degree of latitude).
POINTS = [(31.23, 121.47), (31.24, 121.47)]


def test_haversine_matches_a_known_distance() -> None:
    metres = haversine_m(POINTS)
    assert metres[0, 1] == pytest.approx(1111.9, abs=0.5)
    assert metres[0, 0] == 0


def test_default_provider_is_integer_and_slower_at_the_busy_hour() -> None:
    provider = HaversineProvider()
    calm = provider.matrices(POINTS, "bike", hour=11)
    busy = provider.matrices(POINTS, "bike", hour=8)
    van = provider.matrices(POINTS, "van", hour=11)
    assert calm.duration.dtype == np.int64
    assert calm.distance[0, 1] == round(haversine_m(POINTS)[0, 1] * 1.3)
    assert calm.duration[0, 1] == int(np.ceil(calm.distance[0, 1] / (18 / 3.6)))
    assert busy.duration[0, 1] > calm.duration[0, 1]
    assert van.duration[0, 1] < calm.duration[0, 1]
    with pytest.raises(ValueError, match="unknown profile"):
        provider.matrices(POINTS, "truck", hour=8)
