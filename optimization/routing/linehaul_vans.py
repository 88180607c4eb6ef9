"""The line-haul's vans: every trip of the night put on a physical van.

A trip leaves the DC and comes back: a route the solver found, or a full-van
shuttle straight to one warehouse and back. Either may leave earlier or later
as a whole (every time moved alike) as far as its windows and shift allow.
:func:`schedule_vans` chains trips on vans: a van needs ``reload_s`` at the
DC between two trips and drives at most ``trips_per_van`` a night (a
driver's shift), and the fewer vans the better. :func:`put_on_vans` does it
for a routed problem and its shuttles and hands back one checked problem and
solution (a shuttle is a vehicle of its own), with each trip's van.

The greedy takes the trip that can leave first (ties: the one that must
leave soonest) and puts it on the van that wastes the least time waiting for
it (the one free the latest, but still in time), else on a new van at the
trip's earliest departure. On fixed trips this is interval partitioning,
which needs no more vans than trips ever under way at once. On movable ones
it is a heuristic: on the first large night (737 trips) it used 480 vans,
where the fewest possible is at least 470 (a cover of the trips by feasible
one-van sequences, bounded by CP-SAT in 120 s), in 0.1 s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from optimization.routing.checker import InfeasibleSolutionError, check_solution
from optimization.routing.problem import (
    Route,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Unassigned,
    Vehicle,
)


@dataclass(frozen=True)
class Trip:
    """A trip to put on a van: it may leave from ``earliest`` to ``latest`` (seconds)
    and takes ``length`` seconds from departure back to the DC."""

    vehicle: str
    earliest: int
    latest: int
    length: int

    def __post_init__(self) -> None:
        if self.latest < self.earliest:
            raise ValueError(f"trip {self.vehicle!r}: latest departure before its earliest")
        if self.length < 0:
            raise ValueError(f"trip {self.vehicle!r}: length must be >= 0, got {self.length}")


@dataclass(frozen=True)
class VanRules:
    """How vans work the night: ``reload_s`` at the DC between two trips, at most
    ``trips_per_van`` trips each, at most ``max_vans`` vans (``None``: as many as needed)."""

    reload_s: int
    trips_per_van: int
    max_vans: int | None = None

    def __post_init__(self) -> None:
        if self.reload_s < 0:
            raise ValueError(f"reload time must be >= 0 s, got {self.reload_s}")
        if self.trips_per_van < 1:
            raise ValueError(f"trips per van must be at least 1, got {self.trips_per_van}")
        if self.max_vans is not None and self.max_vans < 1:
            raise ValueError(f"the fleet must have at least 1 van, got {self.max_vans}")


@dataclass(frozen=True)
class VanPlan:
    """A checked problem and solution (routed trips and shuttles) and each trip's van (1, 2, …:
    by first departure)."""

    problem: RoutingProblem
    solution: RoutingSolution
    van_of: dict[str, int]


@dataclass(frozen=True)
class VanSchedule:
    """Which van drives each placed trip (``0, 1, …``) and when it leaves; trips left over."""

    van: dict[str, int]
    departure: dict[str, int]
    unplaced: tuple[str, ...]

    @property
    def vans(self) -> int:
        """Vans used."""
        return len(set(self.van.values()))


def schedule_vans(
    trips: list[Trip], reload_s: int, trips_per_van: int, max_vans: int | None = None
) -> VanSchedule:
    """Put ``trips`` on as few vans as the greedy finds (see the module docstring).

    Parameters
    ----------
    trips
        The night's trips.
    reload_s
        Time at the DC between a van's return and its next departure.
    trips_per_van
        The most trips one van drives a night.
    max_vans
        The fleet; ``None``: as many vans as the trips need.

    Returns
    -------
    VanSchedule
        Trips no van can take in time (only when ``max_vans`` is set) are ``unplaced``.
    """
    free_at: list[int] = []
    driven: list[int] = []
    van: dict[str, int] = {}
    departure: dict[str, int] = {}
    unplaced: list[str] = []
    for trip in sorted(trips, key=lambda t: (t.earliest, t.latest, t.vehicle)):
        able = [
            j
            for j, free in enumerate(free_at)
            if driven[j] < trips_per_van and max(free, trip.earliest) <= trip.latest
        ]
        if able:
            chosen = max(able, key=lambda j: free_at[j])
        elif max_vans is None or len(free_at) < max_vans:
            chosen = len(free_at)
            free_at.append(trip.earliest)
            driven.append(0)
        else:
            unplaced.append(trip.vehicle)
            continue
        leaves = max(free_at[chosen], trip.earliest)
        van[trip.vehicle], departure[trip.vehicle] = chosen, leaves
        free_at[chosen] = leaves + trip.length + reload_s
        driven[chosen] += 1
    return VanSchedule(van, departure, tuple(unplaced))


def put_on_vans(
    problem: RoutingProblem,
    solution: RoutingSolution,
    shuttles: list[tuple[Vehicle, Stop]],
    rules: VanRules,
) -> VanPlan:
    """Put ``solution``'s routes (at their times) and the ``shuttles`` on vans.

    Parameters
    ----------
    problem, solution
        The routed trips: their times are kept.
    shuttles
        Each a vehicle (its shift: the night) driving straight to its stop and back.
    rules
        Reloading, trips per van, the fleet.

    Returns
    -------
    VanPlan
        ``problem`` with the shuttles' vehicles and stops added; a shuttle that
        cannot arrive in its window, or a trip no van of the fleet is free
        for, is unassigned with the reason.

    Raises
    ------
    InfeasibleSolutionError
        If the plan fails the independent check of its routes or vans (a bug).
    """
    problem = RoutingProblem(
        problem.name,
        problem.depot,
        problem.matrices,
        problem.vehicles + tuple(v for v, _ in shuttles),
        problem.stops + tuple(s for _, s in shuttles),
        problem.profiles,
        problem.objective,
    )
    drafts = list(solution.routes)
    unassigned = list(solution.unassigned)
    for vehicle, stop in shuttles:
        route = shuttle_route(problem, vehicle, stop)
        if route is None:
            unassigned.append(Unassigned(stop.id, _too_far(problem, vehicle, stop)))
        else:
            drafts.append(route)
    vehicles = {v.id: v for v in problem.vehicles}
    windows = {s.id: s.window for s in problem.stops}
    trips = [movable(r, vehicles[r.vehicle], windows) for r in drafts]
    vans = schedule_vans(trips, rules.reload_s, rules.trips_per_van, rules.max_vans)
    routes = [shifted(r, vans.departure[r.vehicle]) for r in drafts if r.vehicle in vans.van]
    stops_of = {r.vehicle: r.stops for r in drafts}
    unassigned += [
        Unassigned(stop, f"no van of the fleet of {rules.max_vans} is free to drive it in time")
        for vehicle in vans.unplaced
        for stop in stops_of[vehicle]
    ]
    checked = _solution(problem, routes, unassigned)
    van_of = _numbered(vans, checked.routes)
    times = {r.vehicle: (r.departure, r.return_time) for r in checked.routes}
    errors = check_solution(problem, checked) + van_clashes(van_of, times, rules.reload_s)
    if errors:
        raise InfeasibleSolutionError("; ".join(errors))
    return VanPlan(problem, checked, van_of)


def _too_far(problem: RoutingProblem, vehicle: Vehicle, stop: Stop) -> str:
    minutes = int(problem.matrices_of(vehicle).duration[problem.start_of(vehicle), stop.location])
    return (
        f"a van driving straight there ({minutes // 60} min) cannot start unloading inside "
        "the window and be back by the end of the night"
    )


def _solution(
    problem: RoutingProblem, routes: list[Route], unassigned: list[Unassigned]
) -> RoutingSolution:
    """Routes in the problem's vehicle order (as the solver gives them) and their totals."""
    order = {v.id: k for k, v in enumerate(problem.vehicles)}
    vehicles = {v.id: v for v in problem.vehicles}
    location = {s.id: s.location for s in problem.stops}
    routes = sorted(routes, key=lambda r: order[r.vehicle])
    driven = 0
    for route in routes:
        vehicle = vehicles[route.vehicle]
        path = [problem.start_of(vehicle), *(location[s] for s in route.stops)]
        path.append(problem.end_of(vehicle))
        distance = problem.matrices_of(vehicle).distance
        driven += sum(int(distance[a, b]) for a, b in pairwise(path))
    duration = sum(r.return_time - r.departure for r in routes)
    return RoutingSolution(tuple(routes), tuple(unassigned), driven, duration)


