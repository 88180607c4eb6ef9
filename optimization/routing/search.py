"""Search strategy: insertion and guided local search, ruin-and-recreate, guided local search.

Measured on the Solomon instances (``bench/bench_solomon.py``), OR-Tools'
guided local search (GLS) stops improving after a few seconds, and restarting
it from ruined solutions gains little: a GLS round costs ~0.1 s of CPU, so a
10 s budget allows a few dozen. The budget is therefore split:

1. a first solution by parallel cheapest insertion (path-cheapest-arc finds
   none on tight windows), improved by GLS for 10% of the budget;
2. a ruin-and-recreate loop in Python/numpy, after SISR (Christiaens & Vanden
   Berghe, 2020): remove strings of stops close to a random seed stop from
   several neighbouring routes, re-insert them one by one at their cheapest
   feasible place (times, windows, shifts, capacity and arc costs of each
   vehicle's profile, as in the model), and accept the result by simulated
   annealing. An iteration costs ~0.6 ms, so ~16,000 fit in 10 s;
3. GLS from the best solution for the last 5% of the budget. Its result
   replaces the first phase's only when OR-Tools' own objective says it is
   better (the loop's cost leaves out waiting under the duration objective).

The operators that only matter for pickup-and-delivery pairs, visit types or
optional stops are switched off when they cannot apply: fewer useless
neighbourhoods, more GLS iterations in the same time.

Determinism: the ruin and recreate choices come from generators seeded by
``seed``. OR-Tools itself is deterministic for a given solution limit but
not for a time limit; with ``solution_limit`` set the search runs phase 1
only, stopped by that limit, so it is reproducible.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from optimization.routing.model import RoutingModel
from optimization.routing.recreate import ArcCache, Tables, recreate, route_cost, ruin

_FSS = routing_enums_pb2.FirstSolutionStrategy
_LSM = routing_enums_pb2.LocalSearchMetaheuristic
_BOOL_FALSE = optional_boolean_pb2.OptionalBoolean.BOOL_FALSE

#: Operators for pickup-and-delivery pairs, visit types and path LNS: never useful here.
_ALWAYS_OFF = (
    "use_relocate_pair",
    "use_exchange_pair",
    "use_light_relocate_pair",
    "use_relocate_subtrip",
    "use_exchange_subtrip",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
)
#: Operators that make stops inactive: useless when every stop must be served.
_DROP_OPERATORS = (
    "use_make_inactive",
    "use_make_chain_inactive",
    "use_swap_active",
    "use_shortest_path_swap_active",
    "use_swap_active_chain",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
)

#: Share of the budget for the first GLS run; the rest goes to ruin-and-recreate.
FIRST_PHASE_SHARE = 0.1
#: Simulated-annealing temperature relative to the solution's cost at the start
#: of ruin-and-recreate, and the factor by which it cools until the end.
START_TEMPERATURE = 0.01
COOLING = 0.02
#: Share of the ruin-and-recreate budget left to a final GLS from the best solution.
FINAL_SHARE = 0.05


def search_parameters(seconds: float, solution_limit: int | None, all_mandatory: bool) -> Any:
    """OR-Tools search parameters: insertion first solution, GLS, pruned operators."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = _FSS.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = _LSM.GUIDED_LOCAL_SEARCH
    operators = params.local_search_operators
    for name in _ALWAYS_OFF + (_DROP_OPERATORS if all_mandatory else ()):
        setattr(operators, name, _BOOL_FALSE)
    params.time_limit.FromMilliseconds(max(10, int(seconds * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    return params


def run_search(
    model: RoutingModel, deadline: float, seed: int, solution_limit: int | None
) -> list[list[int]]:
    """Search until ``deadline`` (``time.monotonic()``) and return the best routes.

    Parameters
    ----------
    model
        The OR-Tools model.
    deadline
        Monotonic clock time at which to stop.
    seed
        Seeds the ruin choices.
    solution_limit
        If given, run only the first phase, stopped after this many solutions.

    Returns
    -------
    list of list of int
        Stop positions (in ``model.stops``) per vehicle.
    """
    routing = model.routing
    all_mandatory = all(s.mandatory for s in model.stops)
    budget = max(0.01, deadline - time.monotonic())
    first = budget if solution_limit is not None else budget * FIRST_PHASE_SHARE
    assignment = routing.SolveWithParameters(
        search_parameters(first, solution_limit, all_mandatory)
    )
    if assignment is None:
        return [[] for _ in range(routing.vehicles())]
    routes = model.routes(assignment)
    if solution_limit is not None or len(model.stops) < 4:
        return routes
    objective = int(assignment.ObjectiveValue())
    return _ruin_andrecreate(model, routes, objective, deadline, seed, all_mandatory)


def _ruin_andrecreate(
    model: RoutingModel,
    routes: list[list[int]],
    objective: int,
    deadline: float,
    seed: int,
    all_mandatory: bool,
) -> list[list[int]]:
    """Improve ``routes`` (of OR-Tools objective ``objective``) until ``deadline``.

    Ruin-and-recreate in Python with simulated-annealing acceptance, then GLS
    from the best solution found. Costs inside the loop come from
    ``_cost``: exact for the distance objective, without waiting for the
    duration objective, so the result is compared with the start by
    OR-Tools' own objective.
    """
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    neighbours = _neighbours(model)
    cache: ArcCache = {}
    nodes = model.nodes
    first = model.first_stop_node
    tables = Tables(nodes, first)
    cost = route_cost(routes, nodes, first)
    best_routes, best_cost = routes, cost
    current, current_cost = routes, cost
    # Temperatures are relative to the routes' own cost, penalties left out.
    scale = max(1, route_cost(routes, nodes, first, penalties=False))
    began = time.monotonic()
    span = max(1e-3, (deadline - began) * (1 - FINAL_SHARE))
    while (elapsed := time.monotonic() - began) < span:
        temperature = scale * START_TEMPERATURE * COOLING ** (elapsed / span)
        # SISR draws the acceptance bound before recreating.
        bound = current_cost - temperature * math.log(1.0 - rng.random())
        ruined, removed = ruin(current, neighbours, rng)
        if sum(map(len, current)) < len(model.stops):
            # Stops left out get another chance in every recreate.
            served = {p for route in current for p in route}
            removed += [p for p in range(len(model.stops)) if p not in served]
        candidate, candidate_cost = recreate(ruined, removed, tables, rng, noise, cache)
        if sum(map(len, candidate)) < len(model.stops):
            candidate_cost = route_cost(candidate, nodes, first)
        if candidate_cost < bound:
            current, current_cost = candidate, candidate_cost
            if candidate_cost < best_cost:
                best_routes, best_cost = candidate, candidate_cost
    polished = _polish(model, best_routes, max(0.05, deadline - time.monotonic()), all_mandatory)
    if polished is None or polished[1] > objective:
        return routes
    return polished[0]


def _polish(
    model: RoutingModel, routes: list[list[int]], seconds: float, all_mandatory: bool
) -> tuple[list[list[int]], int] | None:
    """GLS from ``routes``: the routes found and their objective (``None`` if none)."""
    start = model.assignment_from(routes)
    if start is None:
        return None
    params = search_parameters(seconds, None, all_mandatory)
    found = model.routing.SolveFromAssignmentWithParameters(start, params)
    if found is None:
        return None
    return model.routes(found), int(found.ObjectiveValue())


def _neighbours(model: RoutingModel) -> np.ndarray:
    """For each stop, all stops ordered by travel time from it (itself first)."""
    stops = model.stops
    locations = np.array([s.location for s in stops])
    # The model's first vehicle's profile is close enough to rank neighbours.
    duration = model.neighbour_matrix[np.ix_(locations, locations)]
    return np.argsort(duration, axis=1, kind="stable")
