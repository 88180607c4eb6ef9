"""Vehicle routing: problem types, travel times, the OR-Tools solver and its checker."""

from optimization.routing.checker import InfeasibleSolutionError, check_solution
from optimization.routing.problem import (
    Objective,
    Route,
    RoutingProblem,
    RoutingSolution,
    Stop,
    TravelMatrices,
    Unassigned,
    Vehicle,
)
from optimization.routing.schedule import Schedule, schedule_route
from optimization.routing.screening import unservable_stops
from optimization.routing.solver import SolveParams, solve
from optimization.routing.travel import (
    DEFAULT_PROFILES,
    HaversineProvider,
    SpeedProfile,
    TravelTimeProvider,
    haversine_m,
)

__all__ = [
    "DEFAULT_PROFILES",
    "HaversineProvider",
    "InfeasibleSolutionError",
    "Objective",
    "Route",
    "RoutingProblem",
    "RoutingSolution",
    "Schedule",
    "SolveParams",
    "SpeedProfile",
    "Stop",
    "TravelMatrices",
    "TravelTimeProvider",
    "Unassigned",
    "Vehicle",
    "check_solution",
    "haversine_m",
    "schedule_route",
    "solve",
    "unservable_stops",
]
