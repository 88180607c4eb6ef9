"""Small routing instances shared by the routing tests."""

from __future__ import annotations

import numpy as np
import pytest

from optimization.routing import RoutingProblem, Stop, TravelMatrices, Vehicle


def line_matrices(positions: list[int], speed: int = 1) -> TravelMatrices:
    """Locations on a line: distance |a - b| metres, duration distance / speed seconds."""
    xs = np.array(positions)
    distance = np.abs(xs[:, None] - xs[None, :])
    return TravelMatrices(distance // speed, distance)


def random_problem(
    seed: int, size: int = 25, window: int = 600, capacity: int = 10, name: str = "random"
) -> RoutingProblem:
    """``size`` stops at random points of a 1000 m square, windows of ``window`` s, 8 vehicles."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 1000, size=(size + 1, 2))
    distance = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    matrix = distance.astype(np.int64)
    stops = []
    for k in range(1, size + 1):
        start = int(rng.integers(0, 3000))
        stops.append(Stop(f"s{k}", k, int(rng.integers(1, 4)), 30, (start, start + window)))
    vehicles = tuple(Vehicle(f"v{k}", capacity, (0, 6000)) for k in range(8))
    return RoutingProblem(name, 0, TravelMatrices(matrix, matrix), vehicles, tuple(stops))


@pytest.fixture(scope="session")
def line_problem() -> RoutingProblem:
    """Depot at 0 and four stops on a line, one vehicle of capacity 10: easy to reason about."""
    return RoutingProblem(
        name="line",
        depot=0,
        matrices=line_matrices([0, 10, 20, 30, 40]),
        vehicles=(Vehicle("v1", capacity=10, shift=(0, 1000)),),
        stops=tuple(
            Stop(f"s{k}", location=k, demand=2, service=5, window=(0, 1000)) for k in range(1, 5)
        ),
    )
