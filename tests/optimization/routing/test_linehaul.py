"""The nightly line-haul: loads from the plan, split drops, windows before opening, route rows."""

from __future__ import annotations

import itertools
import math
import time as time_module
from collections import Counter
from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from optimization.routing import check_solution
from optimization.routing.linehaul import (
    LINEHAUL_LOADS,
    ROUTE_ROWS,
    SITES,
    LinehaulParams,
    linehaul_loads,
    plan_linehaul,
    route_rows,
)

AS_OF = date(2026, 11, 20)
SITES_FRAME = pl.DataFrame(
    [
        ("DC01", 31.10, 121.20),
        ("FW001", 31.20, 121.40),
        ("FW002", 31.25, 121.45),
        ("FW003", 31.00, 121.50),
    ],
    schema=SITES,
    orient="row",
)
FAST = LinehaulParams(time_limit_s=1.0)


def _loads(volumes: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [("DC01", w, v, int(v)) for w, v in volumes.items()], schema=LINEHAUL_LOADS, orient="row"
    )


def test_loads_count_allocated_litres_due_tomorrow_only() -> None:
    plan = pl.DataFrame(
        {
            "dc_id": ["DC01"] * 4,
            "warehouse_id": ["FW001", "FW001", "FW001", "FW002"],
            "allocated_quantity": [4, 2, 9, 0],
            "lead_time_days": [0, 0, 3, 0],
            "unit_volume_l": [10.0, 2.5, 1.0, 5.0],
        }
    )
    loads = linehaul_loads(plan)
    assert loads.schema == LINEHAUL_LOADS
    assert loads.rows() == [("DC01", "FW001", 45.0, 6)]


def test_every_warehouse_is_served_before_opening_by_as_few_vans_as_fit() -> None:
    plans = plan_linehaul(_loads({"FW001": 3000, "FW002": 2500, "FW003": 2000}), SITES_FRAME, FAST)
    (plan,) = plans
    assert check_solution(plan.problem, plan.solution) == []
    assert plan.solution.unassigned == ()
    assert len(plan.solution.routes) == 1  # 7,500 l fit one 8,000 l van
    deliver_by = FAST.offset(time(6, 30))
    assert all(a <= deliver_by for r in plan.solution.routes for a in r.arrivals)


def test_a_load_above_a_van_is_split_into_drops_on_several_vans() -> None:
    (plan,) = plan_linehaul(_loads({"FW001": 19_000, "FW002": 100}), SITES_FRAME, FAST)
    drops = [s for s in plan.problem.stops if plan.stop_warehouse[s.id] == "FW001"]
    assert len(drops) == 3
    assert sum(plan.stop_volume[s.id] for s in drops) == pytest.approx(19_000)
    assert all(s.demand <= FAST.van_capacity_l for s in plan.problem.stops)
    assert plan.solution.unassigned == ()
    assert len(plan.solution.routes) == 3


def test_full_vans_go_straight_there_and_only_the_rest_is_routed() -> None:
    (plan,) = plan_linehaul(_loads({"FW001": 19_000, "FW002": 100}), SITES_FRAME, FAST)
    assert check_solution(plan.problem, plan.solution) == []
    stops_of = {r.vehicle: r.stops for r in plan.solution.routes}
    shuttles = {v: s for v, s in stops_of.items() if v.startswith("DC01-s")}
    # Two full vans of FW001's 19,000 l, each its own trip; its 3,000 l left with FW002's 100 l.
    assert sorted(shuttles.values()) == [("FW001#1",), ("FW001#2",)]
    assert all(plan.stop_volume[s] == 8_000 for (s,) in shuttles.values())
    (routed,) = [s for v, s in stops_of.items() if v not in shuttles]
    assert sorted(routed) == ["FW001#3", "FW002"]
    assert plan.delivered_l == pytest.approx(19_100)
    assert plan.fill == pytest.approx(19_100 / (3 * 8_000))


def test_a_fleet_too_small_leaves_drops_unassigned_with_a_reason() -> None:
    params = LinehaulParams(vans=1, trips_per_van=1, time_limit_s=1.0)
    (plan,) = plan_linehaul(_loads({"FW001": 7000, "FW002": 7000}), SITES_FRAME, params)
    assert len(plan.solution.unassigned) == 1
    assert plan.unassigned_volume_l == pytest.approx(7000)
    assert "no feasible route" in plan.solution.unassigned[0].reason


