"""Ruin and recreate for the routing search: SISR string removal and cheapest insertion.

Pure numpy on the numbers the OR-Tools model was built from
(:class:`optimization.routing.model.NodeData`), so an iteration costs ~0.6 ms on
a 100-stop instance (~16,000 in 10 s of CPU on the Solomon instances):

* :func:`ruin` removes strings of stops near a random seed stop from
  several neighbouring routes (Christiaens & Vanden Berghe, 2020);
* :func:`recreate` puts each removed stop back at its cheapest feasible
  place over every arc of every route (times, windows, shifts, capacity and
  the arc costs of each vehicle's profile), in random order, with SISR's
  "blinks";
* :func:`route_cost` is the objective of a set of routes as the model
  counts it (arc costs, fixed costs, penalties of stops left out).
"""

from __future__ import annotations

import random

import numpy as np

from optimization.routing.model import NodeData

#: Stops removed per ruin (at most; fewer on small instances).
RUIN_SIZE = 20
#: Longest string removed from one route.
MAX_STRING = 10
#: Share of feasible insertion places skipped at random (SISR's "blinks").
BLINK_RATE = 0.01
#: In this share of the recreates, opening an empty route counts at this factor
#: of its cost: insertion alone rarely adds a route, while the distance-best
#: solutions often use more vehicles (annealing judges the true cost).
OPEN_BIAS_SHARE = 0.2
OPEN_BIAS = 0.5
#: Share of the strings that keep a run of their stops in place, and the chance
#: that run stops growing at each further stop (SISR's split string, beta).
SPLIT_SHARE = 0.5
SPLIT_DEPTH = 0.01


