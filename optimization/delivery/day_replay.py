"""Replay a day of store orders per forward warehouse and score the dispatch.

For each (forward warehouse, day) in the orders, :func:`simulate_day` builds
the instance (the warehouse and its ordering stores, travel matrices by
hour from the provider, orders in seconds since local midnight, sizes in
decilitres), runs each dispatcher on a fleet of identical riders and
returns one :data:`DAY_KPIS` row per warehouse x dispatcher x day;
:func:`delivery_times` turns one dispatched day into its delivery-time
distribution (:data:`DELIVERY_TIMES`, orders per local hour and minute).
:func:`smallest_fleet` finds the fewest riders that keep the on-time target
(a galloping then bisecting search); :func:`size_fleet` applies it to one
warehouse and day.

KPI definitions (``DAY_KPIS``):

- delivery time = handover done at the store - order time; on time when
  it is at most the promise (30 min);
- ``rider_hours`` = over the riders used, shift start to the later of the
  shift end and the last return (paid time, overtime included);
  ``busy_hours`` = time on trips; ``utilisation`` = busy / rider hours;
- ``km`` = distance ridden (road metres of the travel provider);
- ``tick_solve_p50_s`` / ``p99`` over the ticks that solved a model (null
  for the naive dispatcher, which solves nothing).

Distribution (``DELIVERY_TIMES``): the same delivery times, counted per
local hour the order was placed and whole minute rounded up (bucket ``m``
holds (m - 1, m] minutes), the slowest in one cap bucket
(:data:`DELIVERY_CAP_MIN`). Times are whole seconds, so with a promise of whole
minutes the buckets up to the promise hold exactly the on-time orders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import polars as pl

from optimization.delivery.coverage import WAREHOUSE_POINTS
from optimization.delivery.dispatch import (
    DeliveryTimes,
    DispatchOrder,
    DispatchParams,
    DispatchResult,
    Rider,
    TravelClock,
    dispatch_naive,
    dispatch_rolling,
    handovers,
    late_orders,
)
from optimization.routing.travel import HaversineProvider, TravelTimeProvider

LOCAL_TZ = "Asia/Shanghai"

#: A day's orders with the store's coordinates (``warehouse.dispatch.day_orders``).
_ORDER_COLUMNS: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "warehouse_id": pl.String(),
    "store_id": pl.String(),
    "channel": pl.String(),
    "ordered_at": pl.Datetime("us", LOCAL_TZ),
    "units": pl.Int64(),
    "volume_l": pl.Float64(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}
DAY_ORDERS = pl.Schema(_ORDER_COLUMNS)

#: One row per forward warehouse x dispatcher x day (for the dashboard).
DAY_KPIS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "dispatcher": pl.String,  # "rolling" | "naive"
        "day": pl.Date,
        "orders": pl.Int64,
        "on_time": pl.Int64,
        "on_time_rate": pl.Float64,
        "delivery_p50_min": pl.Float64,
        "delivery_p90_min": pl.Float64,
        "delivery_p99_min": pl.Float64,
        "riders": pl.Int64,  # fleet on shift
        "riders_used": pl.Int64,
        "trips": pl.Int64,
        "orders_per_trip": pl.Float64,
        "rider_hours": pl.Float64,
        "busy_hours": pl.Float64,
        "utilisation": pl.Float64,
        "km": pl.Float64,
        "ticks": pl.Int64,  # ticks that solved a model
        "tick_solve_p50_s": pl.Float64,
        "tick_solve_p99_s": pl.Float64,
    }
)

#: The last minute bucket of ``DELIVERY_TIMES``: it holds every delivery over
#: ``DELIVERY_CAP_MIN - 1`` minutes (four times the promise: the naive dispatcher can
#: be hours late, and a longer tail would not change what a planner reads off it). It
#: bounds the distribution at 24 x (cap + 1) rows per warehouse x dispatcher x day.
DELIVERY_CAP_MIN = 120

#: Orders per warehouse x dispatcher x day x local hour placed x delivery minute bucket
#: (only the buckets with orders; see the module).
DELIVERY_TIMES = pl.Schema(
    {
        "warehouse_id": pl.String,
        "dispatcher": pl.String,
        "day": pl.Date,
        "hour": pl.Int64,  # local hour the order was placed, 0-23
        "minutes": pl.Int64,  # delivery time rounded up, at most DELIVERY_CAP_MIN
        "orders": pl.Int64,
    }
)

#: orders, riders, travel, times, params, late limit -> the day dispatched.
Dispatcher = Callable[
    [
        Sequence[DispatchOrder],
        Sequence[Rider],
        TravelClock,
        DeliveryTimes,
        DispatchParams,
        int | None,
    ],
    DispatchResult,
]


def _naive(
    orders: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    travel: TravelClock,
    times: DeliveryTimes,
    params: DispatchParams,
    late_limit: int | None = None,
) -> DispatchResult:
    return dispatch_naive(orders, riders, travel, times, late_limit)


#: The dispatchers by the name used in ``DAY_KPIS.dispatcher``.
DISPATCHERS: Mapping[str, Dispatcher] = {"rolling": dispatch_rolling, "naive": _naive}


@dataclass(frozen=True)
class SimParams:
    """Fleet and promise of a simulated day.

    Riders are identical: ``capacity_l`` litres of cargo (an e-trike box holds
    a set of four tyres; a bigger order rides alone), one ``shift`` in seconds
    since local midnight (store hours 08:00-20:00 plus the last promise).
    Orders before the shift start are released at the shift start.
    """

    shift: tuple[int, int] = (8 * 3600, 20 * 3600 + 1800)
    capacity_l: float = 240.0
    profile: str = "bike"
    times: DeliveryTimes = field(default_factory=DeliveryTimes)
    dispatch: DispatchParams = field(default_factory=DispatchParams)

    def __post_init__(self) -> None:
        if not 0 <= self.shift[0] < self.shift[1]:
            raise ValueError(f"shift must be 0 <= start < end, got {self.shift}")
        if not self.capacity_l > 0:
            raise ValueError(f"capacity_l must be > 0, got {self.capacity_l}")


@dataclass(frozen=True, eq=False)
class DayInstance:
    """One forward warehouse's day, ready to dispatch.

    ``placed_s[k]`` is when ``orders[k]`` was placed, in seconds since local
    midnight: its ``arrival_s`` unless it came before the shift and was released
    at its start.
    """

    warehouse_id: str
    day: date
    orders: tuple[DispatchOrder, ...]
    travel: TravelClock
    placed_s: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.placed_s) != len(self.orders):
            raise ValueError(
                f"placed_s has {len(self.placed_s)} times for {len(self.orders)} orders"
            )


def day_instances(
    orders: pl.DataFrame,
    warehouses: pl.DataFrame,
    params: SimParams | None = None,
    provider: TravelTimeProvider | None = None,
) -> list[DayInstance]:
    """Split ``orders`` (:data:`DAY_ORDERS`) into one instance per (warehouse, local day).

    Locations: 0 is the warehouse, then the ordering stores sorted by id.
    """
    params = params or SimParams()
    provider = provider or HaversineProvider()
    orders = orders.cast(DAY_ORDERS).with_columns(day=pl.col("ordered_at").dt.date())
    places = warehouses.cast(WAREHOUSE_POINTS)
    where = {
        w: (la, lo)
        for w, la, lo in zip(places["warehouse_id"], places["lat"], places["lon"], strict=True)
    }
    instances: list[DayInstance] = []
    for (warehouse_id, day), group in orders.sort("warehouse_id", "day").group_by(
        "warehouse_id", "day", maintain_order=True
    ):
        wid = str(warehouse_id)
        if not isinstance(day, date):  # a Date column groups by datetime.date
            raise TypeError(f"expected a date, got {day!r}")
        if wid not in where:
            raise ValueError(f"warehouse {wid!r} of the orders has no coordinates")
        stores = group.unique("store_id").sort("store_id")
        index = {s: k for k, s in enumerate(stores["store_id"], start=1)}
        points = [where[wid], *zip(stores["lat"], stores["lon"], strict=True)]
        travel = TravelClock(tuple(provider.matrices(points, params.profile, h) for h in range(24)))
        midnight = group["ordered_at"].dt.truncate("1d")
        seconds = (group["ordered_at"] - midnight).dt.total_seconds().cast(pl.Int64)
        placed = tuple(int(sec) for sec in seconds)
        items = tuple(
            DispatchOrder(
                oid, index[store], max(int(sec), params.shift[0]), math.ceil(volume * 10 - 1e-9)
            )
            for oid, store, sec, volume in zip(
                group["order_id"], group["store_id"], seconds, group["volume_l"], strict=True
            )
        )
        instances.append(DayInstance(wid, day, items, travel, placed))
    return instances


def make_riders(count: int, params: SimParams) -> list[Rider]:
    """``count`` identical riders ``R001``, ``R002``, ... on the simulation's shift."""
    if count < 1:
        raise ValueError(f"a fleet needs at least one rider, got {count}")
    capacity = max(1, round(params.capacity_l * 10))
    return [Rider(f"R{k:03d}", capacity, params.shift) for k in range(1, count + 1)]


