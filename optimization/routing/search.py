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
   annealing. An iteration costs ~1 ms, so thousands fit in the budget;
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

import itertools
import math
import random
import time
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from optimization.routing.model import NodeData, RoutingModel

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
#: Stops removed per ruin (at most; fewer on small instances).
RUIN_SIZE = 20
#: Longest string removed from one route.
MAX_STRING = 10
#: Share of feasible insertion places skipped at random (SISR's "blinks").
BLINK_RATE = 0.01
#: Simulated-annealing temperature relative to the solution's cost at the start
#: of ruin-and-recreate, and the factor by which it cools until the end.
START_TEMPERATURE = 0.01
COOLING = 0.02
#: In this share of the recreates, opening an empty route counts at this factor
#: of its cost: insertion alone rarely adds a route, while the distance-best
#: solutions often use more vehicles (annealing judges the true cost).
OPEN_BIAS_SHARE = 0.2
OPEN_BIAS = 0.5
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
    return _ruin_and_recreate(model, routes, objective, deadline, seed, all_mandatory)


def _ruin_and_recreate(
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
    cache: _ArcCache = {}
    nodes = model.nodes
    first = model.first_stop_node
    tables = _Tables(nodes, first)
    cost = _cost(routes, nodes, first)
    best_routes, best_cost = routes, cost
    current, current_cost = routes, cost
    # Temperatures are relative to the routes' own cost, penalties left out.
    scale = max(1, _cost(routes, nodes, first, penalties=False))
    began = time.monotonic()
    span = max(1e-3, (deadline - began) * (1 - FINAL_SHARE))
    while (elapsed := time.monotonic() - began) < span:
        temperature = scale * START_TEMPERATURE * COOLING ** (elapsed / span)
        # SISR draws the acceptance bound before recreating.
        bound = current_cost - temperature * math.log(1.0 - rng.random())
        ruined, removed = _ruin(current, neighbours, rng)
        if sum(map(len, current)) < len(model.stops):
            # Stops left out get another chance in every recreate.
            served = {p for route in current for p in route}
            removed += [p for p in range(len(model.stops)) if p not in served]
        candidate, candidate_cost = _recreate(ruined, removed, tables, rng, noise, cache)
        if sum(map(len, candidate)) < len(model.stops):
            candidate_cost = _cost(candidate, nodes, first)
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


def _ruin(
    routes: list[list[int]], neighbours: np.ndarray, rng: random.Random
) -> tuple[list[list[int]], list[int]]:
    """Remove strings of stops from the routes nearest a random seed stop.

    Returns the ruined routes and the removed stops.
    """
    where = {stop: (r, i) for r, route in enumerate(routes) for i, stop in enumerate(route)}
    if not where:
        return routes, []
    target = rng.randint(1, min(RUIN_SIZE, max(1, len(where) // 4)))
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
        length = rng.randint(1, min(len(routes[r]), MAX_STRING, target - len(removed)))
        begin = max(0, min(i - rng.randrange(length), len(routes[r]) - length))
        removed.update(routes[r][begin : begin + length])
    ruined = [[s for s in route if s not in removed] for route in routes]
    return ruined, sorted(removed)


def _cost(routes: list[list[int]], nodes: NodeData, first: int, penalties: bool = True) -> int:
    """The routes' arc and fixed costs, plus the penalties of stops left out if ``penalties``."""
    total = 0
    served = 0
    for v, route in enumerate(routes):
        if not route:
            continue
        path = np.array([nodes.start[v], *(first + p for p in route), nodes.end[v]])
        total += int(nodes.cost[nodes.profile[v], path[:-1], path[1:]].sum())
        total += int(nodes.fixed_cost[v])
        served += len(route)
    if penalties and served < len(nodes.penalty):
        out = np.ones(len(nodes.penalty), dtype=bool)
        out[[p for route in routes for p in route]] = False
        total += int(nodes.penalty[out].sum())
    return total


#: Arc data per (vehicle, route); most routes survive a ruin unchanged.
_ArcCache = dict[tuple[int, tuple[int, ...]], tuple[tuple[np.ndarray, ...], int]]
_CACHE_SIZE = 20_000


class _Tables:
    """``NodeData`` arranged for cheapest insertion: one row per node to insert.

    ``into[u][p * n + i]`` is profile ``p``'s value from node ``i`` to ``u``,
    ``out_of[u][p * n + j]`` from ``u`` to ``j`` (``n`` nodes), so a stop's
    cost on every arc of every route is two 1-D lookups.
    """

    def __init__(self, nodes: NodeData, first: int) -> None:
        self.nodes = nodes
        self.first = first
        size = self.size = nodes.time.shape[1]
        self.time_into = np.ascontiguousarray(nodes.time.transpose(2, 0, 1)).reshape(size, -1)
        self.time_out = np.ascontiguousarray(nodes.time.transpose(1, 0, 2)).reshape(size, -1)
        self.cost_into = np.ascontiguousarray(nodes.cost.transpose(2, 0, 1)).reshape(size, -1)
        self.cost_out = np.ascontiguousarray(nodes.cost.transpose(1, 0, 2)).reshape(size, -1)


class _Arcs:
    """Every arc of every route with what a cheapest insertion needs about it.

    Per arc: ``ready`` is the earliest start of service at its tail,
    ``latest`` the latest start at its head that keeps the rest of the route
    feasible, ``room`` the route's spare capacity, ``skip`` the arc's own
    cost, ``empty`` whether the route is empty and ``opening`` the vehicle's
    fixed cost if so.
    """

    def __init__(self, routes: list[list[int]], tables: _Tables, cache: _ArcCache) -> None:
        self.routes = routes
        self.tables = tables
        self.cache = cache
        self.costs = [0] * len(routes)
        parts = [self._route_arcs(v) for v in range(len(routes))]
        self.columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        self.offsets = np.cumsum([0] + [len(part[0]) for part in parts])
        self._name_columns()

    def _name_columns(self) -> None:
        (
            self.tail,
            self.head,
            self.ready,
            self.latest,
            self.vehicle,
            self.position,
            self.flat_tail,
            self.flat_head,
            self.head_earliest,
            self.room,
            self.skip,
            self.opening,
            self.empty,
        ) = self.columns

    def _route_arcs(self, v: int) -> tuple[np.ndarray, ...]:
        key = (v, tuple(self.routes[v]))
        entry = self.cache.get(key)
        if entry is None:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            entry = self.cache[key] = self._compute_route_arcs(v)
        self.costs[v] = entry[1]
        return entry[0]

    def _compute_route_arcs(self, v: int) -> tuple[tuple[np.ndarray, ...], int]:
        nodes, first = self.tables.nodes, self.tables.first
        profile = int(nodes.profile[v])
        time_matrix = nodes.time[profile]
        path = [int(nodes.start[v]), *(first + p for p in self.routes[v]), int(nodes.end[v])]
        ready = [int(nodes.shift_start[v])]
        for tail, head in itertools.pairwise(path):
            ready.append(max(ready[-1] + int(time_matrix[tail, head]), int(nodes.earliest[head])))
        latest = [int(nodes.shift_end[v])]
        for tail, head in itertools.pairwise(reversed(path)):
            latest.append(min(latest[-1] - int(time_matrix[head, tail]), int(nodes.latest[head])))
        latest.reverse()
        count = len(path) - 1
        tails, heads = np.array(path[:-1]), np.array(path[1:])
        skip = nodes.cost[profile, tails, heads]
        empty = count == 1
        cost = 0 if empty else int(skip.sum() + nodes.fixed_cost[v])
        columns = (
            tails,
            heads,
            np.array(ready[:-1]),
            np.array(latest[1:]),
            np.full(count, v),
            np.arange(count),
            tails + profile * self.tables.size,
            heads + profile * self.tables.size,
            nodes.earliest[heads],
            np.full(count, nodes.capacity[v] - nodes.demand[path].sum()),
            skip,
            np.full(count, nodes.fixed_cost[v] if empty else 0),
            np.full(count, empty),
        )
        return columns, cost

    def insert(self, stop: int, arc: int) -> None:
        """Insert ``stop`` (a position in ``model.stops``) on arc ``arc``."""
        v = int(self.vehicle[arc])
        self.routes[v].insert(int(self.position[arc]), stop)
        part = self._route_arcs(v)
        begin, end = self.offsets[v], self.offsets[v + 1]
        self.columns = [
            np.concatenate((column[:begin], new, column[end:]))
            for column, new in zip(self.columns, part, strict=True)
        ]
        self.offsets[v + 1 :] += 1
        self._name_columns()


def _recreate(
    routes: list[list[int]],
    removed: list[int],
    tables: _Tables,
    rng: random.Random,
    noise: np.random.Generator,
    cache: _ArcCache,
) -> tuple[list[list[int]], int]:
    """Insert ``removed`` one by one at their cheapest feasible place (with SISR blinks).

    An optional stop stays out when its cheapest insertion costs more than
    its penalty; a stop with no feasible place stays out (the polishing search
    may still find one). Returns the routes and their arc and fixed costs.
    """
    nodes, first = tables.nodes, tables.first
    arcs = _Arcs([list(route) for route in routes], tables, cache)
    order = list(removed)
    rng.shuffle(order)
    opening_bias = rng.random() < OPEN_BIAS_SHARE
    # SISR's insertion orders: random, largest demand, farthest, tightest window.
    key = rng.randrange(4)
    if key == 1:
        order.sort(key=lambda p: -int(nodes.demand[first + p]))
    elif key == 2:
        order.sort(key=lambda p: -int(nodes.cost[0, nodes.start[0], first + p]))
    elif key == 3:
        order.sort(key=lambda p: int(nodes.latest[first + p] - nodes.earliest[first + p]))
    for stop in order:
        node = first + stop
        arrival = np.maximum(
            arcs.ready + tables.time_into[node][arcs.flat_tail], nodes.earliest[node]
        )
        head_start = np.maximum(arrival + tables.time_out[node][arcs.flat_head], arcs.head_earliest)
        feasible = (arrival <= nodes.latest[node]) & (head_start <= arcs.latest)
        feasible &= arcs.room >= nodes.demand[node]
        if BLINK_RATE:
            feasible &= noise.random(len(feasible)) >= BLINK_RATE
        if not feasible.any():
            continue
        delta = tables.cost_into[node][arcs.flat_tail] + tables.cost_out[node][arcs.flat_head]
        delta += arcs.opening - arcs.skip
        if opening_bias:
            delta = np.where(arcs.empty, (delta * OPEN_BIAS).astype(np.int64), delta)
        delta[~feasible] = np.iinfo(np.int64).max
        arc = int(np.argmin(delta))
        if delta[arc] >= nodes.penalty[stop]:
            continue
        arcs.insert(stop, arc)
    return arcs.routes, sum(arcs.costs)
