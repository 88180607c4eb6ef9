"""Independent feasibility check of a routing solution.

Re-derives everything from the problem and the reported routes, trusting
nothing the solver computed: each stop is served exactly once or listed as
unassigned (with a reason), vehicles exist and are used once, loads fit,
every leg is long enough for the travel time, services start inside their
windows, routes stay inside the shift, and the totals add up. It shares no
code with the solver or the scheduler on purpose.
"""

from __future__ import annotations

from collections import Counter

from optimization.routing.problem import RoutingProblem, RoutingSolution


class InfeasibleSolutionError(RuntimeError):
    """A solution failed the feasibility check (a solver bug, never bad input)."""


def check_solution(problem: RoutingProblem, solution: RoutingSolution) -> list[str]:
    """Return every violation found in ``solution`` (an empty list means feasible).

    Parameters
    ----------
    problem
        The problem the solution claims to solve.
    solution
        Routes, unassigned stops and totals to verify.

    Returns
    -------
    list of str
        One plain sentence per violation.
    """
    errors: list[str] = []
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}

    served = Counter(stop_id for route in solution.routes for stop_id in route.stops)
    unassigned = Counter(u.stop for u in solution.unassigned)
    for stop_id in sorted(set(served) | set(unassigned)):
        if stop_id not in stops:
            errors.append(f"stop {stop_id!r} is not in the problem")
        elif served[stop_id] + unassigned[stop_id] > 1:
            errors.append(
                f"stop {stop_id!r} appears {served[stop_id]} time(s) in routes and "
                f"{unassigned[stop_id]} time(s) in unassigned"
            )
    for stop_id in stops:
        if served[stop_id] + unassigned[stop_id] == 0:
            errors.append(f"stop {stop_id!r} is neither served nor unassigned")
    for item in solution.unassigned:
        if not item.reason.strip():
            errors.append(f"unassigned stop {item.stop!r} has no reason")

    used = Counter(route.vehicle for route in solution.routes)
    for vehicle_id, count in used.items():
        if vehicle_id not in vehicles:
            errors.append(f"vehicle {vehicle_id!r} is not in the problem")
        elif count > 1:
            errors.append(f"vehicle {vehicle_id!r} drives {count} routes")

    total_distance = 0
    total_duration = 0
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None or any(s not in stops for s in route.stops):
            continue
        where = f"route of {vehicle.id!r}"
        if len(route.arrivals) != len(route.stops):
            errors.append(f"{where}: {len(route.stops)} stops but {len(route.arrivals)} arrivals")
            continue
        matrices = problem.profiles[vehicle.profile] if vehicle.profile else problem.matrices
        start = problem.depot if vehicle.start is None else vehicle.start
        end = problem.depot if vehicle.end is None else vehicle.end
        load = sum(stops[s].demand for s in route.stops)
        if load > vehicle.capacity:
            errors.append(f"{where}: load {load} exceeds capacity {vehicle.capacity}")
        if route.departure < vehicle.shift[0]:
            errors.append(f"{where}: departs at {route.departure} before shift start")
        if route.return_time > vehicle.shift[1]:
            errors.append(f"{where}: returns at {route.return_time} after shift end")

        location, ready = start, route.departure
        for stop_id, begin in zip(route.stops, route.arrivals, strict=True):
            stop = stops[stop_id]
            travel = int(matrices.duration[location, stop.location])
            if begin < ready + travel:
                errors.append(
                    f"{where}: service at {stop_id!r} starts at {begin}, "
                    f"before it can be reached ({ready + travel})"
                )
            if not stop.window[0] <= begin <= stop.window[1]:
                errors.append(
                    f"{where}: service at {stop_id!r} starts at {begin}, "
                    f"outside its window [{stop.window[0]}, {stop.window[1]}]"
                )
            total_distance += int(matrices.distance[location, stop.location])
            location, ready = stop.location, begin + stop.service
        back = ready + int(matrices.duration[location, end])
        if route.return_time < back:
            errors.append(
                f"{where}: returns at {route.return_time}, before it can be back ({back})"
            )
        total_distance += int(matrices.distance[location, end])
        total_duration += route.return_time - route.departure

    if not errors:
        if solution.distance != total_distance:
            errors.append(f"distance is {solution.distance}, routes add up to {total_distance}")
        if solution.duration != total_duration:
            errors.append(f"duration is {solution.duration}, routes add up to {total_duration}")
    return errors
