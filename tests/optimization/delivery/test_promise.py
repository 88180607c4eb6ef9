"""The dispatcher as the promise engine (optimization/delivery/promise.py)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from optimization.delivery.day_replay import day_instances, make_riders
from optimization.delivery.dispatch import (
    DispatchOrder,
    dispatch_rolling,
    handovers,
    late_orders,
)
from optimization.delivery.promise import (
    WarehouseNow,
    dispatch_promised,
    earliest_handover,
    next_tick,
    promise_handover,
)
from tests.optimization.delivery.test_day_replay import PARAMS, WAREHOUSES, at, orders_frame

TIMES, DISPATCH = PARAMS.times, PARAMS.dispatch


def _day(orders_per_store: int, gap_s: int) -> pl.DataFrame:
    """FW1's morning: three stores 1.1-3.3 km away ordering in turn every ``gap_s``."""
    stores = [("S1", 31.21), ("S2", 31.22), ("S3", 31.23)]
    rows = []
    for k in range(3 * orders_per_store):
        store, lat = stores[k % 3]
        rows.append((f"O{k:02d}", "FW1", store, at(9, 0) + timedelta(seconds=gap_s * k), 5.0, lat))
    return orders_frame(rows)


def test_an_idle_warehouse_promises_the_orders_own_work_and_one_tick() -> None:
    """Nothing ahead: pick, the direct ride and the handover, planned at the next tick,
    plus the margin; never less than the order's own work."""
    (fw1,) = day_instances(_day(1, 600), WAREHOUSES, PARAMS)
    order = fw1.orders[2]  # the farthest store, placed at 09:20
    riders = tuple(make_riders(3, PARAMS))
    idle = WarehouseNow(riders, {r.id: r.shift[0] for r in riders})
    own = earliest_handover(order, fw1.travel, TIMES)
    ride = int(fw1.travel.at(order.arrival_s).duration[0, order.location])
    assert own == order.arrival_s + TIMES.pick_s + ride + TIMES.service_s
    for margin in (0, 120, 600):
        due = promise_handover(order, idle, fw1.travel, TIMES, DISPATCH, margin_s=margin)
        assert due >= own
        tick = next_tick(order.arrival_s, DISPATCH)  # the dispatcher plans it then
        assert due == max(own, tick + TIMES.pick_s + ride + TIMES.service_s) + margin or (
            margin == 0 and due == own
        )


def test_riders_all_out_push_the_promise_past_their_return() -> None:
    (fw1,) = day_instances(_day(1, 600), WAREHOUSES, PARAMS)
    order = fw1.orders[0]
    riders = tuple(make_riders(2, PARAMS))
    back = order.arrival_s + 1500  # both riders return 25 minutes after the order
    busy = WarehouseNow(riders, dict.fromkeys((r.id for r in riders), back))
    ride = int(fw1.travel.at(back).duration[0, order.location])
    due = promise_handover(order, busy, fw1.travel, TIMES, DISPATCH, margin_s=0)
    assert due >= back + ride + TIMES.service_s > earliest_handover(order, fw1.travel, TIMES)


def test_open_orders_ahead_never_make_the_promise_earlier() -> None:
    (fw1,) = day_instances(_day(4, 60), WAREHOUSES, PARAMS)
    *ahead, order = fw1.orders
    riders = tuple(make_riders(1, PARAMS))
    free = {riders[0].id: order.arrival_s}
    alone = promise_handover(order, WarehouseNow(riders, free), fw1.travel, TIMES, DISPATCH)
    queued = WarehouseNow(riders, free, tuple(ahead))
    assert promise_handover(order, queued, fw1.travel, TIMES, DISPATCH) >= alone


@pytest.mark.parametrize(
    ("orders_per_store", "gap_s", "riders"), [(12, 100, 4), (20, 45, 6), (20, 45, 8)]
)
def test_every_order_is_delivered_by_its_promise_in_the_day_replay(
    orders_per_store: int, gap_s: int, riders: int
) -> None:
    """A morning replayed as a store system uses it: each order promised a time as it
    becomes known, then dispatched against it. Every promise holds and none is earlier
    than the order's own work; the promises spread with the load, and keeping them
    costs the 30-minute rule at most one order against the same morning unpromised."""
    (fw1,) = day_instances(_day(orders_per_store, gap_s), WAREHOUSES, PARAMS)
    fleet = make_riders(riders, PARAMS)
    result, promised = dispatch_promised(fw1.orders, fleet, fw1.travel, TIMES, DISPATCH)
    by_id = {o.id: o for o in fw1.orders}
    handed = handovers(result.trips, TIMES)
    assert sorted(promised) == sorted(handed) == sorted(by_id)
    for oid, due in promised.items():
        assert earliest_handover(by_id[oid], fw1.travel, TIMES) <= due
        assert handed[oid] <= due, oid
    waits = [due - by_id[oid].arrival_s for oid, due in promised.items()]
    assert max(waits) > min(waits)
    plain = dispatch_rolling(fw1.orders, fleet, fw1.travel, TIMES, DISPATCH)
    late = late_orders(result.trips, fw1.orders, TIMES)
    assert late <= late_orders(plain.trips, fw1.orders, TIMES) + 1


def test_a_promise_needs_riders_and_a_margin_of_zero_or_more() -> None:
    with pytest.raises(ValueError, match="at least one rider"):
        WarehouseNow((), {})
    riders = tuple(make_riders(1, PARAMS))
    with pytest.raises(ValueError, match="no free time"):
        WarehouseNow(riders, {})
    (fw1,) = day_instances(_day(1, 600), WAREHOUSES, PARAMS)
    state = WarehouseNow(riders, {riders[0].id: 0})
    with pytest.raises(ValueError, match="margin_s"):
        promise_handover(fw1.orders[0], state, fw1.travel, margin_s=-1)
    with pytest.raises(ValueError, match="due_s must come after"):
        DispatchOrder("x", 1, 100, 1, due_s=100)
