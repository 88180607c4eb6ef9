"""Stops no vehicle can serve on its own, found before the search.

A stop whose demand exceeds every capacity, or whose window cannot be met by
any vehicle driving straight from its start to the stop and on to its end
within the shift, is unservable whatever the other stops do. Such stops are
reported as unassigned with the reason, and kept out of the OR-Tools model.
"""

from __future__ import annotations

from optimization.routing.problem import RoutingProblem, Stop, Vehicle


def _serves_alone(problem: RoutingProblem, vehicle: Vehicle, stop: Stop) -> bool:
    duration = problem.matrices_of(vehicle).duration
    start, end = problem.start_of(vehicle), problem.end_of(vehicle)
    begin = max(vehicle.shift[0] + int(duration[start, stop.location]), stop.window[0])
    back = begin + stop.service + int(duration[stop.location, end])
    return begin <= stop.window[1] and back <= vehicle.shift[1]


def unservable_stops(problem: RoutingProblem) -> dict[str, str]:
    """Map the id of each stop no vehicle can serve, even alone, to the reason.

    Parameters
    ----------
    problem
        The routing problem.

    Returns
    -------
    dict of str to str
        Stop id to a one-line reason, for the unservable stops only.
    """
    reasons: dict[str, str] = {}
    largest = max(v.capacity for v in problem.vehicles)
    for stop in problem.stops:
        if stop.demand > largest:
            reasons[stop.id] = (
                f"demand {stop.demand} exceeds every vehicle capacity (max {largest})"
            )
            continue
        able = [v for v in problem.vehicles if v.capacity >= stop.demand]
        if not any(_serves_alone(problem, v, stop) for v in able):
            reasons[stop.id] = (
                f"window [{stop.window[0]}, {stop.window[1]}] cannot be met by any vehicle "
                "large enough within its shift"
            )
    return reasons