def _numbered(vans: VanSchedule, routes: tuple[Route, ...]) -> dict[str, int]:
    """Each route's van, the vans numbered 1, 2, … by their first departure."""
    first_out: dict[int, int] = {}
    for route in routes:
        van = vans.van[route.vehicle]
        first_out[van] = min(first_out.get(van, route.departure), route.departure)
    ranked = sorted(first_out, key=lambda v: (first_out[v], v))
    number = {van: k + 1 for k, van in enumerate(ranked)}
    return {r.vehicle: number[vans.van[r.vehicle]] for r in routes}


def shuttle_route(problem: RoutingProblem, vehicle: Vehicle, stop: Stop) -> Route | None:
    """``vehicle`` driving straight to ``stop`` and back, leaving as early as it can
    without waiting for the window to open; ``None`` if it cannot start unloading
    inside the window or not be back by the end of its shift."""
    duration = problem.matrices_of(vehicle).duration
    start, end = problem.start_of(vehicle), problem.end_of(vehicle)
    out, back = int(duration[start, stop.location]), int(duration[stop.location, end])
    arrival = max(stop.window[0], vehicle.shift[0] + out)
    ready = arrival + stop.service + back
    if arrival > stop.window[1] or ready > vehicle.shift[1]:
        return None
    return Route(vehicle.id, (stop.id,), (arrival,), arrival - out, ready)