def run_instance(
    instance: DayInstance, riders: int, dispatcher: str, params: SimParams | None = None
) -> tuple[DispatchResult, dict[str, object]]:
    """Dispatch one instance with ``riders`` riders; the result and its ``DAY_KPIS`` row."""
    params = params or SimParams()
    result = _dispatch(instance, riders, dispatcher, params)
    return result, _kpis(instance, result, make_riders(riders, params), dispatcher, params)


def _dispatch(
    instance: DayInstance,
    riders: int,
    dispatcher: str,
    params: SimParams,
    late_limit: int | None = None,
) -> DispatchResult:
    if dispatcher not in DISPATCHERS:
        raise ValueError(f"unknown dispatcher {dispatcher!r}; known: {sorted(DISPATCHERS)}")
    return DISPATCHERS[dispatcher](
        instance.orders,
        make_riders(riders, params),
        instance.travel,
        params.times,
        params.dispatch,
        late_limit,
    )


def simulate_day(
    orders: pl.DataFrame,
    warehouses: pl.DataFrame,
    riders: int | Mapping[str, int],
    params: SimParams | None = None,
    dispatchers: Sequence[str] = ("rolling", "naive"),
    provider: TravelTimeProvider | None = None,
) -> pl.DataFrame:
    """Replay the orders per warehouse and day with each dispatcher and score them.

    Parameters
    ----------
    orders
        :data:`DAY_ORDERS` (one or several warehouses and days).
    warehouses
        :data:`optimization.delivery.coverage.WAREHOUSE_POINTS`.
    riders
        Fleet size, for every warehouse or per warehouse id.
    params
        Shift, capacity, profile, delivery times, dispatch settings.
    dispatchers
        Names from :data:`DISPATCHERS`.
    provider
        Travel times (default: haversine).

    Returns
    -------
    pl.DataFrame
        :data:`DAY_KPIS`, one row per warehouse x dispatcher x day.
    """
    params = params or SimParams()
    rows: list[dict[str, object]] = []
    for instance in day_instances(orders, warehouses, params, provider):
        fleet = riders if isinstance(riders, int) else riders[instance.warehouse_id]
        for name in dispatchers:
            rows.append(run_instance(instance, fleet, name, params)[1])
    return pl.DataFrame(rows, schema=DAY_KPIS, orient="row")


