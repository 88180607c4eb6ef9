"""Search strategy: insertion, guided local search, then ruin-and-recreate restarts.

Measured on the Solomon instances (``bench/bench_solomon.py``), OR-Tools'
guided local search (GLS) stops improving after a few seconds: giving it 10 s
instead of 5 s changes nothing. So the budget is split:

1. a first solution by parallel cheapest insertion (path-cheapest-arc finds
   none on tight windows), improved by GLS for ~20% of the budget;
2. until the deadline, a ruin-and-recreate loop on the best solution: remove
   strings of stops close to a random seed stop from several neighbouring
   routes (the SISR idea of Christiaens & Vanden Berghe), re-insert them and
   improve with a short GLS run from that partial solution; keep the result
   when it is better.

The operators that only matter for pickup-and-delivery pairs, visit types or
optional stops are switched off when they cannot apply: fewer useless
neighbourhoods, more GLS iterations in the same time.

Determinism: the ruin choices come from ``random.Random(seed)``. OR-Tools
itself is deterministic for a given solution limit but not for a time limit;
with ``solution_limit`` set the search runs phase 1 only, stopped by that
limit, so it is reproducible.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from optimization.routing.model import RoutingModel

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
FIRST_PHASE_SHARE = 0.2
#: GLS time per ruin-and-recreate round, seconds.
ROUND_SECONDS = 1.0
#: Stops removed per ruin (at most; fewer on small instances).
RUIN_SIZE = 20
#: Longest string removed from one route.
MAX_STRING = 10


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
    best_routes = model.routes(assignment)
    best_cost = int(assignment.ObjectiveValue())
    if solution_limit is not None or len(model.stops) < 4:
        return best_routes

    rng = random.Random(seed)
    neighbours = _neighbours(model)
    while (left := deadline - time.monotonic()) > 0.05:
        ruined = _ruin(best_routes, neighbours, rng)
        start = model.assignment_from(ruined)
        if start is None:
            continue
        params = search_parameters(min(ROUND_SECONDS, left), None, all_mandatory)
        found = routing.SolveFromAssignmentWithParameters(start, params)
        if found is not None and int(found.ObjectiveValue()) < best_cost:
            best_cost = int(found.ObjectiveValue())
            best_routes = model.routes(found)
    return best_routes


def _neighbours(model: RoutingModel) -> np.ndarray:
    """For each stop, all stops ordered by travel time from it (itself first)."""
    stops = model.stops
    locations = np.array([s.location for s in stops])
    # The model's first vehicle's profile is close enough to rank neighbours.
    duration = model.neighbour_matrix[np.ix_(locations, locations)]
    return np.argsort(duration, axis=1, kind="stable")


def _ruin(routes: list[list[int]], neighbours: np.ndarray, rng: random.Random) -> list[list[int]]:
    """Remove strings of stops from the routes nearest a random seed stop."""
    where = {stop: (r, i) for r, route in enumerate(routes) for i, stop in enumerate(route)}
    if not where:
        return routes
    target = min(RUIN_SIZE, max(1, len(where) // 4))
    seed = rng.choice(sorted(where))
    removed: set[int] = set()
    touched: set[int] = set()
    for stop in neighbours[seed]:
        if len(removed) >= target:
            break
        if int(stop) not in where:
            continue
        r, i = where[int(stop)]
        if r in touched:
            continue
        touched.add(r)
        length = rng.randint(1, min(len(routes[r]), MAX_STRING))
        begin = max(0, min(i - rng.randrange(length), len(routes[r]) - length))
        removed.update(routes[r][begin : begin + length])
    return [[s for s in route if s not in removed] for route in routes]
