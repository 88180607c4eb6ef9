"""Trips on vans: fixed trips need as many vans as are ever out at once, movable ones chain."""

from __future__ import annotations

import numpy as np
import pytest

from optimization.routing import (
    RoutingProblem,
    RoutingSolution,
    Stop,
    TravelMatrices,
    Vehicle,
    check_solution,
)
from optimization.routing.linehaul_vans import (
    Trip,
    VanRules,
    movable,
    put_on_vans,
    schedule_vans,
    shifted,
    shuttle_route,
    van_clashes,
)

HOUR = 3_600


def _problem(stops: tuple[Stop, ...], vehicles: tuple[Vehicle, ...]) -> RoutingProblem:
    """A DC and two warehouses: 1 h and 3 h away."""
    duration = np.array([[0, HOUR, 3 * HOUR], [HOUR, 0, 2 * HOUR], [3 * HOUR, 2 * HOUR, 0]])
    return RoutingProblem("night", 0, TravelMatrices(duration, duration * 10), vehicles, stops)


def test_fixed_trips_take_as_many_vans_as_are_out_at_once() -> None:
    # Out at once: at most 2 (a and b, then b and c); d goes when both are back.
    trips = [Trip("a", 0, 0, 100), Trip("b", 50, 50, 200), Trip("c", 120, 120, 50),
             Trip("d", 400, 400, 10)]  # fmt: skip
    vans = schedule_vans(trips, reload_s=10, trips_per_van=3)
    assert vans.vans == 2 and vans.unplaced == ()
    assert vans.van["a"] == vans.van["c"] != vans.van["b"]
    assert vans.departure == {"a": 0, "b": 50, "c": 120, "d": 400}


def test_a_movable_trip_waits_for_a_van_instead_of_taking_a_new_one() -> None:
    trips = [Trip("far", 0, 0, 300), Trip("near", 0, 500, 100)]
    vans = schedule_vans(trips, reload_s=30, trips_per_van=2)
    assert vans.vans == 1
    assert vans.departure["near"] == 330  # back at 300, reloaded at 330


def test_a_van_drives_at_most_its_trips_a_night_and_the_fleet_is_capped() -> None:
    trips = [Trip(f"t{k}", 0, 1_000, 10) for k in range(5)]
    assert schedule_vans(trips, reload_s=0, trips_per_van=2).vans == 3
    capped = schedule_vans(trips, reload_s=0, trips_per_van=2, max_vans=2)
    assert capped.vans == 2 and len(capped.unplaced) == 1


def test_a_shuttle_leaves_so_it_arrives_as_the_window_opens_and_moves_whole() -> None:
    stop = Stop("W", 1, 8_000, 600, (2 * HOUR, 5 * HOUR))
    van = Vehicle("s1", 8_000, (0, 9 * HOUR))
    route = shuttle_route(_problem((stop,), (van,)), van, stop)
    assert route is not None
    assert (route.departure, route.arrivals, route.return_time) == (
        HOUR,
        (2 * HOUR,),
        3 * HOUR + 600,
    )
    trip = movable(route, van, {stop.id: stop.window})
    assert (trip.earliest, trip.latest) == (HOUR, 4 * HOUR)  # arrives by 5 h at the latest
    late = shifted(route, trip.latest)
    assert late.arrivals == (5 * HOUR,) and late.return_time == 6 * HOUR + 600


def test_no_shuttle_when_the_window_closes_before_a_van_can_arrive() -> None:
    stop = Stop("W", 2, 8_000, 600, (HOUR, 2 * HOUR))
    van = Vehicle("s1", 8_000, (0, 9 * HOUR))
    assert shuttle_route(_problem((stop,), (van,)), van, stop) is None


def test_routed_trips_and_shuttles_end_up_on_vans_in_one_checked_solution() -> None:
    near = [Stop(f"N{k}", 1, 8_000, 600, (0, 8 * HOUR)) for k in range(3)]
    far = Stop("F", 2, 8_000, 600, (0, 8 * HOUR))
    night = (0, 10 * HOUR)
    shuttles = [(Vehicle(f"s{k}", 8_000, night), s) for k, s in enumerate([*near, far])]
    problem = _problem((), (Vehicle("t1", 8_000, night),))
    empty = put_on_vans(problem, _empty(), [], VanRules(1_800, 3))
    assert empty.solution.routes == () and empty.van_of == {}
    plan = put_on_vans(problem, _empty(), shuttles, VanRules(1_800, 3))
    assert check_solution(plan.problem, plan.solution) == []
    assert len(plan.solution.routes) == 4 and plan.solution.unassigned == ()
    # The far trip (6 h 10 min) first, then one near trip (2 h 10 min) after it;
    # the other two near trips chain on a second van.
    assert sorted(plan.van_of.values()) == [1, 1, 2, 2]
    times = {r.vehicle: (r.departure, r.return_time) for r in plan.solution.routes}
    assert van_clashes(plan.van_of, times, 1_800) == []


def test_van_clashes_names_a_van_out_again_before_it_is_reloaded() -> None:
    times = {"a": (0, 100), "b": (110, 200)}
    (clash,) = van_clashes({"a": 1, "b": 1}, times, reload_s=30)
    assert "van 1 leaves on 'b' at 110" in clash


def test_rules_for_vans_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="trips per van must be at least 1"):
        VanRules(1_800, 0)
    with pytest.raises(ValueError, match="at least 1 van, got 0"):
        VanRules(1_800, 2, max_vans=0)


def _empty() -> RoutingSolution:
    return RoutingSolution((), (), 0, 0)
