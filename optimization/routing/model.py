"""The OR-Tools routing model of a problem (building it, reading routes back).

Nodes are the vehicles' start/end locations followed by one node per stop
(several stops may share a location). Every matrix is registered natively
(``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``), so the search
never calls back into Python:

- time transit ``i -> j`` = service at ``i`` + travel time, one matrix per
  profile; a ``time`` dimension with waiting allowed holds the windows and the
  shifts;
- a ``load`` dimension holds the capacities;
- the arc cost is the profile's distance (objective ``distance``) or its time
  transit with a unit cost on waiting (objective ``duration``: the route's
  span exactly);
- each stop is a disjunction: its own penalty when optional, a penalty larger
  than any solution's cost when mandatory, so the search always has a
  solution to return and leaves a mandatory stop out only when it must.

OR-Tools is untyped; this module is the only place that touches its model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from optimization.routing.problem import IntMatrix, RoutingProblem, Stop

#: Ceiling of any penalty handed to OR-Tools (costs are int64; leave headroom).
_MAX_PENALTY = 2**50


@dataclass(frozen=True, eq=False)
class NodeData:
    """The model's data by node, for insertion heuristics outside OR-Tools.

    ``time[profile[v], i, j]`` is vehicle ``v``'s time transit (service at
    ``i`` plus travel) and ``cost[profile[v], i, j]`` its arc cost, exactly
    as registered with OR-Tools.
    """

    time: np.ndarray
    cost: np.ndarray
    profile: np.ndarray
    #: Earliest and latest start of service per node (terminals: the horizon).
    earliest: np.ndarray
    latest: np.ndarray
    demand: np.ndarray
    #: Per vehicle: capacity, shift bounds, start and end nodes, fixed cost.
    capacity: np.ndarray
    shift_start: np.ndarray
    shift_end: np.ndarray
    start: np.ndarray
    end: np.ndarray
    fixed_cost: np.ndarray
    #: Per stop position: the drop penalty handed to OR-Tools.
    penalty: np.ndarray


@dataclass
class RoutingModel:
    """An OR-Tools model and the mapping between its nodes and the problem's stops."""

    manager: Any
    routing: Any
    stops: tuple[Stop, ...]
    mandatory_penalty: int
    #: Location-to-location travel times used to rank neighbouring stops.
    neighbour_matrix: IntMatrix
    #: Node data for the ruin-and-recreate heuristic (``search.py``).
    nodes: NodeData

    @property
    def first_stop_node(self) -> int:
        """Node of ``stops[0]``; earlier nodes are vehicle terminals."""
        return int(self.manager.GetNumberOfNodes()) - len(self.stops)

    def stop_at(self, index: int) -> Stop:
        """The stop of a routing index (which must not be a terminal)."""
        return self.stops[int(self.manager.IndexToNode(index)) - self.first_stop_node]

    def index_of(self, position: int) -> int:
        """Routing index of ``stops[position]``."""
        return int(self.manager.NodeToIndex(self.first_stop_node + position))

    def routes(self, assignment: Any) -> list[list[int]]:
        """Positions in ``stops`` visited by each vehicle, in order."""
        routing = self.routing
        result: list[list[int]] = []
        for v in range(routing.vehicles()):
            visits: list[int] = []
            index = assignment.Value(routing.NextVar(routing.Start(v)))
            while not routing.IsEnd(index):
                visits.append(int(self.manager.IndexToNode(index)) - self.first_stop_node)
                index = assignment.Value(routing.NextVar(index))
            result.append(visits)
        return result

    def assignment_from(self, routes: Sequence[Sequence[int]]) -> Any:
        """A start assignment for routes given as stop positions per vehicle (``None`` if invalid).

        ``RoutesToAssignment`` only sets the successor variables; the search
        that starts from it checks feasibility. (``ReadAssignmentFromRoutes``
        propagates under the previous search's limits and fails at random
        once that search used its whole time limit.)
        """
        node_routes = [[self.first_stop_node + p for p in route] for route in routes]
        assignment = self.routing.solver().Assignment()
        if not self.routing.RoutesToAssignment(node_routes, True, True, assignment):
            return None
        return assignment


def _node_matrix(matrix: IntMatrix, locations: np.ndarray, add: np.ndarray | None) -> np.ndarray:
    sub = matrix[np.ix_(locations, locations)].astype(np.int64)
    if add is not None:
        sub = sub + add[:, None]
    np.fill_diagonal(sub, 0)
    sub.setflags(write=False)
    return sub


