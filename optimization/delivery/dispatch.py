"""30-minute store delivery from one forward warehouse: rolling-horizon and naive dispatch.

Model (one forward warehouse, one day, times in seconds since local midnight):

- An order is known from its ``arrival_s`` on, never before (no look-ahead).
  Its parts are packed and ready at the warehouse counter ``pick_s`` later;
  it is delivered when the rider has handed it over at the store (arrival +
  ``service_s``); it is on time when delivered by ``arrival_s + promise_s``.
- A rider works in trips: warehouse -> stores -> warehouse. Every trip starts
  empty at the warehouse (an order is picked up there before it is
  delivered), so a rider's state is just the time it is next free at the
  warehouse. The shift start is a hard bound; the shift end is not: a rider
  finishes the orders still open instead of losing them (the overtime shows
  in rider-hours).

:func:`dispatch_rolling` re-plans every ``tick_s`` over the orders known and
not yet picked up: one small OR-Tools model per tick (a vehicle per rider,
its start no earlier than the time it is free; the deadline is a soft upper
bound on the arrival with a lateness cost per second, plus a hard cap), then
commits the trips that leave before the next tick and leaves the rest to the
next plan. A trip that is not full and whose orders could all wait one more
tick with ``hold_s`` to spare is held back, so that later orders can join it.

:func:`dispatch_naive` is the baseline: each order alone, by the first free
rider, in arrival order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimization.routing.problem import TravelMatrices

_FSS = routing_enums_pb2.FirstSolutionStrategy
_LSM = routing_enums_pb2.LocalSearchMetaheuristic
#: Cost of leaving an order out of a plan (it stays open for the next tick).
_DROP_PENALTY = 10_000_000
_DAY_S = 86_400


@dataclass(frozen=True)
class DeliveryTimes:
    """The components of the 30-minute promise (seconds).

    ``pick_s``: order received -> parts packed at the warehouse counter;
    ``service_s``: handover at the store; ``promise_s``: order -> delivered.
    """

    pick_s: int = 120
    service_s: int = 60
    promise_s: int = 1800

    def __post_init__(self) -> None:
        for name in ("pick_s", "service_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.promise_s <= self.pick_s + self.service_s:
            raise ValueError(
                f"promise_s must exceed pick_s + service_s, got {self.promise_s} <= "
                f"{self.pick_s + self.service_s}"
            )


@dataclass(frozen=True)
class DispatchOrder:
    """An order to deliver: ``location`` indexes the travel matrices (0 is the warehouse).

    ``due_s``: the handover promised to the store, when it was promised a time
    (:mod:`optimization.delivery.promise`); else the 30-minute promise from its
    arrival applies (:meth:`due`). ``quote``: the order is being priced, not
    yet placed (a promise is being worked out for it).
    """

    id: str
    location: int
    arrival_s: int
    size: int
    due_s: int | None = None
    quote: bool = False

    def __post_init__(self) -> None:
        if self.location < 1:
            raise ValueError(f"order {self.id!r}: location must be a store (>= 1)")
        if self.size < 0:
            raise ValueError(f"order {self.id!r}: size must be >= 0, got {self.size}")
        if self.due_s is not None and self.due_s <= self.arrival_s:
            raise ValueError(f"order {self.id!r}: due_s must come after arrival_s")

    def due(self, times: DeliveryTimes) -> int:
        """When the handover must be done: the time promised, or arrival + the promise."""
        return self.due_s if self.due_s is not None else self.arrival_s + times.promise_s


@dataclass(frozen=True)
class Rider:
    """A rider: capacity (same unit as order sizes) and shift (start, end) in seconds."""

    id: str
    capacity: int
    shift: tuple[int, int]

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"rider {self.id!r}: capacity must be >= 1, got {self.capacity}")
        if not 0 <= self.shift[0] < self.shift[1]:
            raise ValueError(f"rider {self.id!r}: shift must be 0 <= start < end, got {self.shift}")


@dataclass(frozen=True, eq=False)
class TravelClock:
    """Travel matrices by local hour (24 entries; location 0 is the warehouse)."""

    by_hour: tuple[TravelMatrices, ...]

    def __post_init__(self) -> None:
        if len(self.by_hour) != 24:
            raise ValueError(f"by_hour needs 24 matrices, got {len(self.by_hour)}")

    @classmethod
    def constant(cls, matrices: TravelMatrices) -> TravelClock:
        """The same matrices at every hour."""
        return cls((matrices,) * 24)

    def at(self, t_s: int) -> TravelMatrices:
        """The matrices for a trip starting at ``t_s``."""
        return self.by_hour[(t_s % _DAY_S) // 3600]


@dataclass(frozen=True)
class DispatchParams:
    """Rolling-horizon settings.

    ``tick_s``: re-planning period; ``time_limit_s``: hard bound on one
    tick's search; ``search``: ``gls`` (guided local search for
    ``gls_s_per_order`` x open orders, within the bound) or ``greedy`` (local
    search to the first local optimum: deterministic); ``lateness_cost``:
    objective units (seconds ridden) per second late; ``buffer_s``: the plan
    aims that much before the deadline (travel varies by the hour); ``max_late_s``: hard cap
    on lateness inside one plan (an order already past it gets ``max_late_s``
    from now); ``hold_s``: hold a trip that is not full while all its orders
    keep this slack after waiting one tick (``None``: leave at once);
    ``gls_solutions``: guided local search also stops after that many
    solutions (``None``: only its time bound stops it). A tick's model is
    small (a handful of orders): on the medium network's largest warehouse,
    50 solutions halved the day's search time (17 s instead of 30 s) and
    needed the same riders (29) at the same rider-hours. The search stays
    bounded by the clock too, so a loaded machine can still plan a little
    worse than an idle one.
    """

    tick_s: int = 120
    time_limit_s: float = 1.0
    search: Literal["gls", "greedy"] = "gls"
    gls_s_per_order: float = 0.01
    lateness_cost: int = 1000
    buffer_s: int = 60
    max_late_s: int = 1800
    hold_s: int | None = 180
    gls_solutions: int | None = 50

    def __post_init__(self) -> None:
        if self.tick_s < 1:
            raise ValueError(f"tick_s must be >= 1, got {self.tick_s}")
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s}")
        if self.search not in ("gls", "greedy"):
            raise ValueError(f"search must be 'gls' or 'greedy', got {self.search!r}")
        if self.lateness_cost < 0 or self.buffer_s < 0 or self.max_late_s < 1:
            raise ValueError("lateness_cost and buffer_s must be >= 0, max_late_s >= 1")
        if self.hold_s is not None and self.hold_s < 0:
            raise ValueError(f"hold_s must be >= 0 or None, got {self.hold_s}")
        if self.gls_solutions is not None and self.gls_solutions < 1:
            raise ValueError(f"gls_solutions must be >= 1 or None, got {self.gls_solutions}")


#: ``reveal(tick_s, order, open_orders, free_s_by_rider) -> order`` (see dispatch_rolling).
Reveal = Callable[[int, DispatchOrder, Sequence[DispatchOrder], Mapping[str, int]], DispatchOrder]


@dataclass(frozen=True)
class Trip:
    """A committed trip: warehouse -> ``orders`` in order -> warehouse.

    ``arrivals_s`` are the arrivals at the stores (handover starts);
    ``committed_s`` is when the dispatcher decided it.
    """

    rider: str
    orders: tuple[str, ...]
    departure_s: int
    arrivals_s: tuple[int, ...]
    return_s: int
    distance_m: int
    committed_s: int


@dataclass(frozen=True)
class TickStat:
    """One re-planning: when, how many open orders and riders, search time, trips committed."""

    at_s: int
    open_orders: int
    riders: int
    solve_s: float
    committed: int


@dataclass(frozen=True)
class DispatchResult:
    """The trips of the day (every order exactly once) and the ticks that solved a model.

    ``stopped_s``: the replay was given a ``late_limit`` and stopped at this
    time, once more orders than that were committed late; ``trips`` then hold
    only what was committed until then (a fleet-size probe that has already
    failed need not ride to the end of the day).
    """

    trips: tuple[Trip, ...]
    ticks: tuple[TickStat, ...]
    stopped_s: int | None = None


def handovers(trips: Sequence[Trip], times: DeliveryTimes) -> dict[str, int]:
    """When each order of ``trips`` is handed over (arrival at the store + service), by id."""
    return {
        oid: a + times.service_s
        for trip in trips
        for oid, a in zip(trip.orders, trip.arrivals_s, strict=True)
    }


def late_orders(
    trips: Sequence[Trip], orders: Sequence[DispatchOrder], times: DeliveryTimes
) -> int:
    """How many orders of ``trips`` are handed over after their promise."""
    arrived = {o.id: o.arrival_s for o in orders}
    return sum(
        done - arrived[oid] > times.promise_s for oid, done in handovers(trips, times).items()
    )


def schedule_trip(
    rider: str,
    orders: Sequence[DispatchOrder],
    earliest_s: int,
    travel: TravelClock,
    times: DeliveryTimes,
    committed_s: int,
) -> Trip:
    """Time a trip leaving no earlier than ``earliest_s`` nor before its parts are ready.

    Travel uses the matrices of the departure hour for the whole trip.
    """
    departure = max([earliest_s] + [o.arrival_s + times.pick_s for o in orders])
    matrices = travel.at(departure)
    duration, distance = matrices.duration, matrices.distance
    clock, here, metres = departure, 0, 0
    arrivals: list[int] = []
    for order in orders:
        clock += int(duration[here, order.location])
        metres += int(distance[here, order.location])
        arrivals.append(clock)
        clock += times.service_s
        here = order.location
    return Trip(
        rider,
        tuple(o.id for o in orders),
        departure,
        tuple(arrivals),
        clock + int(duration[here, 0]),
        metres + int(distance[here, 0]),
        committed_s,
    )


def dispatch_naive(
    orders: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    travel: TravelClock,
    times: DeliveryTimes | None = None,
    late_limit: int | None = None,
) -> DispatchResult:
    """Each order alone, by the first free rider, in arrival order.

    Parameters
    ----------
    orders
        The day's orders (any order; they are taken by arrival, then id).
    riders
        The fleet; a tie between free riders goes to the first listed.
    travel
        Matrices by hour.
    times
        Pick, handover and promise times.
    late_limit
        Stop once more orders than this are late (see :class:`DispatchResult`).

    Returns
    -------
    DispatchResult
        One trip per order; no ticks (nothing is solved).
    """
    if not riders:
        raise ValueError("dispatch needs at least one rider")
    times = times or DeliveryTimes()
    free = [r.shift[0] for r in riders]
    trips: list[Trip] = []
    late = 0
    for order in sorted(orders, key=lambda o: (o.arrival_s, o.id)):
        k = min(range(len(riders)), key=lambda i: free[i])
        trip = schedule_trip(riders[k].id, [order], free[k], travel, times, order.arrival_s)
        free[k] = trip.return_s
        trips.append(trip)
        late += late_orders([trip], [order], times)
        if late_limit is not None and late > late_limit:
            return DispatchResult(tuple(trips), (), stopped_s=order.arrival_s)
    return DispatchResult(tuple(trips), ())


def dispatch_rolling(
    orders: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    travel: TravelClock,
    times: DeliveryTimes | None = None,
    params: DispatchParams | None = None,
    late_limit: int | None = None,
    reveal: Reveal | None = None,
) -> DispatchResult:
    """Replay the day: every tick, plan the open orders and commit the trips leaving now.

    Parameters
    ----------
    orders
        The day's orders; each is revealed to the planner only at the first
        tick at or after its ``arrival_s``.
    riders
        The fleet.
    travel
        Matrices by hour (a tick plans with the matrices of its hour).
    times
        Pick, handover and promise times.
    params
        Tick, search and lateness settings.
    late_limit
        Stop once more orders than this are committed late (see
        :class:`DispatchResult`).
    reveal
        Called as each order becomes known, in arrival order, with the tick,
        the order, the orders still open and when each rider is next free; the
        order it returns is the one planned (a promise sets its ``due_s``).

    Returns
    -------
    DispatchResult
        The committed trips (every order exactly once) and one
        :class:`TickStat` per tick that solved a model.
    """
    if not riders:
        raise ValueError("dispatch needs at least one rider")
    times = times or DeliveryTimes()
    params = params or DispatchParams()
    pending = sorted(orders, key=lambda o: (o.arrival_s, o.id))
    if not pending:
        return DispatchResult((), ())
    free = {r.id: r.shift[0] for r in riders}
    tick = params.tick_s
    now = -(-pending[0].arrival_s // tick) * tick
    known: list[DispatchOrder] = []
    trips: list[Trip] = []
    ticks: list[TickStat] = []
    position = 0
    late = 0
    while position < len(pending) or known:
        while position < len(pending) and pending[position].arrival_s <= now:
            order = pending[position]
            known.append(order if reveal is None else reveal(now, order, tuple(known), free))
            position += 1
        next_tick = now + tick
        if known and min(free.values()) < next_tick:
            started = time.perf_counter()
            plan = plan_tick(now, known, riders, free, travel, times, params)
            solve_s = time.perf_counter() - started
            committed = _commit(now, plan, riders, free, travel, times, params)
            for trip in committed:
                free[trip.rider] = trip.return_s
            done = {o for trip in committed for o in trip.orders}
            known = [o for o in known if o.id not in done]
            trips.extend(committed)
            ticks.append(TickStat(now, len(plan.orders), len(plan.riders), solve_s, len(committed)))
            late += late_orders(committed, plan.orders, times)
            if late_limit is not None and late > late_limit:
                return DispatchResult(tuple(trips), tuple(ticks), stopped_s=now)
        now = next_tick
        if not known and position < len(pending):
            # Nothing open: jump to the tick that reveals the next order.
            now = max(now, -(-pending[position].arrival_s // tick) * tick)
    return DispatchResult(tuple(trips), tuple(ticks))


@dataclass(frozen=True)
class TickPlan:
    """One tick's plan: for each planned rider, the positions (in ``orders``) it serves."""

    orders: tuple[DispatchOrder, ...]
    riders: tuple[Rider, ...]
    routes: tuple[tuple[int, ...], ...]


