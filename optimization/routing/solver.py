"""Solve a routing problem with OR-Tools and return a checked solution.

Steps: screen out stops no vehicle can serve (unassigned, with the reason);
build the native OR-Tools model (``model.py``); search under the time limit
(``search.py``); time each route with the minimum-duration schedule
(``schedule.py``); verify the result with the independent checker
(``checker.py``) before returning it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from optimization.routing.checker import InfeasibleSolutionError, check_solution
from optimization.routing.model import build_model
from optimization.routing.problem import (
    Route,
    RoutingProblem,
    RoutingSolution,
    Stop,
    Unassigned,
)
from optimization.routing.schedule import schedule_route
from optimization.routing.screening import unservable_stops
from optimization.routing.search import run_search

DROPPED_OPTIONAL = "dropped: serving it would cost more than its penalty"
DROPPED_MANDATORY = (
    "no feasible route found for it within the time limit "
    "(fleet capacity, shifts and windows together)"
)


@dataclass(frozen=True)
class SolveParams:
    """Search limits.

    ``time_limit`` is the wall-clock budget in seconds. ``seed`` (>= 0)
    varies the search deterministically (the order in which stops enter the
    model and the restarts); with ``solution_limit`` set, the run stops after
    that many improving solutions per search phase and is then reproducible
    for a given seed, as long as the time limit is not reached first.
    """

    time_limit: float = 10.0
    seed: int = 0
    solution_limit: int | None = None

    def __post_init__(self) -> None:
        if not self.time_limit > 0:
            raise ValueError(f"time limit must be > 0 seconds, got {self.time_limit}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError(f"solution limit must be >= 1, got {self.solution_limit}")


def solve(problem: RoutingProblem, params: SolveParams | None = None) -> RoutingSolution:
    """Route ``problem`` within ``params.time_limit`` and return a checked solution.

    Parameters
    ----------
    problem
        A validated routing problem.
    params
        Time limit, seed and optional solution limit (defaults: 10 s, seed 0).

    Returns
    -------
    RoutingSolution
        Routes of the used vehicles (in the problem's vehicle order) and every
        stop left out with its reason.

    Raises
    ------
    InfeasibleSolutionError
        If the assembled solution fails the independent check (a bug).
    """
    params = params or SolveParams()
    deadline = time.monotonic() + params.time_limit
    reasons = unservable_stops(problem)
    candidates = [s for s in problem.stops if s.id not in reasons]
    if params.seed:
        random.Random(params.seed).shuffle(candidates)

    routes: list[list[int]] = [[] for _ in problem.vehicles]
    if candidates:
        model = build_model(problem, candidates)
        routes = run_search(model, deadline, params.seed, params.solution_limit)
    solution = _assemble(problem, candidates, routes, reasons)
    errors = check_solution(problem, solution)
    if errors:
        raise InfeasibleSolutionError("; ".join(errors))
    return solution


def _assemble(
    problem: RoutingProblem,
    candidates: list[Stop],
    routes: list[list[int]],
    reasons: dict[str, str],
) -> RoutingSolution:
    served: set[str] = set()
    out: list[Route] = []
    distance = duration = 0
    for vehicle, visits in zip(problem.vehicles, routes, strict=True):
        if not visits:
            continue
        stops = [candidates[p] for p in visits]
        timing = schedule_route(problem, vehicle, stops)
        if timing is None:
            raise InfeasibleSolutionError(f"route of {vehicle.id!r} has no feasible schedule")
        out.append(
            Route(
                vehicle.id,
                tuple(s.id for s in stops),
                timing.arrivals,
                timing.departure,
                timing.return_time,
            )
        )
        served.update(s.id for s in stops)
        distance += timing.distance
        duration += timing.return_time - timing.departure
    unassigned = []
    for stop in problem.stops:
        if stop.id in served:
            continue
        reason = reasons.get(stop.id) or (DROPPED_MANDATORY if stop.mandatory else DROPPED_OPTIONAL)
        unassigned.append(Unassigned(stop.id, reason))
    return RoutingSolution(tuple(out), tuple(unassigned), distance, duration)
