"""Availability and where an order's lines come from: the service between routes and stores.

For a store and a SKU the candidates are its own forward warehouse, then the
others in reach (within 5 km and 30 minutes by the nightly's coverage rule),
nearest first. Free units come from the operational store (``base -
reserved``: the published count + released transfers due − orders since the
count); the promise from :mod:`api.promise` at the warehouse's current load.

* Availability answers for the store's own warehouse. When it has none free
  the item says ``available: 0`` with no promise, and ``alternative`` names
  the nearest other warehouse in reach that has some, or else the next
  released line-haul arrival into its own warehouse.
* An order's SKU is taken from the own warehouse when it has the SKU's whole
  quantity free, else from the nearest one in reach that has, else from the
  own warehouse (which then refuses it as short: 409). A SKU is never split
  across warehouses: one line, one rider.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from api.config import PromiseParams
from api.promise import LOCAL, Fleet, Promise, TravelTimes, local_hour, promise
from api.snapshot import Arrival, LiveView, Pair, StoreReach


@dataclass(frozen=True)
class Offer:
    """Units free at a warehouse and, when there are any, the promise to deliver them."""

    warehouse_id: str
    available: int
    promise: Promise | None


@dataclass(frozen=True)
class ArrivalOffer:
    """The next line-haul arrival of a SKU into the store's own warehouse."""

    warehouse_id: str
    arrival: Arrival


@dataclass(frozen=True)
class SkuAvailability:
    """One item of an availability answer."""

    sku: str
    offer: Offer
    alternative: Offer | ArrivalOffer | None


class StockService:
    """Availability and line sourcing on one :class:`LiveView`, with a shared travel clock."""

    def __init__(self, travel: TravelTimes, params: PromiseParams) -> None:
        self.travel = travel
        self.params = params

    def candidates(self, store: StoreReach) -> tuple[str, ...]:
        """The warehouses that may serve the store: its own, then the others in reach."""
        return (store.warehouse_id, *store.others)

    def pairs(self, store: StoreReach, skus: Sequence[str]) -> list[Pair]:
        """Every (warehouse, SKU) whose free units the answer needs."""
        return [(w, sku) for w in self.candidates(store) for sku in skus]

    def promise_from(
        self, view: LiveView, store: StoreReach, warehouse_id: str, now: datetime
    ) -> Promise:
        """The promise from ``warehouse_id`` to the store now, at its current load."""
        origin = view.data.warehouse_points[warehouse_id]
        travel_s = self.travel.seconds(origin, store.point, local_hour(now))
        fleet = view.data.fleets.get(warehouse_id, Fleet(self.params.default_riders))
        return promise(now, travel_s, view.loads.get(warehouse_id, 0), fleet, self.travel.rule)

    def availability(
        self,
        view: LiveView,
        store: StoreReach,
        skus: Sequence[str],
        free: Mapping[Pair, int],
        now: datetime,
    ) -> list[SkuAvailability]:
        """One item per SKU, in the order asked (see the module's rules)."""
        promises: dict[str, Promise] = {}

        def offer(warehouse_id: str, units: int) -> Offer:
            if units <= 0:
                return Offer(warehouse_id, 0, None)
            if warehouse_id not in promises:
                promises[warehouse_id] = self.promise_from(view, store, warehouse_id, now)
            return Offer(warehouse_id, units, promises[warehouse_id])

        today = now.astimezone(LOCAL).date()
        items = []
        for sku in skus:
            own = offer(store.warehouse_id, free.get((store.warehouse_id, sku), 0))
            alternative: Offer | ArrivalOffer | None = None
            if not own.available:
                alternative = self._alternative(view, store, sku, free, today, offer)
            items.append(SkuAvailability(sku, own, alternative))
        return items

    def _alternative(
        self,
        view: LiveView,
        store: StoreReach,
        sku: str,
        free: Mapping[Pair, int],
        today: date,
        offer: Callable[[str, int], Offer],
    ) -> Offer | ArrivalOffer | None:
        for warehouse_id in store.others:
            if free.get((warehouse_id, sku), 0) > 0:
                return offer(warehouse_id, free[warehouse_id, sku])
        arrival = view.data.next_arrival((store.warehouse_id, sku), today)
        return ArrivalOffer(store.warehouse_id, arrival) if arrival else None

    def source(
        self,
        view: LiveView,
        store: StoreReach,
        lines: Sequence[tuple[str, int]],
        free: Mapping[Pair, int],
        now: datetime,
    ) -> list[tuple[str, datetime]]:
        """The warehouse and ``deliver_by`` of each (sku, quantity) line, in order."""
        wanted: Counter[str] = Counter()
        for sku, quantity in lines:
            wanted[sku] += quantity
        chosen = {
            sku: next(
                (w for w in self.candidates(store) if free.get((w, sku), 0) >= units),
                store.warehouse_id,
            )
            for sku, units in wanted.items()
        }
        promises = {
            w: self.promise_from(view, store, w, now).deliver_by for w in set(chosen.values())
        }
        return [(chosen[sku], promises[chosen[sku]]) for sku, _ in lines]