def plan_tick(
    now: int,
    known: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    free: dict[str, int],
    travel: TravelClock,
    times: DeliveryTimes,
    params: DispatchParams,
) -> TickPlan:
    """Plan the open orders on the riders' next trips with OR-Tools (one trip per rider).

    Nodes: 0 the warehouse, then one per order. Time transit ``i -> j`` is the
    handover at ``i`` plus the travel time, registered as a native matrix.
    A rider's start is bounded below by the time it is free (and its shift
    start); an order's arrival by its ready time plus the direct ride. The
    arrival has a soft upper bound at the deadline minus the handover
    (``lateness_cost`` a second) and a hard cap ``max_late_s`` after that.
    Each order is optional with a drop penalty growing with its age, so an
    order that fits no trip this tick stays open for the next.

    An order being quoted (:attr:`DispatchOrder.quote`) weighs a tenth of the
    others' lateness: it goes as early as it can without making one of them late.
    """
    orders = tuple(known)
    plan_riders = _candidates(now, orders, riders, free, times)
    matrices = travel.at(now)
    locations = [0] + [o.location for o in orders]
    service = [0] + [times.service_s] * len(orders)
    transit = [
        [
            0 if a == b else service[a] + int(matrices.duration[la, lb])
            for b, lb in enumerate(locations)
        ]
        for a, la in enumerate(locations)
    ]
    max_capacity = max(r.capacity for r in plan_riders)
    demand = [0] + [min(o.size, max_capacity) for o in orders]

    manager = pywrapcp.RoutingIndexManager(len(locations), len(plan_riders), 0)
    routing = pywrapcp.RoutingModel(manager)
    transit_eval = routing.RegisterTransitMatrix(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(transit_eval)
    horizon = 3 * _DAY_S
    routing.AddDimension(transit_eval, horizon, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")
    load_eval = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(
        load_eval, 0, [r.capacity for r in plan_riders], True, "load"
    )
    # "departure" is constant along a trip (no transit, no slack) and equal to the
    # trip's start time, so a lower bound on it at an order node is exactly
    # "the trip leaves after this order's parts are ready".
    routing.AddConstantDimension(0, horizon, False, "departure")
    departure = routing.GetDimensionOrDie("departure")
    solver = routing.solver()
    for v, rider in enumerate(plan_riders):
        start = routing.Start(v)
        clock.CumulVar(start).SetMin(max(now, free[rider.id], rider.shift[0]))
        solver.Add(departure.CumulVar(start) == clock.CumulVar(start))
    for k, order in enumerate(orders, start=1):
        index = manager.NodeToIndex(k)
        ready = order.arrival_s + times.pick_s
        deadline = order.due(times) - times.service_s - params.buffer_s
        cap = max(deadline, now) + params.max_late_s
        departure.CumulVar(index).SetMin(ready)
        earliest = ready + int(matrices.duration[0, order.location])
        clock.CumulVar(index).SetRange(earliest, max(cap, earliest))
        weight = params.lateness_cost // 10 if order.quote else params.lateness_cost
        clock.SetCumulVarSoftUpperBound(index, deadline, weight)
        overdue = max(0, now - order.arrival_s)
        routing.AddDisjunction([index], _DROP_PENALTY + params.lateness_cost * overdue)

    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = _FSS.PARALLEL_CHEAPEST_INSERTION
    seconds = params.time_limit_s
    if params.search == "gls":
        search.local_search_metaheuristic = _LSM.GUIDED_LOCAL_SEARCH
        seconds = min(seconds, 0.02 + params.gls_s_per_order * len(orders))
        if params.gls_solutions is not None:
            search.solution_limit = params.gls_solutions
    else:
        search.local_search_metaheuristic = _LSM.GREEDY_DESCENT
    search.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    solution = routing.SolveWithParameters(search)
    return TickPlan(orders, plan_riders, _routes(routing, manager, solution))


def _candidates(
    now: int,
    orders: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    free: dict[str, int],
    times: DeliveryTimes,
) -> tuple[Rider, ...]:
    """Riders worth a vehicle: free within a promise from now; idle ones at most one per order.

    Idle riders are interchangeable, so more of them than orders only slows the search.
    """
    start = {r.id: max(now, free[r.id], r.shift[0]) for r in riders}
    ranked = sorted(riders, key=lambda r: start[r.id])
    chosen: list[Rider] = []
    idle = 0
    for rider in ranked:
        if chosen and start[rider.id] >= now + times.promise_s:
            break
        if start[rider.id] == now:
            idle += 1
            if idle > len(orders):
                continue
        chosen.append(rider)
    return tuple(chosen)


def _routes(routing: Any, manager: Any, solution: Any) -> tuple[tuple[int, ...], ...]:
    if solution is None:
        return tuple(() for _ in range(routing.vehicles()))
    routes: list[tuple[int, ...]] = []
    for v in range(routing.vehicles()):
        visits: list[int] = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            visits.append(int(manager.IndexToNode(index)) - 1)
            index = solution.Value(routing.NextVar(index))
        routes.append(tuple(visits))
    return tuple(routes)


def _commit(
    now: int,
    plan: TickPlan,
    riders: Sequence[Rider],
    free: dict[str, int],
    travel: TravelClock,
    times: DeliveryTimes,
    params: DispatchParams,
) -> list[Trip]:
    """The planned trips that leave before the next tick and are not held back."""
    next_tick = now + params.tick_s
    committed: list[Trip] = []
    for rider, route in zip(plan.riders, plan.routes, strict=True):
        if not route:
            continue
        stops = [plan.orders[p] for p in route]
        earliest = max(now, free[rider.id], rider.shift[0])
        trip = schedule_trip(rider.id, stops, earliest, travel, times, now)
        if trip.departure_s >= next_tick:
            continue
        if params.hold_s is not None and sum(o.size for o in stops) < rider.capacity:
            slack = min(
                o.due(times) - (a + times.service_s)
                for o, a in zip(stops, trip.arrivals_s, strict=True)
            )
            if slack - params.tick_s >= params.hold_s:
                continue
        committed.append(trip)
    return committed