@dataclass(frozen=True)
class FleetSize:
    """The smallest fleet found and every fleet size tried with its on-time rate."""

    riders: int
    on_time_rate: float
    tried: Mapping[int, float]


def smallest_fleet(
    on_time_rate: Callable[[int], float],
    target: float = 0.99,
    start: int = 1,
    max_riders: int = 500,
    near: bool = False,
) -> FleetSize:
    """The fewest riders whose on-time rate reaches ``target``.

    Gallops from ``start`` to bracket the answer, then bisects: doubling up
    while the target is missed, halving down while it is reached; or, when
    ``start`` is known to be ``near`` the answer, in steps of 1, 2, 4, ...
    riders from it (two probes when it is right). This assumes the rate does
    not fall when a rider is added; the result ``n`` always reaches the target
    and ``n - 1`` (when tried) did not.

    Raises
    ------
    ValueError
        If even ``max_riders`` misses the target.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must be in (0, 1], got {target}")
    if not 1 <= start <= max_riders:
        raise ValueError(f"start must be in 1..max_riders, got {start}")
    tried: dict[int, float] = {}

    def rate(n: int) -> float:
        if n not in tried:
            tried[n] = on_time_rate(n)
        return tried[n]

    # low: a size known to miss the target (0 stands for "no rider"); high: one that reaches it.
    high, step = start, 1
    if rate(high) >= target:
        low = 0
        while high > 1:
            probe = max(1, high - step) if near else high // 2
            if rate(probe) < target:
                low = probe
                break
            high, step = probe, 2 * step
    else:
        low = high
        while True:
            if high == max_riders:
                raise ValueError(f"{max_riders} riders stay below {target:.0%} on time")
            high = min(max_riders, high + step if near else high * 2)
            if rate(high) >= target:
                break
            low, step = high, 2 * step
    while high - low > 1:
        middle = (low + high) // 2
        if rate(middle) >= target:
            high = middle
        else:
            low = middle
    return FleetSize(high, tried[high], dict(sorted(tried.items())))


@dataclass(frozen=True, eq=False)
class SizedFleet:
    """A fleet-sizing outcome: the search, and the dispatch and KPI row at the smallest fleet."""

    size: FleetSize
    result: DispatchResult
    kpis: dict[str, object]


def size_fleet(
    instance: DayInstance,
    dispatcher: str,
    params: SimParams | None = None,
    target: float = 0.99,
    start: int | None = None,
    naive_riders: int | None = None,
) -> SizedFleet:
    """The smallest fleet keeping ``target`` on time for one instance, with its day replayed.

    ``start`` defaults to a guess (:func:`_first_guess`; ``naive_riders``, the
    naive dispatcher's fleet for the same day and target when the caller has
    sized it already, spares sizing it again). Three things keep
    the search to minutes on a busy day (the medium network's busiest took
    over 15 minutes before):

    * a probe stops as soon as more orders are late than the target allows
      (a fleet too small shows it in its first busy hour, not at 20:30);
    * the rolling dispatcher with guided local search is first sized with its
      greedy search (deterministic, about 7 times quicker a day); one rider
      less than the fleet it finds is then the ``near`` start of the sizing
      with the search as configured, whose answer is most often that or the
      greedy fleet itself: two replays of the day instead of six or seven;
    * the rolling dispatcher's search starts near two thirds of the naive
      dispatcher's fleet, found in a tenth of a second.

    The KPIs and the result are those of the configured search, always a
    replay run to the end of the day. The starts only save time: whatever
    they are, the fleet found reaches the target and one rider less did not.
    """
    params = params or SimParams()
    allowed_late = len(instance.orders) - math.ceil(target * len(instance.orders) - 1e-9)
    if start is None:
        first, near = _first_guess(instance, dispatcher, params, target, allowed_late, naive_riders)
    else:
        first, near = start, False
    if dispatcher == "rolling" and params.dispatch.search != "greedy":
        quick = replace(params, dispatch=replace(params.dispatch, search="greedy"))
        greedy = _sized(instance, dispatcher, quick, target, first, allowed_late, near).size.riders
        first, near = max(1, greedy - 1), True
    return _sized(instance, dispatcher, params, target, first, allowed_late, near)


def _sized(
    instance: DayInstance,
    dispatcher: str,
    params: SimParams,
    target: float,
    start: int,
    allowed_late: int,
    near: bool,
) -> SizedFleet:
    """:func:`smallest_fleet` with day replays that stop once they cannot reach ``target``.

    A stopped replay's rate is the most it could still have reached (every
    order not yet late counted on time): below the target, which is all the
    search needs to know.
    """
    whole: dict[int, tuple[DispatchResult, dict[str, object]]] = {}
    orders = len(instance.orders)

    def rate(n: int) -> float:
        result = _dispatch(instance, n, dispatcher, params, allowed_late)
        if result.stopped_s is not None:
            return (orders - late_orders(result.trips, instance.orders, params.times)) / orders
        whole[n] = (result, _kpis(instance, result, make_riders(n, params), dispatcher, params))
        value = whole[n][1]["on_time_rate"]
        return float(value) if isinstance(value, int | float) else 0.0

    found = smallest_fleet(rate, target, start=start, near=near)
    result, row = whole[found.riders]
    return SizedFleet(found, result, row)


def _first_guess(
    instance: DayInstance,
    dispatcher: str,
    params: SimParams,
    target: float,
    allowed_late: int,
    naive_riders: int | None,
) -> tuple[int, bool]:
    """Where the fleet search starts, and whether it is ``near`` the answer.

    The naive dispatcher from the lower bound of the work (:func:`_lower_bound`),
    galloping. The rolling dispatcher near two thirds of the naive fleet:
    batching two orders a trip on the busy hours saved it a third of the riders
    on every warehouse of the medium network (0.59 to 0.70 of naive's fleet);
    off by a rider or two, the search takes a probe or two more, nothing else.
    """
    if dispatcher != "rolling":
        return _lower_bound(instance, params), False
    if naive_riders is None:
        start = _lower_bound(instance, params)
        naive = _sized(instance, "naive", params, target, start, allowed_late, near=False)
        naive_riders = naive.size.riders
    return max(1, round(naive_riders * 2 / 3)), True


def _lower_bound(instance: DayInstance, params: SimParams) -> int:
    """Half the riders needed if every order rode alone and riders were busy all shift.

    Batching can beat one-order trips (halving leaves room for it): a cheap
    starting point for the search; 1 for a day without orders.
    """
    work = 0
    for order in instance.orders:
        m = instance.travel.at(order.arrival_s).duration
        work += int(m[0, order.location]) + int(m[order.location, 0]) + params.times.service_s
    shift = params.shift[1] - params.shift[0]
    return max(1, math.ceil(work / shift / 2))


def _kpis(
    instance: DayInstance,
    result: DispatchResult,
    fleet: Sequence[Rider],
    dispatcher: str,
    params: SimParams,
) -> dict[str, object]:
    times = params.times
    delivery = np.array(list(_delivery_s(instance, result, params).values()), dtype=np.float64)
    shift_of = {r.id: r.shift for r in fleet}
    last_return: dict[str, int] = {}
    for trip in result.trips:
        last_return[trip.rider] = max(last_return.get(trip.rider, 0), trip.return_s)
    paid = sum(max(shift_of[r][1], back) - shift_of[r][0] for r, back in last_return.items())
    busy = sum(t.return_s - t.departure_s for t in result.trips)
    solve = np.array([t.solve_s for t in result.ticks], dtype=np.float64)
    n = len(delivery)
    on_time = int((delivery <= times.promise_s).sum())

    def minutes(q: float) -> float | None:
        return float(np.quantile(delivery, q)) / 60 if n else None

    def seconds(q: float) -> float | None:
        return float(np.quantile(solve, q)) if solve.size else None

    return {
        "warehouse_id": instance.warehouse_id,
        "dispatcher": dispatcher,
        "day": instance.day,
        "orders": n,
        "on_time": on_time,
        "on_time_rate": on_time / n if n else 1.0,
        "delivery_p50_min": minutes(0.5),
        "delivery_p90_min": minutes(0.9),
        "delivery_p99_min": minutes(0.99),
        "riders": len(fleet),
        "riders_used": len(last_return),
        "trips": len(result.trips),
        "orders_per_trip": n / len(result.trips) if result.trips else None,
        "rider_hours": paid / 3600,
        "busy_hours": busy / 3600,
        "utilisation": busy / paid if paid else None,
        "km": sum(t.distance_m for t in result.trips) / 1000,
        "ticks": len(result.ticks),
        "tick_solve_p50_s": seconds(0.5),
        "tick_solve_p99_s": seconds(0.99),
    }


def _delivery_s(instance: DayInstance, result: DispatchResult, params: SimParams) -> dict[str, int]:
    """Seconds from order (its release) to handover done, per delivered order id."""
    ordered = {o.id: o.arrival_s for o in instance.orders}
    return {oid: done - ordered[oid] for oid, done in handovers(result.trips, params.times).items()}


def delivery_times(
    instance: DayInstance,
    result: DispatchResult,
    dispatcher: str,
    params: SimParams | None = None,
) -> pl.DataFrame:
    """The delivery-time distribution of one dispatched day, for the dashboard's histogram.

    Parameters
    ----------
    instance
        The day dispatched (:func:`day_instances`).
    result
        Its dispatch (:func:`run_instance` or :func:`size_fleet`).
    dispatcher
        The dispatcher's name, as in ``DAY_KPIS``.
    params
        The simulation's settings (the handover time ends a delivery).

    Returns
    -------
    pl.DataFrame
        :data:`DELIVERY_TIMES` by hour and minutes: the delivery times of the
        ``DAY_KPIS`` row (its ``orders`` is their sum), each counted under the
        local hour the order was placed and its whole minute rounded up, those over
        ``DELIVERY_CAP_MIN - 1`` minutes in the ``DELIVERY_CAP_MIN`` bucket.
    """
    params = params or SimParams()
    hour_of = {
        order.id: min(23, placed // 3600)
        for order, placed in zip(instance.orders, instance.placed_s, strict=True)
    }
    counts: dict[tuple[int, int], int] = {}
    for oid, seconds in _delivery_s(instance, result, params).items():
        # Integer ceiling: a delivery of 14 min 1 s is in the 15-minute bucket.
        key = (hour_of[oid], min(DELIVERY_CAP_MIN, -(-seconds // 60)))
        counts[key] = counts.get(key, 0) + 1
    rows = [
        (instance.warehouse_id, dispatcher, instance.day, hour, minutes, n)
        for (hour, minutes), n in sorted(counts.items())
    ]
    return pl.DataFrame(rows, schema=DELIVERY_TIMES, orient="row")


__all__ = [
    "DAY_KPIS",
    "DAY_ORDERS",
    "DELIVERY_CAP_MIN",
    "DELIVERY_TIMES",
    "DISPATCHERS",
    "LOCAL_TZ",
    "DayInstance",
    "FleetSize",
    "SimParams",
    "SizedFleet",
    "day_instances",
    "delivery_times",
    "make_riders",
    "run_instance",
    "simulate_day",
    "size_fleet",
    "smallest_fleet",
]


@dataclass(frozen=True, eq=False)
class InstanceReview:
    """One warehouse's day under each dispatcher: ``DAY_KPIS`` rows (with ``fleet_sized``)
    and the delivery-time distribution of the same dispatches."""

    warehouse_id: str
    kpis: tuple[dict[str, object], ...]
    times: pl.DataFrame


def review_instance(
    instance: DayInstance,
    riders: int | None,
    params: SimParams | None = None,
    dispatchers: Sequence[str] = ("rolling", "naive"),
) -> InstanceReview:
    """Each dispatcher on ``instance``: with ``riders``, or (None) at its smallest fleet
    keeping 99 % on time. A pure function of its arguments: a worker process can run it."""
    params = params or SimParams()
    done: dict[str, tuple[DispatchResult, dict[str, object]]] = {}
    naive_riders = None
    # The naive fleet first: it is where the rolling dispatcher's sizing starts.
    for dispatcher in sorted(dispatchers, key=lambda d: d != "naive"):
        if riders is None:
            sized = size_fleet(instance, dispatcher, params, naive_riders=naive_riders)
            done[dispatcher] = sized.result, sized.kpis
            if dispatcher == "naive":
                naive_riders = sized.size.riders
        else:
            done[dispatcher] = run_instance(instance, riders, dispatcher, params)
    rows = tuple({**done[d][1], "fleet_sized": riders is None} for d in dispatchers)
    times = [delivery_times(instance, done[d][0], d, params) for d in dispatchers]
    return InstanceReview(instance.warehouse_id, rows, pl.concat(times))