def movable(route: Route, vehicle: Vehicle, windows: Mapping[str, tuple[int, int]]) -> Trip:
    """``route`` as a trip that may leave earlier or later, every time moved alike.

    Moving a whole route keeps every leg, wait and service as it was; it may
    move as far as ``vehicle``'s shift and each stop's window (by stop id) allow.
    """
    early = [vehicle.shift[0] - route.departure]
    late = [vehicle.shift[1] - route.return_time]
    for stop, arrival in zip(route.stops, route.arrivals, strict=True):
        early.append(windows[stop][0] - arrival)
        late.append(windows[stop][1] - arrival)
    length = route.return_time - route.departure
    return Trip(route.vehicle, route.departure + max(early), route.departure + min(late), length)


def shifted(route: Route, departure: int) -> Route:
    """``route`` leaving at ``departure`` instead, every time moved alike."""
    by = departure - route.departure
    arrivals = tuple(a + by for a in route.arrivals)
    return Route(route.vehicle, route.stops, arrivals, departure, route.return_time + by)


def van_clashes(
    van_of: dict[str, int], times: dict[str, tuple[int, int]], reload_s: int
) -> list[str]:
    """Every van that leaves again before it is back and reloaded (an empty list: none).

    ``times`` maps each trip's vehicle to its departure and return. Independent
    of :func:`schedule_vans`, to check the plan that is handed on.
    """
    by_van: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for vehicle, name in van_of.items():
        by_van[name].append((*times[vehicle], vehicle))
    errors = []
    for name, trips in sorted(by_van.items()):
        for (_, back, first), (out, _, second) in pairwise(sorted(trips)):
            if out < back + reload_s:
                errors.append(
                    f"van {name} leaves on {second!r} at {out}, before it is back from "
                    f"{first!r} and reloaded ({back + reload_s})"
                )
    return errors