def ruin(
    routes: list[list[int]], neighbours: np.ndarray, rng: random.Random
) -> tuple[list[list[int]], list[int]]:
    """Remove strings of stops from the routes nearest a random seed stop.

    A share of the strings keep a run of their stops in place (SISR's split
    string): the stops on either side of the run go, so recreate can put
    them back across it.

    Returns the ruined routes and the removed stops.
    """
    where = {stop: (r, i) for r, route in enumerate(routes) for i, stop in enumerate(route)}
    if not where:
        return routes, []
    seed = rng.choice(sorted(where))
    target = rng.randint(1, min(RUIN_SIZE, max(1, len(where) // 4)))
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
        removed.update(_string(routes[r], i, target - len(removed), rng))
    ruined = [[s for s in route if s not in removed] for route in routes]
    return ruined, sorted(removed)


def _string(route: list[int], at: int, most: int, rng: random.Random) -> list[int]:
    """A string of stops of ``route`` around position ``at``, at most ``most`` long."""
    length = rng.randint(1, min(len(route), MAX_STRING, most))
    kept = 0
    if length < len(route) and rng.random() < SPLIT_SHARE:
        kept = 1
        while kept < len(route) - length and rng.random() >= SPLIT_DEPTH:
            kept += 1
    span = length + kept
    begin = max(0, min(at - rng.randrange(span), len(route) - span))
    keep_from = begin + rng.randint(1, length) if kept else begin + span
    return route[begin:keep_from] + route[keep_from + kept : begin + span]


def route_cost(routes: list[list[int]], nodes: NodeData, first: int, penalties: bool = True) -> int:
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
ArcCache = dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, int]]
_CACHE_SIZE = 20_000


class Tables:
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


#: Rows of :class:`Arcs`' table, one column per arc.
_ROWS = (
    "tail",
    "head",
    "ready",
    "latest",
    "vehicle",
    "position",
    "flat_tail",
    "flat_head",
    "head_earliest",
    "room",
    "skip",
    "opening",
    "empty",
)


class Arcs:
    """Every arc of every route with what a cheapest insertion needs about it.

    Per arc: ``ready`` is the earliest start of service at its tail,
    ``latest`` the latest start at its head that keeps the rest of the route
    feasible, ``room`` the route's spare capacity, ``skip`` the arc's own
    cost, ``empty`` whether the route is empty (1) and ``opening`` the
    vehicle's fixed cost if so. The rows live in one ``int64`` table (one row
    per name in ``_ROWS``), so an insertion splices one array, not thirteen.
    """

    tail: np.ndarray
    head: np.ndarray
    ready: np.ndarray
    latest: np.ndarray
    vehicle: np.ndarray
    position: np.ndarray
    flat_tail: np.ndarray
    flat_head: np.ndarray
    head_earliest: np.ndarray
    room: np.ndarray
    skip: np.ndarray
    opening: np.ndarray
    empty: np.ndarray

    def __init__(self, routes: list[list[int]], tables: Tables, cache: ArcCache) -> None:
        self.routes = routes
        self.tables = tables
        self.cache = cache
        self.costs = [0] * len(routes)
        parts = [self._route_arcs(v) for v in range(len(routes))]
        self.table = np.concatenate(parts, axis=1)
        self.offsets = np.cumsum([0] + [part.shape[1] for part in parts])
        self._name_rows()

    def _name_rows(self) -> None:
        for name, row in zip(_ROWS, self.table, strict=True):
            setattr(self, name, row)

    def _route_arcs(self, v: int) -> np.ndarray:
        key = (v, tuple(self.routes[v]))
        entry = self.cache.get(key)
        if entry is None:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.clear()
            entry = self.cache[key] = self._compute_route_arcs(v)
        self.costs[v] = entry[1]
        return entry[0]

    def _compute_route_arcs(self, v: int) -> tuple[np.ndarray, int]:
        nodes, first = self.tables.nodes, self.tables.first
        profile = int(nodes.profile[v])
        time_matrix = nodes.time[profile]
        path = np.array([nodes.start[v], *(first + p for p in self.routes[v]), nodes.end[v]])
        tails, heads = path[:-1], path[1:]
        # The time recurrences run on Python ints: numpy scalars cost more per step.
        legs = time_matrix[tails, heads].tolist()
        ready = [int(nodes.shift_start[v])]
        for leg, opens in zip(legs, nodes.earliest[heads].tolist(), strict=True):
            ready.append(max(ready[-1] + leg, opens))
        latest = [int(nodes.shift_end[v])]
        for leg, closes in zip(reversed(legs), nodes.latest[tails].tolist()[::-1], strict=True):
            latest.append(min(latest[-1] - leg, closes))
        latest.reverse()
        count = len(path) - 1
        skip = nodes.cost[profile, tails, heads]
        empty = count == 1
        cost = 0 if empty else int(skip.sum() + nodes.fixed_cost[v])
        table = np.empty((len(_ROWS), count), dtype=np.int64)
        table[0], table[1] = tails, heads
        table[2], table[3] = ready[:-1], latest[1:]
        table[4], table[5] = v, np.arange(count)
        table[6] = tails + profile * self.tables.size
        table[7] = heads + profile * self.tables.size
        table[8] = nodes.earliest[heads]
        table[9] = nodes.capacity[v] - nodes.demand[path].sum()
        table[10] = skip
        table[11] = nodes.fixed_cost[v] if empty else 0
        table[12] = empty
        table.setflags(write=False)
        return table, cost

    def insert(self, stop: int, arc: int) -> None:
        """Insert ``stop`` (a position in ``model.stops``) on arc ``arc``."""
        v = int(self.vehicle[arc])
        self.routes[v].insert(int(self.position[arc]), stop)
        part = self._route_arcs(v)
        begin, end = self.offsets[v], self.offsets[v + 1]
        self.table = np.concatenate((self.table[:, :begin], part, self.table[:, end:]), axis=1)
        self.offsets[v + 1 :] += 1
        self._name_rows()


def recreate(
    routes: list[list[int]],
    removed: list[int],
    tables: Tables,
    rng: random.Random,
    noise: np.random.Generator,
    cache: ArcCache,
) -> tuple[list[list[int]], int]:
    """Insert ``removed`` one by one at their cheapest feasible place (with SISR blinks).

    An optional stop stays out when its cheapest insertion costs more than
    its penalty; a stop with no feasible place stays out (the polishing search
    may still find one). Returns the routes and their arc and fixed costs.
    """
    nodes, first = tables.nodes, tables.first
    arcs = Arcs([list(route) for route in routes], tables, cache)
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
            delta = np.where(arcs.empty == 1, (delta * OPEN_BIAS).astype(np.int64), delta)
        delta[~feasible] = np.iinfo(np.int64).max
        arc = int(np.argmin(delta))
        if delta[arc] >= nodes.penalty[stop]:
            continue
        arcs.insert(stop, arc)
    return arcs.routes, sum(arcs.costs)
