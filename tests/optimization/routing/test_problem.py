"""Problem types refuse malformed values with a message naming the field."""

from __future__ import annotations

import pytest

from optimization.routing import RoutingProblem, Stop, TravelMatrices, Vehicle


def _problem(**overrides: object) -> RoutingProblem:
    fields: dict[str, object] = {
        "name": "p",
        "depot": 0,
        "matrices": TravelMatrices([[0, 5], [5, 0]], [[0, 9], [9, 0]]),
        "vehicles": (Vehicle("v", 5, (0, 100)),),
        "stops": (Stop("s", 1, 1, 0, (0, 50)),),
    }
    fields.update(overrides)
    return RoutingProblem(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TravelMatrices([[0, 1], [1]], [[0, 1], [1, 0]]), "row 1 has 1 values"),
        (lambda: TravelMatrices([[0, 1, 2], [1, 0, 2]], [[0]]), "must be square"),
        (lambda: TravelMatrices([[0, -1], [1, 0]], [[0, 1], [1, 0]]), r"duration_matrix\[0\]\[1\]"),
        (lambda: TravelMatrices([[0, 1.5], [1, 0]], [[0, 1], [1, 0]]), "must be an integer"),
        (lambda: TravelMatrices([[0, 1], [1, 0]], [[0]]), "distance_matrix is 1x1"),
        (lambda: Stop("s", 1, 1, 0, (50, 10)), "window end 10 is before its start 50"),
        (lambda: Vehicle("v", -1, (0, 1)), "capacity must be >= 0"),
        (lambda: _problem(stops=(Stop("s", 7, 1, 0, (0, 5)),)), "location 7 is not a location"),
        (lambda: _problem(vehicles=(Vehicle("v", 1, (0, 9), end=2),)), "end 2 is not a location"),
        (lambda: _problem(stops=(Stop("s", 1, 1, 0, (0, 5)),) * 2), "duplicate stop id 's'"),
        (lambda: _problem(vehicles=(Vehicle("v", 1, (0, 9), profile="bike"),)), "unknown"),
        (lambda: _problem(objective="time"), "objective must be"),
    ],
)
def test_malformed_values_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_distance_defaults_are_explicit_and_matrices_read_only() -> None:
    matrices = TravelMatrices([[0, 5], [5, 0]], [[0, 9], [9, 0]])
    assert matrices.size == 2
    with pytest.raises(ValueError, match="read-only"):
        matrices.duration[0, 1] = 3
