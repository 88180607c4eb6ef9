"""The rolling dispatcher as the promise engine: when would an order placed now be handed over?

:func:`promise_handover` answers for one new order at one forward warehouse,
given what the dispatcher knows at that moment: its riders (when each is next
free at the warehouse, from the trips already committed) and the orders open
(known, not yet picked up, each with the time it was promised). It plans the
next tick as the dispatcher will (:func:`dispatch.plan_tick`, the same model,
search and settings) with the new order among the open ones, its lateness
weighing a tenth of theirs (it comes after every promise already given: it
goes as early as it can without making one of those late), reads the
handover the plan gives it, and adds ``margin_s`` for what the plan cannot
know: the orders that will arrive before its rider leaves and the re-plans of
every later tick. The dispatcher then plans the order against that time, not
the 30-minute rule (:attr:`DispatchOrder.due_s`), like every order promised
before it.

A promise is never earlier than the order's own work: pick, the direct ride
from the warehouse at the hour it can leave, and the handover. When the plan
leaves the new order for a later tick (no rider can take it in time), the
promise is that of a trip of its own by the rider back first after its planned
trip: a schedule the dispatcher could keep.

:func:`dispatch_promised` replays a day the way a store system would use it:
each order is promised a time as it becomes known, then dispatched against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from optimization.delivery.dispatch import (
    DeliveryTimes,
    DispatchOrder,
    DispatchParams,
    DispatchResult,
    Rider,
    TravelClock,
    dispatch_rolling,
    plan_tick,
    schedule_trip,
)


def next_tick(moment_s: int, params: DispatchParams) -> int:
    """The first re-planning at or after ``moment_s`` (ticks fall on multiples of the period)."""
    return -(-moment_s // params.tick_s) * params.tick_s


def earliest_handover(order: DispatchOrder, travel: TravelClock, times: DeliveryTimes) -> int:
    """The order's own work, with nothing ahead of it: ready, ride straight there, hand over."""
    ready = order.arrival_s + times.pick_s
    return ready + int(travel.at(ready).duration[0, order.location]) + times.service_s


@dataclass(frozen=True)
class WarehouseNow:
    """What one warehouse's dispatcher knows at a moment.

    ``riders``: on shift; ``free``: when each is next free at the warehouse
    (by rider id: the return of its last committed trip, or its shift start);
    ``open_orders``: known and not yet picked up, with their promised ``due_s``.
    """

    riders: tuple[Rider, ...]
    free: Mapping[str, int]
    open_orders: tuple[DispatchOrder, ...] = ()

    def __post_init__(self) -> None:
        if not self.riders:
            raise ValueError("a promise needs at least one rider on shift")
        missing = [r.id for r in self.riders if r.id not in self.free]
        if missing:
            raise ValueError(f"no free time for riders {missing}")


def promise_handover(
    order: DispatchOrder,
    state: WarehouseNow,
    travel: TravelClock,
    times: DeliveryTimes | None = None,
    params: DispatchParams | None = None,
    *,
    margin_s: int = 120,
) -> int:
    """The handover time (seconds since local midnight) to promise ``order``.

    Parameters
    ----------
    order
        The new order: its store (``location``), size, and ``arrival_s``, the
        moment it is placed (the question is asked then).
    state
        The warehouse's riders and open orders at that moment.
    travel
        Ride times by hour over the warehouse (0) and the stores.
    times, params
        The promise's components and the dispatcher's settings: those of the
        dispatcher that will deliver the order.
    margin_s
        Added to the planned handover (0 or more). The default, one tick (120
        s), kept 423 of 425 and 841 of 846 promises on two warehouses of the
        medium network's busiest day at their smallest fleets (without it: 392
        and 770; docs/BENCHMARKS.md).
    """
    if margin_s < 0:
        raise ValueError(f"margin_s must be >= 0, got {margin_s}")
    times = times or DeliveryTimes()
    params = params or DispatchParams()
    now = next_tick(order.arrival_s, params)
    known = [*state.open_orders, dataclasses.replace(order, quote=True)]
    free = dict(state.free)
    plan = plan_tick(now, known, state.riders, free, travel, times, params)
    new = len(known) - 1
    planned: int | None = None
    first_back: int | None = None
    for rider, route in zip(plan.riders, plan.routes, strict=True):
        earliest = max(now, free[rider.id], rider.shift[0])
        stops = [plan.orders[p] for p in route]
        trip = schedule_trip(rider.id, stops, earliest, travel, times, now)
        if new in route:
            planned = trip.arrivals_s[route.index(new)] + times.service_s
        back = trip.return_s if route else earliest
        first_back = back if first_back is None else min(first_back, back)
    if planned is None:  # left for later: on its own, by the rider back first
        start = first_back if first_back is not None else max(now, min(free.values()))
        alone = schedule_trip("", [order], start, travel, times, now)
        planned = alone.arrivals_s[0] + times.service_s
    return max(planned + margin_s, earliest_handover(order, travel, times))


def dispatch_promised(
    orders: Sequence[DispatchOrder],
    riders: Sequence[Rider],
    travel: TravelClock,
    times: DeliveryTimes | None = None,
    params: DispatchParams | None = None,
    margin_s: int = 120,
) -> tuple[DispatchResult, dict[str, int]]:
    """Replay a day promising each order a handover as it becomes known, then keeping it.

    Returns the dispatched day (:func:`dispatch.dispatch_rolling` with every
    order planned against its promise) and the promises by order id.
    """
    times = times or DeliveryTimes()
    params = params or DispatchParams()
    promised: dict[str, int] = {}

    on_shift = tuple(riders)

    def reveal(
        tick_s: int, order: DispatchOrder, known: Sequence[DispatchOrder], free: Mapping[str, int]
    ) -> DispatchOrder:
        state = WarehouseNow(on_shift, free, tuple(known))
        due = promise_handover(order, state, travel, times, params, margin_s=margin_s)
        promised[order.id] = due
        # Planned against the promise, and never later than the 30-minute rule: a promise
        # past it (a busy hour) is the latest the store is told, not the dispatcher's aim.
        return dataclasses.replace(order, due_s=min(due, order.due(times)))

    result = dispatch_rolling(orders, riders, travel, times, params, reveal=reveal)
    return result, promised
