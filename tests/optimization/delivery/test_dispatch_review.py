"""The dispatch review's day replay (flows.dispatch.replay_day): warehouses side by side in
worker processes give what they give in turn, and each says what it needs when done."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from polars.testing import assert_frame_equal

from flows.dispatch import replay_day
from flows.progress import progress
from optimization.delivery.day_replay import DAY_KPIS
from tests.optimization.delivery.test_day_replay import PARAMS, WAREHOUSES, at, orders_frame
from tests.test_progress import _drawn, _terminal


def _two_warehouses() -> pl.DataFrame:
    """FW1: 30 orders in an hour from 3 stores; FW2: 12 from one store."""
    rows = []
    for k in range(30):
        store, lat = [("S1", 31.21), ("S2", 31.22), ("S3", 31.23)][k % 3]
        rows.append((f"O{k:02d}", "FW1", store, at(9, 0) + timedelta(seconds=120 * k), 5.0, lat))
    for k in range(12):
        rows.append((f"P{k:02d}", "FW2", "S9", at(10, 0) + timedelta(seconds=300 * k), 5.0, 31.51))
    return orders_frame(rows)


def test_warehouses_replayed_by_two_workers_give_what_one_process_gives() -> None:
    orders = _two_warehouses()
    alone = replay_day.fn(orders, WAREHOUSES, None, workers=1, params=PARAMS)
    side_by_side = replay_day.fn(orders, WAREHOUSES, None, workers=2, params=PARAMS)
    clock = ["tick_solve_p50_s", "tick_solve_p99_s"]  # wall-clock: the only difference
    assert_frame_equal(alone[0].drop(clock), side_by_side[0].drop(clock))
    assert_frame_equal(alone[1], side_by_side[1])
    kpis, times = side_by_side
    assert kpis.select("warehouse_id", "dispatcher").rows() == [
        ("FW1", "naive"),
        ("FW1", "rolling"),
        ("FW2", "naive"),
        ("FW2", "rolling"),
    ]
    assert kpis["fleet_sized"].all() and (kpis["on_time_rate"] >= 0.99).all()
    assert set(kpis.columns) == {*DAY_KPIS.names(), "fleet_sized"}
    assert times["orders"].sum() == 2 * orders.height


def test_each_warehouse_done_prints_a_line_on_the_terminal() -> None:
    with (
        _terminal() as (stream, reader),
        progress("dispatch: warehouses replayed", stream=stream) as bar,
    ):
        kpis, _ = replay_day.fn(_two_warehouses(), WAREHOUSES, 3, workers=1, params=PARAMS)
        bar.refresh()
        drawn = _drawn(reader)
    fw1 = {r["dispatcher"]: r for r in kpis.filter(warehouse_id="FW1").iter_rows(named=True)}
    line = (
        f"FW1 30 orders · rolling 3 riders {fw1['rolling']['on_time_rate']:.1%}"
        f" {fw1['rolling']['rider_hours']:,.0f} h · naive 3 riders"
    )
    assert line in drawn
    assert "FW2 12 orders · rolling 3 riders" in drawn
    assert "2/2" in drawn
