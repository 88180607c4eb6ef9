"""Timing of a fixed visit sequence: the shortest-duration schedule.

The solver decides *which* stops a vehicle visits in which order; the times
reported in a solution come from here, not from OR-Tools' cumul variables, so
they are reproducible and minimal: service starts as early as possible, and
the departure is pushed as late as it can be without delaying the return
(so ``return - departure`` counts only the waiting that cannot be avoided).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from optimization.routing.problem import RoutingProblem, Stop, Vehicle


@dataclass(frozen=True)
class Schedule:
    """Departure, service start per stop, return time and driven distance."""

    departure: int
    arrivals: tuple[int, ...]
    return_time: int
    distance: int


def schedule_route(
    problem: RoutingProblem, vehicle: Vehicle, stops: Sequence[Stop]
) -> Schedule | None:
    """Time the visit sequence ``stops`` for ``vehicle``; ``None`` if no schedule fits.

    Parameters
    ----------
    problem
        The problem (matrices, depot).
    vehicle
        The vehicle driving the sequence (its profile, start, end and shift).
    stops
        The stops in visit order; may be empty (the vehicle stays unused).

    Returns
    -------
    Schedule or None
        The minimum-duration schedule, or ``None`` when a window or the shift
        end cannot be met.
    """
    matrices = problem.matrices_of(vehicle)
    duration, distance = matrices.duration, matrices.distance
    start, end = problem.start_of(vehicle), problem.end_of(vehicle)
    locations = [start, *(s.location for s in stops), end]
    legs = [int(duration[a, b]) for a, b in pairwise(locations)]
    driven = sum(int(distance[a, b]) for a, b in pairwise(locations))

    earliest = _forward(vehicle.shift[0], stops, legs)
    if earliest is None:
        return None
    return_time = earliest[-1]
    if return_time > vehicle.shift[1]:
        return None
    # Latest service starts that still return by `return_time`, walking back.
    latest = return_time
    for k in range(len(stops) - 1, -1, -1):
        latest = min(stops[k].window[1], latest - legs[k + 1] - stops[k].service)
    departure = max(vehicle.shift[0], latest - legs[0]) if stops else vehicle.shift[0]
    timed = _forward(departure, stops, legs)
    if timed is None:  # cannot happen: a later departure within the slack stays feasible
        return None
    return Schedule(departure, tuple(timed[:-1]), timed[-1], driven)


def _forward(departure: int, stops: Sequence[Stop], legs: Sequence[int]) -> list[int] | None:
    """Earliest service starts then the return time, or ``None`` if a window is missed."""
    times: list[int] = []
    clock = departure
    for k, stop in enumerate(stops):
        begin = max(clock + legs[k], stop.window[0])
        if begin > stop.window[1]:
            return None
        times.append(begin)
        clock = begin + stop.service
    times.append(clock + legs[len(stops)])
    return times
