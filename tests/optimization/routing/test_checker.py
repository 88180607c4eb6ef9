"""The checker accepts a correct solution and catches each kind of broken one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from optimization.routing import (
    Route,
    RoutingProblem,
    RoutingSolution,
    Unassigned,
    check_solution,
)


@pytest.fixture(scope="module")
def good(line_problem: RoutingProblem) -> RoutingSolution:
    """s1..s4 in line order: arrive 10, 25, 40, 55; back at 100; 80 m driven."""
    route = Route("v1", ("s1", "s2", "s3", "s4"), (10, 25, 40, 55), 0, 100)
    return RoutingSolution((route,), (), distance=80, duration=100)


def test_correct_solution_passes(line_problem: RoutingProblem, good: RoutingSolution) -> None:
    assert check_solution(line_problem, good) == []


def _with_route(solution: RoutingSolution, **changes: object) -> RoutingSolution:
    return replace(solution, routes=(replace(solution.routes[0], **changes),))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arrivals": (5, 25, 40, 55)}, "before it can be reached"),
        ({"departure": -1, "arrivals": (9, 25, 40, 55)}, "before shift start"),
        ({"return_time": 1001}, "after shift end"),
        ({"return_time": 90}, "before it can be back"),
        ({"stops": ("s1", "s2", "s3", "s3"), "arrivals": (10, 25, 40, 45)}, "appears 2 time"),
        ({"stops": ("s1", "s2", "s3"), "arrivals": (10, 25, 40)}, "neither served"),
        ({"vehicle": "ghost"}, "not in the problem"),
    ],
)
def test_broken_route_is_caught(
    line_problem: RoutingProblem, good: RoutingSolution, changes: dict[str, object], message: str
) -> None:
    errors = check_solution(line_problem, _with_route(good, **changes))
    assert any(message in e for e in errors), errors


def test_window_capacity_and_totals_are_checked(
    line_problem: RoutingProblem, good: RoutingSolution
) -> None:
    tight = replace(
        line_problem,
        stops=(replace(line_problem.stops[0], window=(0, 5)), *line_problem.stops[1:]),
    )
    assert any("outside its window" in e for e in check_solution(tight, good))
    small = replace(line_problem, vehicles=(replace(line_problem.vehicles[0], capacity=7),))
    assert any("exceeds capacity" in e for e in check_solution(small, good))
    assert any(
        "distance is 79" in e for e in check_solution(line_problem, replace(good, distance=79))
    )


def test_unassigned_needs_a_reason_and_no_route(
    line_problem: RoutingProblem, good: RoutingSolution
) -> None:
    twice = replace(good, unassigned=(Unassigned("s1", "too far"),))
    assert any(
        "appears 1 time(s) in routes and 1" in e for e in check_solution(line_problem, twice)
    )
    short = _with_route(good, stops=("s2", "s3", "s4"), arrivals=(20, 35, 50), return_time=95)
    silent = replace(short, unassigned=(Unassigned("s1", " "),), distance=80, duration=95)
    assert any("has no reason" in e for e in check_solution(line_problem, silent))