def build_model(problem: RoutingProblem, stops: Sequence[Stop]) -> RoutingModel:
    """Build the OR-Tools model for ``stops`` (the servable subset of the problem's).

    Parameters
    ----------
    problem
        The full problem (vehicles, matrices, objective).
    stops
        The stops to route, in node order.

    Returns
    -------
    RoutingModel
        The model, ready for search parameters.
    """
    vehicles = problem.vehicles
    terminals = sorted(
        {problem.start_of(v) for v in vehicles} | {problem.end_of(v) for v in vehicles}
    )
    terminal_node = {loc: k for k, loc in enumerate(terminals)}
    locations = np.array(terminals + [s.location for s in stops], dtype=np.int64)
    service = np.array([0] * len(terminals) + [s.service for s in stops], dtype=np.int64)
    demand = [0] * len(terminals) + [s.demand for s in stops]

    manager = pywrapcp.RoutingIndexManager(
        len(locations),
        len(vehicles),
        [terminal_node[problem.start_of(v)] for v in vehicles],
        [terminal_node[problem.end_of(v)] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)

    profile_names = sorted({v.profile or "" for v in vehicles})
    time_eval: dict[str, int] = {}
    cost_eval: dict[str, int] = {}
    time_matrix: dict[str, np.ndarray] = {}
    cost_matrix: dict[str, np.ndarray] = {}
    for name in profile_names:
        matrices = problem.profiles[name] if name else problem.matrices
        time_matrix[name] = _node_matrix(matrices.duration, locations, service)
        time_eval[name] = routing.RegisterTransitMatrix(time_matrix[name].tolist())
        if problem.objective == "distance":
            cost_matrix[name] = _node_matrix(matrices.distance, locations, None)
            cost_eval[name] = routing.RegisterTransitMatrix(cost_matrix[name].tolist())
        else:
            cost_matrix[name] = time_matrix[name]
            cost_eval[name] = time_eval[name]

    horizon = max([v.shift[1] for v in vehicles] + [s.window[1] for s in stops])
    routing.AddDimensionWithVehicleTransits(
        [time_eval[v.profile or ""] for v in vehicles], horizon, horizon, False, "time"
    )
    time = routing.GetDimensionOrDie("time")
    load_eval = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(
        load_eval, 0, [v.capacity for v in vehicles], True, "load"
    )

    for v, vehicle in enumerate(vehicles):
        routing.SetArcCostEvaluatorOfVehicle(cost_eval[vehicle.profile or ""], v)
        if vehicle.fixed_cost:
            routing.SetFixedCostOfVehicle(vehicle.fixed_cost, v)
        time.CumulVar(routing.Start(v)).SetRange(*vehicle.shift)
        time.CumulVar(routing.End(v)).SetRange(*vehicle.shift)
    if problem.objective == "duration":
        time.SetSlackCostCoefficientForAllVehicles(1)

    mandatory_penalty = _mandatory_penalty(problem, stops)
    first = len(terminals)
    penalties = []
    for k, stop in enumerate(stops):
        index = manager.NodeToIndex(first + k)
        time.CumulVar(index).SetRange(*stop.window)
        penalty = mandatory_penalty if stop.penalty is None else min(stop.penalty, _MAX_PENALTY)
        routing.AddDisjunction([index], penalty)
        penalties.append(penalty)

    nodes = NodeData(
        time=np.stack([time_matrix[name] for name in profile_names]),
        cost=np.stack([cost_matrix[name] for name in profile_names]),
        profile=np.array([profile_names.index(v.profile or "") for v in vehicles]),
        earliest=np.array([0] * first + [s.window[0] for s in stops], dtype=np.int64),
        latest=np.array([horizon] * first + [s.window[1] for s in stops], dtype=np.int64),
        demand=np.array(demand, dtype=np.int64),
        capacity=np.array([v.capacity for v in vehicles], dtype=np.int64),
        shift_start=np.array([v.shift[0] for v in vehicles], dtype=np.int64),
        shift_end=np.array([v.shift[1] for v in vehicles], dtype=np.int64),
        start=np.array([terminal_node[problem.start_of(v)] for v in vehicles], dtype=np.int64),
        end=np.array([terminal_node[problem.end_of(v)] for v in vehicles], dtype=np.int64),
        fixed_cost=np.array([v.fixed_cost for v in vehicles], dtype=np.int64),
        penalty=np.array(penalties, dtype=np.int64),
    )
    return RoutingModel(
        manager, routing, tuple(stops), mandatory_penalty, problem.matrices.duration, nodes
    )


def _mandatory_penalty(problem: RoutingProblem, stops: Sequence[Stop]) -> int:
    """A drop penalty above any solution's total cost, so serving always wins when possible."""
    biggest_leg = 0
    for matrices in [problem.matrices, *problem.profiles.values()]:
        biggest_leg = max(biggest_leg, int(matrices.duration.max()), int(matrices.distance.max()))
    longest_shift = max(v.shift[1] - v.shift[0] for v in problem.vehicles)
    bound = (
        2 * len(stops) * (biggest_leg + max((s.service for s in stops), default=0))
        + len(problem.vehicles) * longest_shift
        + sum(v.fixed_cost for v in problem.vehicles)
        + sum(min(s.penalty or 0, _MAX_PENALTY) for s in stops)
    )
    return min(bound + 1, _MAX_PENALTY)
