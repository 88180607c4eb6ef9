"""Day simulation, KPIs and fleet sizing on a hand-built warehouse day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from optimization.delivery.day_replay import (
    DAY_KPIS,
    DAY_ORDERS,
    DELIVERY_CAP_MIN,
    DELIVERY_TIMES,
    SimParams,
    day_instances,
    delivery_times,
    run_instance,
    simulate_day,
    size_fleet,
    smallest_fleet,
)
from optimization.delivery.dispatch import (
    DispatchParams,
    DispatchResult,
    Rider,
    Trip,
    dispatch_naive,
    dispatch_rolling,
    late_orders,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 2, 7)
#: Greedy search: deterministic and quick.
PARAMS = SimParams(dispatch=DispatchParams(search="greedy"))
#: One forward warehouse; stores about 1.1, 2.2 and 3.3 km north of it.
WAREHOUSES = pl.DataFrame(
    {
        "warehouse_id": ["DC1", "FW1", "FW2"],
        "kind": ["dc", "forward", "forward"],
        "lat": [31.0, 31.2, 31.5],
        "lon": [121.0, 121.4, 121.4],
    }
)


def orders_frame(rows: list[tuple[str, str, str, datetime, float, float]]) -> pl.DataFrame:
    """(order_id, warehouse_id, store_id, local time, volume_l, lat) at lon 121.4."""
    return pl.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "warehouse_id": [r[1] for r in rows],
            "store_id": [r[2] for r in rows],
            "channel": ["store"] * len(rows),
            "ordered_at": [r[3].replace(tzinfo=SHANGHAI) for r in rows],
            "units": [1] * len(rows),
            "volume_l": [r[4] for r in rows],
            "lat": [r[5] for r in rows],
            "lon": [121.4] * len(rows),
        },
        schema=DAY_ORDERS,
    )


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second)


@pytest.fixture(scope="module")
def busy_morning() -> pl.DataFrame:
    """FW1: 36 orders over an hour from 3 stores (one every 100 s); FW2: one order."""
    stores = [("S1", 31.21), ("S2", 31.22), ("S3", 31.23)]
    rows = []
    for k in range(36):
        store, lat = stores[k % 3]
        when = at(9, 0) + timedelta(seconds=100 * k)
        rows.append((f"O{k:02d}", "FW1", store, when, 5.0, lat))
    rows.append(("P1", "FW2", "S9", at(10, 0), 5.0, 31.51))
    return orders_frame(rows)


def test_orders_become_seconds_since_local_midnight_and_decilitres() -> None:
    frame = orders_frame(
        [
            ("early", "FW1", "S1", at(7, 15), 2.34, 31.21),
            ("a", "FW1", "S1", at(9, 30, 5), 0.03, 31.21),
        ]
    )
    (instance,) = day_instances(frame, WAREHOUSES, PARAMS)
    by_id = {o.id: o for o in instance.orders}
    assert (instance.warehouse_id, instance.day) == ("FW1", DAY)
    assert by_id["a"].arrival_s == 9 * 3600 + 30 * 60 + 5
    assert by_id["early"].arrival_s == PARAMS.shift[0]  # released when the shift starts
    assert (by_id["early"].size, by_id["a"].size) == (24, 1)


def test_one_kpi_row_per_warehouse_dispatcher_and_day(busy_morning: pl.DataFrame) -> None:
    kpis = simulate_day(busy_morning, WAREHOUSES, {"FW1": 4, "FW2": 1}, PARAMS)
    assert kpis.schema == DAY_KPIS
    assert kpis.select("warehouse_id", "dispatcher").rows() == [
        ("FW1", "rolling"),
        ("FW1", "naive"),
        ("FW2", "rolling"),
        ("FW2", "naive"),
    ]
    assert kpis["day"].unique().to_list() == [DAY]
    assert kpis.filter(warehouse_id="FW1")["orders"].to_list() == [36, 36]


def test_kpis_follow_their_definitions(busy_morning: pl.DataFrame) -> None:
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    result, row = run_instance(fw1, 3, "naive", PARAMS)
    shift_h = (PARAMS.shift[1] - PARAMS.shift[0]) / 3600
    busy = sum(t.return_s - t.departure_s for t in result.trips) / 3600
    assert row["trips"] == 36 and row["orders_per_trip"] == 1.0
    assert row["riders"] == 3 and row["riders_used"] == 3
    assert row["rider_hours"] == pytest.approx(3 * shift_h)
    assert row["busy_hours"] == pytest.approx(busy)
    assert row["utilisation"] == pytest.approx(busy / (3 * shift_h))
    assert row["km"] == pytest.approx(sum(t.distance_m for t in result.trips) / 1000)
    assert row["ticks"] == 0 and row["tick_solve_p99_s"] is None
    p50, p90, p99 = row["delivery_p50_min"], row["delivery_p90_min"], row["delivery_p99_min"]
    assert isinstance(p50, float) and isinstance(p90, float) and isinstance(p99, float)
    assert p50 <= p90 <= p99


def test_rolling_keeps_the_promise_with_fewer_riders_than_naive(busy_morning: pl.DataFrame) -> None:
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    rolling = size_fleet(fw1, "rolling", PARAMS)
    naive = size_fleet(fw1, "naive", PARAMS)
    assert float(str(rolling.kpis["on_time_rate"])) >= 0.99
    assert rolling.size.riders < naive.size.riders
    assert rolling.result.ticks and all(t.solve_s < 2.0 for t in rolling.result.ticks)
    # Told the naive fleet, the rolling sizing starts where it would have: the same answer.
    told = size_fleet(fw1, "rolling", PARAMS, naive_riders=naive.size.riders)
    assert told.size == rolling.size
    assert told.result.trips == rolling.result.trips


def test_fleet_sizing_returns_the_first_fleet_that_reaches_the_target(
    busy_morning: pl.DataFrame,
) -> None:
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    rates = {n: run_instance(fw1, n, "naive", PARAMS)[1]["on_time_rate"] for n in range(1, 17)}
    values = [float(str(rates[n])) for n in range(1, 17)]
    assert values == sorted(values)  # more riders never hurt the naive dispatcher
    sized = size_fleet(fw1, "naive", PARAMS, target=0.99, start=1)
    n = sized.size.riders
    assert values[n - 1] >= 0.99 and (n == 1 or values[n - 2] < 0.99)


def _delivered_after(instance_orders: pl.DataFrame, seconds: dict[str, int]) -> pl.DataFrame:
    """The distribution of a hand-made dispatch: each order handed over ``seconds`` after it
    was released (one trip each, on FW1)."""
    (instance,) = day_instances(instance_orders, WAREHOUSES, PARAMS)
    service = PARAMS.times.service_s
    trips = tuple(
        Trip("R001", (o.id,), o.arrival_s, (o.arrival_s + seconds[o.id] - service,), 0, 0, 0)
        for o in instance.orders
    )
    return delivery_times(instance, DispatchResult(trips, ()), "naive", PARAMS)


def test_delivery_minutes_round_up_and_the_slowest_share_the_cap_bucket() -> None:
    orders = orders_frame(
        [
            (oid, "FW1", "S1", at(9, 10), 5.0, 31.21)
            for oid in ("exact", "a_second_over", "on_the_promise", "late", "cap", "hours")
        ]
    )
    seconds = {
        "exact": 14 * 60,  # 14 min: bucket 14
        "a_second_over": 14 * 60 + 1,  # bucket 15
        "on_the_promise": 30 * 60,  # bucket 30: still on time
        "late": 30 * 60 + 1,  # bucket 31
        "cap": DELIVERY_CAP_MIN * 60,
        "hours": 5 * 3600,  # 300 min: counted in the cap bucket
    }
    times = _delivered_after(orders, seconds)
    assert times.schema == DELIVERY_TIMES
    assert times.select("minutes", "orders").rows() == [
        (14, 1),
        (15, 1),
        (30, 1),
        (31, 1),
        (DELIVERY_CAP_MIN, 2),
    ]
    assert set(times["hour"]) == {9}


def test_the_hour_is_when_the_order_was_placed_in_local_time() -> None:
    orders = orders_frame(
        [
            ("early", "FW1", "S1", at(7, 15), 5.0, 31.21),  # released at the 08:00 shift start
            ("noon", "FW1", "S1", at(12, 59, 59), 5.0, 31.21),
            ("late", "FW1", "S2", at(23, 30), 5.0, 31.22),
        ]
    )
    times = _delivered_after(orders, {"early": 600, "noon": 600, "late": 600})
    # Local (Asia/Shanghai) hours, not UTC (07:15 local is 23:15 UTC the day before).
    assert times.select("day", "hour", "minutes", "orders").rows() == [
        (DAY, 7, 10, 1),
        (DAY, 12, 10, 1),
        (DAY, 23, 10, 1),
    ]


def test_the_distribution_counts_every_order_of_its_kpi_row(busy_morning: pl.DataFrame) -> None:
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    for dispatcher in ("rolling", "naive"):
        result, row = run_instance(fw1, 2, dispatcher, PARAMS)
        times = delivery_times(fw1, result, dispatcher, PARAMS)
        assert times["orders"].sum() == row["orders"] == 36
        # Whole seconds and a 30-minute promise: the buckets up to 30 are the on-time orders.
        assert times.filter(pl.col("minutes") <= 30)["orders"].sum() == row["on_time"]
        assert set(times["dispatcher"]) == {dispatcher}
        assert set(times["hour"]) <= {9, 10}
        assert times.select("hour", "minutes").is_duplicated().sum() == 0
        assert times.filter(pl.col("minutes") > DELIVERY_CAP_MIN).is_empty()


@pytest.mark.parametrize("near", [False, True])
@pytest.mark.parametrize("start", [1, 3, 6, 7, 8, 40])
def test_smallest_fleet_brackets_from_any_start(start: int, near: bool) -> None:
    calls: list[int] = []

    def rate(n: int) -> float:
        calls.append(n)
        return min(1.0, n / 7)

    found = smallest_fleet(rate, target=0.99, start=start, near=near)
    assert found.riders == 7 and found.on_time_rate == 1.0
    assert len(calls) == len(set(calls))  # each size simulated once
    assert found.tried[6] < 0.99


@pytest.mark.parametrize("start", [6, 7])
def test_a_start_near_the_answer_takes_two_probes(start: int) -> None:
    calls: list[int] = []

    def rate(n: int) -> float:
        calls.append(n)
        return min(1.0, n / 7)

    assert smallest_fleet(rate, target=0.99, start=start, near=True).riders == 7
    assert sorted(calls) == [6, 7]


def test_a_replay_given_a_late_limit_stops_once_past_it(busy_morning: pl.DataFrame) -> None:
    """One rider for an hour of orders every 100 s: soon late. Told that 3 late orders
    fail it, the replay stops at the fourth, its trips those committed until then."""
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    whole, _ = run_instance(fw1, 1, "rolling", PARAMS)
    assert whole.stopped_s is None and late_orders(whole.trips, fw1.orders, PARAMS.times) > 3
    riders = [Rider("R001", round(PARAMS.capacity_l * 10), PARAMS.shift)]
    stopped = dispatch_rolling(
        fw1.orders, riders, fw1.travel, PARAMS.times, PARAMS.dispatch, late_limit=3
    )
    assert stopped.stopped_s is not None
    assert late_orders(stopped.trips, fw1.orders, PARAMS.times) > 3
    assert len(stopped.trips) < len(whole.trips)
    assert stopped.trips == whole.trips[: len(stopped.trips)]  # the same day, cut short
    naive = dispatch_naive(fw1.orders, riders, fw1.travel, PARAMS.times, late_limit=3)
    assert naive.stopped_s is not None and late_orders(naive.trips, fw1.orders, PARAMS.times) == 4


@pytest.mark.parametrize("dispatcher", ["rolling", "naive"])
def test_fleet_sizing_with_probes_stopped_early_finds_the_fleet_of_whole_days(
    busy_morning: pl.DataFrame, dispatcher: str
) -> None:
    """The sizing's answer is the smallest fleet whose whole day reaches 99 %, as found
    by replaying every fleet size to the end of the day."""
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    whole = {
        n: float(str(run_instance(fw1, n, dispatcher, PARAMS)[1]["on_time_rate"]))
        for n in range(1, 33)
    }
    expected = min(n for n, rate in whole.items() if rate >= 0.99)
    sized = size_fleet(fw1, dispatcher, PARAMS)
    assert sized.size.riders == expected
    assert sized.result.stopped_s is None
    assert sized.kpis["on_time_rate"] == whole[expected]
    for n, rate in sized.size.tried.items():  # a stopped probe's rate bounds its whole day's
        assert rate >= whole[n] and (rate >= 0.99) == (whole[n] >= 0.99)


def test_sizing_the_guided_search_starts_from_the_greedy_fleet(busy_morning: pl.DataFrame) -> None:
    """With guided local search, the fleet is first sized with the greedy search; the
    configured search then probes near it and its own answer holds: it reaches the
    target and one rider less does not."""
    (fw1, _) = day_instances(busy_morning, WAREHOUSES, PARAMS)
    guided = SimParams(dispatch=DispatchParams(search="gls"))
    greedy = size_fleet(fw1, "rolling", PARAMS).size.riders
    sized = size_fleet(fw1, "rolling", guided)
    n = sized.size.riders
    assert abs(n - greedy) <= 2 and len(sized.size.tried) <= 3
    assert float(str(sized.kpis["on_time_rate"])) >= 0.99
    assert n == 1 or sized.size.tried[n - 1] < 0.99


def test_smallest_fleet_gives_up_at_the_ceiling() -> None:
    with pytest.raises(ValueError, match="stay below"):
        smallest_fleet(lambda n: 0.5, target=0.99, max_riders=16)
