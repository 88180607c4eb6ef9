"""The search internals: partial starts, the recreate heuristic and its cost."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from optimization.routing import RoutingProblem, Stop, TravelMatrices, Vehicle
from optimization.routing import recreate as recreate_module
from optimization.routing.model import RoutingModel, build_model
from optimization.routing.recreate import Tables, recreate, route_cost, ruin
from optimization.routing.schedule import schedule_route
from optimization.routing.search import search_parameters
from tests.optimization.routing.conftest import random_problem


@pytest.fixture(scope="module")
def solved() -> tuple[RoutingProblem, RoutingModel, list[list[int]], int]:
    """Thirty stops with 20-minute windows and eight vans, every stop served after 0.5 s."""
    problem = random_problem(5, size=30, window=1200, capacity=15, name="windows")
    model = build_model(problem, problem.stops)
    assignment = model.routing.SolveWithParameters(search_parameters(0.5, None, True))
    routes = model.routes(assignment)
    assert sum(map(len, routes)) == len(problem.stops)
    return problem, model, routes, int(assignment.ObjectiveValue())


def _rebuild(
    model: RoutingModel, routes: list[list[int]], removed: list[int], seed: int = 0
) -> tuple[list[list[int]], int]:
    return recreate(
        routes,
        removed,
        Tables(model.nodes, model.first_stop_node),
        random.Random(seed),
        np.random.default_rng(seed),
        {},
    )


def _feasible(problem: RoutingProblem, model: RoutingModel, routes: list[list[int]]) -> bool:
    return all(
        schedule_route(problem, vehicle, [model.stops[p] for p in route]) is not None
        for vehicle, route in zip(problem.vehicles, routes, strict=True)
        if route
    )


def test_cost_matches_the_or_tools_objective(
    solved: tuple[RoutingProblem, RoutingModel, list[list[int]], int],
) -> None:
    _, model, routes, objective = solved
    assert route_cost(routes, model.nodes, model.first_stop_node) == objective


def test_a_partial_solution_is_a_valid_search_start(
    solved: tuple[RoutingProblem, RoutingModel, list[list[int]], int],
) -> None:
    _, model, routes, _ = solved
    partial = [route[1:] for route in routes]
    start = model.assignment_from(partial)
    found = model.routing.SolveFromAssignmentWithParameters(
        start, search_parameters(0.3, None, True)
    )
    assert found is not None
    assert sorted(p for route in model.routes(found) for p in route) == list(
        range(len(model.stops))
    )


@pytest.mark.parametrize("seed", range(5))
def test_recreate_reinserts_every_ruined_stop_feasibly(
    solved: tuple[RoutingProblem, RoutingModel, list[list[int]], int], seed: int
) -> None:
    problem, model, routes, _ = solved
    rng = random.Random(seed)
    ruined, removed = ruin(routes, np.argsort(model.neighbour_matrix[1:, 1:], axis=1), rng)
    assert removed and sum(map(len, ruined)) == len(model.stops) - len(removed)
    rebuilt, cost = _rebuild(model, ruined, removed, seed)
    assert sorted(p for route in rebuilt for p in route) == list(range(len(model.stops)))
    assert _feasible(problem, model, rebuilt)
    assert cost == route_cost(rebuilt, model.nodes, model.first_stop_node)


def test_recreate_uses_each_vehicles_profile_and_capacity() -> None:
    distance = np.abs(np.subtract.outer([0, 10, 40], [0, 10, 40]))
    problem = RoutingProblem(
        name="fleet",
        depot=0,
        matrices=TravelMatrices(distance, distance),
        profiles={"bike": TravelMatrices(distance // 4, distance)},
        vehicles=(
            Vehicle("van", capacity=20, shift=(0, 1000)),
            Vehicle("bike", capacity=2, shift=(0, 1000), profile="bike"),
        ),
        stops=(
            Stop("urgent", location=2, demand=1, service=0, window=(0, 15)),
            Stop("bulky", location=1, demand=5, service=0, window=(0, 1000)),
        ),
    )
    model = build_model(problem, problem.stops)
    rebuilt, _ = _rebuild(model, [[], []], [0, 1])
    assert rebuilt == [[1], [0]]


def test_recreate_leaves_out_an_optional_stop_dearer_than_its_penalty(
    solved: tuple[RoutingProblem, RoutingModel, list[list[int]], int],
) -> None:
    problem, _, _, _ = solved
    stops = (*problem.stops[:-1], replace(problem.stops[-1], penalty=1))
    model = build_model(problem, stops)
    last = len(stops) - 1
    rebuilt, _ = _rebuild(model, [[] for _ in problem.vehicles], list(range(len(stops))))
    served = {p for route in rebuilt for p in route}
    assert last not in served
    assert served == set(range(last))


@pytest.mark.parametrize(("bias_share", "routes"), [(0.0, 1), (1.0, 2)])
def test_discounted_opening_lets_recreate_add_a_route(
    monkeypatch: pytest.MonkeyPatch, bias_share: float, routes: int
) -> None:
    # Joining a's route costs 60, a route of its own 80 (40 at the discount).
    distance = np.array([[0, 100, 40], [100, 0, 120], [40, 120, 0]])
    problem = RoutingProblem(
        name="open",
        depot=0,
        matrices=TravelMatrices(distance, distance),
        vehicles=tuple(Vehicle(f"v{k}", capacity=5, shift=(0, 1000)) for k in range(2)),
        stops=(Stop("a", 1, 1, 0, (0, 1000)), Stop("b", 2, 1, 0, (0, 1000))),
    )
    monkeypatch.setattr(recreate_module, "BLINK_RATE", 0.0)
    monkeypatch.setattr(recreate_module, "OPEN_BIAS_SHARE", bias_share)
    model = build_model(problem, problem.stops)
    rebuilt, cost = _rebuild(model, [[0], []], [1])
    assert sum(1 for route in rebuilt if route) == routes
    assert cost == route_cost(rebuilt, model.nodes, model.first_stop_node)


def test_a_split_string_keeps_one_run_of_stops_between_the_removed_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recreate_module, "SPLIT_SHARE", 1.0)
    route = list(range(100, 130))
    splits = 0
    for seed in range(50):
        removed = recreate_module._string(route, 15, 8, random.Random(seed))
        positions = [route.index(s) for s in removed]
        assert 1 <= len(removed) <= 8
        assert positions == sorted(positions)
        kept = [p for p in range(positions[0], positions[-1] + 1) if p not in positions]
        if kept:
            splits += 1
            assert kept == list(range(kept[0], kept[-1] + 1))
    assert splits > 0


def test_without_splits_a_string_is_consecutive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recreate_module, "SPLIT_SHARE", 0.0)
    route = list(range(30))
    for seed in range(50):
        removed = recreate_module._string(route, 15, 8, random.Random(seed))
        assert removed == list(range(removed[0], removed[-1] + 1))
