"""The solver: optimal small routes, tight windows, drops, unservable stops, fleets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optimization.routing import (
    RoutingProblem,
    SolveParams,
    Stop,
    TravelMatrices,
    Vehicle,
    check_solution,
    solve,
)
from tests.optimization.routing.conftest import line_matrices, random_problem

QUICK = SolveParams(time_limit=0.3)


def _served(solution: object) -> dict[str, str]:
    return {s: r.vehicle for r in solution.routes for s in r.stops}  # type: ignore[attr-defined]


def test_line_is_driven_once_out_and_back(line_problem: RoutingProblem) -> None:
    solution = solve(line_problem, QUICK)
    assert solution.distance == 80
    assert solution.unassigned == ()
    assert check_solution(line_problem, solution) == []


def test_tight_windows_allow_one_order_and_it_is_found(line_problem: RoutingProblem) -> None:
    windows = {"s3": (30, 30), "s1": (55, 55), "s4": (90, 90), "s2": (115, 115)}
    stops = tuple(replace(s, window=windows[s.id]) for s in line_problem.stops)
    solution = solve(replace(line_problem, stops=stops), QUICK)
    assert solution.unassigned == ()
    assert solution.routes[0].stops == ("s3", "s1", "s4", "s2")
    assert solution.routes[0].arrivals == (30, 55, 90, 115)


def test_optional_stop_is_dropped_only_when_cheaper(line_problem: RoutingProblem) -> None:
    matrices = line_matrices([0, 10, 20, 30, 40, 1000])
    far = Stop("far", location=5, demand=1, service=0, window=(0, 5000), penalty=100)
    long_shift = (replace(line_problem.vehicles[0], shift=(0, 5000)),)
    problem = replace(
        line_problem, matrices=matrices, vehicles=long_shift, stops=(*line_problem.stops, far)
    )
    dropped = solve(problem, QUICK)
    assert [u.stop for u in dropped.unassigned] == ["far"]
    assert "penalty" in dropped.unassigned[0].reason
    worth_it = replace(problem, stops=(*line_problem.stops, replace(far, penalty=10_000)))
    assert "far" in _served(solve(worth_it, QUICK))


def test_unservable_stops_are_unassigned_with_the_reason(line_problem: RoutingProblem) -> None:
    heavy = Stop("heavy", location=1, demand=50, service=0, window=(0, 1000))
    late = Stop("late", location=4, demand=1, service=0, window=(0, 5))
    problem = replace(line_problem, stops=(*line_problem.stops, heavy, late))
    solution = solve(problem, QUICK)
    reasons = {u.stop: u.reason for u in solution.unassigned}
    assert set(reasons) == {"heavy", "late"}
    assert "exceeds every vehicle capacity" in reasons["heavy"]
    assert "cannot be met" in reasons["late"]
    assert len(_served(solution)) == 4


def test_mandatory_stops_beyond_the_fleet_are_left_out_with_a_reason() -> None:
    problem = RoutingProblem(
        name="over",
        depot=0,
        matrices=line_matrices([0, 10, 20]),
        vehicles=(Vehicle("v", capacity=3, shift=(0, 1000)),),
        stops=(Stop("a", 1, 2, 0, (0, 1000)), Stop("b", 2, 2, 0, (0, 1000))),
    )
    solution = solve(problem, QUICK)
    assert len(solution.routes) == 1 and len(solution.unassigned) == 1
    assert "no feasible route" in solution.unassigned[0].reason


def test_each_vehicle_drives_its_own_profile() -> None:
    distance = np.abs(np.subtract.outer([0, 10, 40], [0, 10, 40]))
    van = TravelMatrices(distance, distance)
    bike = TravelMatrices(distance // 4, distance)
    problem = RoutingProblem(
        name="fleet",
        depot=0,
        matrices=van,
        profiles={"bike": bike},
        vehicles=(
            Vehicle("van", capacity=20, shift=(0, 1000)),
            Vehicle("bike", capacity=2, shift=(0, 1000), profile="bike"),
        ),
        stops=(
            Stop("urgent", location=2, demand=1, service=0, window=(0, 15)),
            Stop("bulky", location=1, demand=5, service=0, window=(0, 1000)),
        ),
    )
    solution = solve(problem, QUICK)
    assert _served(solution) == {"urgent": "bike", "bulky": "van"}
    assert check_solution(problem, solution) == []


def test_own_start_end_and_fixed_costs() -> None:
    problem = RoutingProblem(
        name="terminals",
        depot=0,
        matrices=line_matrices([0, 10, 20, 30, 40]),
        vehicles=(
            Vehicle("home", capacity=5, shift=(0, 1000), start=4, end=4, fixed_cost=1000),
            Vehicle("depot", capacity=5, shift=(0, 1000)),
        ),
        stops=(Stop("s4", 4, 1, 0, (0, 1000)), Stop("s3", 3, 1, 0, (0, 1000))),
    )
    solution = solve(problem, QUICK)
    # The vehicle at 40 would drive 20 m, the depot one 80 m; the fixed cost decides.
    assert _served(solution) == {"s4": "depot", "s3": "depot"}
    cheap = replace(problem, vehicles=(replace(problem.vehicles[0], fixed_cost=0),))
    assert _served(solve(cheap, QUICK)) == {"s4": "home", "s3": "home"}


def test_duration_objective_departs_late_instead_of_waiting() -> None:
    problem = RoutingProblem(
        name="wait",
        depot=0,
        matrices=line_matrices([0, 10]),
        vehicles=(Vehicle("v", capacity=5, shift=(0, 1000)),),
        stops=(Stop("s", 1, 1, 5, (100, 200)),),
        objective="duration",
    )
    solution = solve(problem, QUICK)
    route = solution.routes[0]
    assert (route.departure, route.arrivals, route.return_time) == (90, (100,), 115)
    assert solution.duration == 25


def test_same_seed_and_solution_limit_give_the_same_solution() -> None:
    problem = random_problem(7)
    params = SolveParams(time_limit=30, seed=3, solution_limit=40)
    first, second = solve(problem, params), solve(problem, params)
    assert first == second
    assert check_solution(problem, first) == []


@pytest.mark.parametrize("seed", [0, 1])
def test_time_limited_search_returns_checked_solutions(seed: int) -> None:
    problem = random_problem(11)
    solution = solve(problem, SolveParams(time_limit=0.5, seed=seed))
    assert check_solution(problem, solution) == []
    assert all("no feasible route" not in u.reason for u in solution.unassigned)
