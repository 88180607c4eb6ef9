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