def test_vans_do_several_trips_and_never_two_at_once() -> None:
    loads = _loads({"FW001": 7000, "FW002": 7000, "FW003": 7000, "DC01": 0.0})
    (plan,) = plan_linehaul(loads.filter(pl.col("volume_l") > 0), SITES_FRAME, FAST)
    assert plan.solution.unassigned == ()
    assert plan.trips == 3
    assert plan.vans_needed < plan.trips  # a van goes out again after reloading
    by_van: dict[str, list[tuple[int, int]]] = {}
    for route in plan.solution.routes:
        by_van.setdefault(plan.van_of[route.vehicle], []).append(
            (route.departure, route.return_time)
        )
    for trips in by_van.values():
        trips.sort()
        for (_, back), (out, _) in itertools.pairwise(trips):
            assert out >= back + FAST.reload_s


def _ring(count: int, km: float) -> pl.DataFrame:
    """A DC out of town and ``count`` warehouses on a circle ``km`` around the town centre."""
    centre = (31.23, 121.47)
    rows = [("DC01", centre[0] + 0.1, centre[1] + 0.35)]
    for k in range(count):
        angle = 2 * math.pi * k / count
        rows.append(
            (
                f"FW{k + 1:03d}",
                centre[0] + km / 111 * math.sin(angle),
                centre[1] + km / 95 * math.cos(angle),
            )
        )
    return pl.DataFrame(rows, schema=SITES, orient="row")


def test_a_first_night_of_hundreds_of_full_vans_is_delivered_in_seconds() -> None:
    # Like the first large night (2026-12-06): 30 warehouses, ~5.9 million litres,
    # ~740 drops. Routed as drops on ~744 trips, the solver found no first solution in
    # its budget and left every litre unassigned.
    sites = _ring(30, 25)
    volumes: dict[str, float] = {
        w: 150_000 + 3_700 * k for k, w in enumerate(sites["warehouse_id"][1:])
    }
    started = time_module.perf_counter()
    (plan,) = plan_linehaul(_loads(volumes), sites, FAST)
    took = time_module.perf_counter() - started
    assert check_solution(plan.problem, plan.solution) == []
    assert plan.unassigned_volume_l == 0
    assert plan.delivered_l == pytest.approx(sum(volumes.values()))
    full = sum(int(v // FAST.van_capacity_l) for v in volumes.values())
    assert plan.trips >= full + 1 and plan.fill > 0.95
    trips_per_van = Counter(plan.van_of.values())
    assert max(trips_per_van.values()) <= FAST.trips_per_van
    assert plan.vans_needed < plan.trips  # near warehouses get a van's second trip
    assert took < 30


def test_a_warehouse_too_far_for_the_night_is_unassigned_with_the_reason() -> None:
    sites = pl.concat(
        [SITES_FRAME, pl.DataFrame([("FW009", 33.5, 121.5)], schema=SITES, orient="row")]
    )
    (plan,) = plan_linehaul(_loads({"FW001": 9_000, "FW009": 16_000}), sites, FAST)
    assert check_solution(plan.problem, plan.solution) == []
    late = {u.stop: u.reason for u in plan.solution.unassigned}
    assert set(late) == {"FW009#1", "FW009#2"}
    assert "cannot start unloading inside the window" in late["FW009#1"]
    assert plan.unassigned_volume_l == pytest.approx(16_000)
    assert plan.delivered_l == pytest.approx(9_000)


def test_a_fleet_cap_leaves_the_shuttles_no_van_can_take_unassigned() -> None:
    params = LinehaulParams(vans=1, trips_per_van=2, time_limit_s=1.0)
    (plan,) = plan_linehaul(_loads({"FW001": 24_000}), SITES_FRAME, params)
    assert check_solution(plan.problem, plan.solution) == []
    assert plan.vans_needed == 1 and plan.trips == 2
    (left,) = plan.solution.unassigned
    assert left.reason == "no van of the fleet of 1 is free to drive it in time"
    assert plan.unassigned_volume_l == pytest.approx(8_000)


def test_route_rows_follow_each_van_from_the_dc_and_back_in_utc() -> None:
    plans = plan_linehaul(_loads({"FW001": 3000, "FW003": 1000}), SITES_FRAME, FAST)
    rows = route_rows(plans, AS_OF, FAST)
    assert rows.schema == ROUTE_ROWS
    assert rows["stop_id"].to_list()[0] == "depart"
    assert rows["stop_id"].to_list()[-1] == "return"
    assert rows["seq"].to_list() == list(range(rows.height))
    # 23:00 in Shanghai is 15:00 UTC on the planning day.
    assert rows["arrival"][0] == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert rows["arrival"].is_sorted()
    assert rows["distance_m"].is_sorted() and rows["distance_m"][-1] == plans[0].solution.distance
    assert rows["load"][0] == pytest.approx(4000)


def test_a_warehouse_without_coordinates_is_refused() -> None:
    with pytest.raises(ValueError, match="'FW009' has no coordinates"):
        plan_linehaul(_loads({"FW009": 10}), SITES_FRAME, FAST)


def test_a_night_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="depart < deliver_by <= return_by"):
        LinehaulParams(deliver_by=time(22, 30))
