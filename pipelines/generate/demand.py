"""Service events -> orders -> order lines, one month at a time.

For each (store, vehicle model, service part type) the expected number of
services a day is vehicles x uptake x (1 / interval + breakdown rate x age
factor), where the interval is the shorter of the km interval (at the pair's
annual km) and the months interval; one capture constant scales all of it to
the scale's lines per store and day. The daily profiles of ``calendar`` shape it by
season, weekday, Spring Festival and the 11 November sale; counts are Poisson.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pipelines.generate.calendar import ONLINE_HOURS, STORE_HOURS, Profiles
from pipelines.generate.catalogue import Catalogue
from pipelines.generate.fleet import Fleet
from pipelines.generate.parts import (
    ENGINE_OIL,
    OIL_FILTER,
    PACKAGE_SHARE,
    PART_INDEX,
    PART_TYPES,
    SMALL_MAINTENANCE,
    TYRE,
)

CHANNELS = ("store", "online")
# A taxi or ride-hailing fleet brings several cars at once: the same service
# for each car, as separate orders, minutes apart.
_FLEET_SHARE = 0.02
_FLEET_CARS = (3, 12)
_OPEN_S, _CLOSE_S = 8 * 3_600, 20 * 3_600
_WIPER = PART_INDEX["wiper_blade"]
_BULBS = np.array([PART_INDEX["bulb_headlight"], PART_INDEX["bulb_brake"]])


@dataclass(frozen=True)
class MonthLines:
    """The order lines of one month, as index arrays (one entry per line).

    Lines of one order are adjacent and share ``order_no``, ``ts``, ``store``
    and ``channel``; ``order_no`` is 0-based and unique over the history
    within a channel.
    """

    month: np.datetime64
    order_no: np.ndarray
    line_no: np.ndarray
    ts: np.ndarray  # seconds since 1970-01-01, Asia/Shanghai wall clock
    store: np.ndarray
    model: np.ndarray
    sku: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray  # CNY, rounded to 0.01
    channel: np.ndarray  # index into CHANNELS

    def take(self, keep: np.ndarray) -> MonthLines:
        """The lines where ``keep`` is true, renumbered 1.. within each order."""
        fields = {f: getattr(self, f)[keep] for f in _LINE_FIELDS}
        order, channel = fields["order_no"], fields["channel"]
        first = np.ones(order.size, dtype=bool)
        first[1:] = (order[1:] != order[:-1]) | (channel[1:] != channel[:-1])
        position = np.arange(order.size)
        start = np.maximum.accumulate(np.where(first, position, 0))
        fields["line_no"] = (position - start + 1).astype(np.int32)
        return MonthLines(month=self.month, **fields)


_LINE_FIELDS = tuple(f for f in MonthLines.__dataclass_fields__ if f != "month")


@dataclass(frozen=True)
class _Services:
    """(store, model, service part type) triples and their per-vehicle rate."""

    pair: np.ndarray
    part: np.ndarray
    per_vehicle: np.ndarray  # [triple, month] expected services per vehicle and day
    online_share: np.ndarray


def _services(fleet: Fleet, catalogue: Catalogue, year_from: np.ndarray) -> _Services:
    service_parts = np.array([i for i, pt in enumerate(PART_TYPES) if pt.is_service])
    km = catalogue.interval_km[fleet.pair_model][:, service_parts]
    by_month = catalogue.interval_days[fleet.pair_model][:, service_parts]
    by_km = km / fleet.annual_km[:, None] * 365.25
    interval = np.fmin(by_km, by_month)  # whichever comes first
    pair, col = np.nonzero(~np.isnan(interval))
    part = service_parts[col]
    breakdown = np.array([pt.breakdown_per_year for pt in PART_TYPES])[part] / 365.25
    month_year = fleet.months.astype("datetime64[Y]").astype(int) + 1970
    age = np.maximum(0, month_year[None, :] - year_from[fleet.pair_model[pair]][:, None])
    # Older cars break down more: the repair share grows as the fleet ages.
    per_vehicle = 1.0 / interval[pair, col][:, None] + breakdown[:, None] * (0.6 + 0.08 * age)
    uptake = np.array([pt.uptake for pt in PART_TYPES])[part]
    online = np.array([pt.online_share for pt in PART_TYPES])[part]
    return _Services(pair, part, per_vehicle * uptake[:, None], online)


def _lines_per_event(channel: int) -> np.ndarray:
    out = np.ones(len(PART_TYPES))
    out[ENGINE_OIL] = 2.0 - PACKAGE_SHARE[CHANNELS[channel]]
    if channel == 0:
        out *= 1 + _FLEET_SHARE * (sum(_FLEET_CARS) / 2 - 1)
    return out


class DemandModel:
    """Draws the order lines month by month from a fixed random generator."""

    def __init__(
        self,
        fleet: Fleet,
        catalogue: Catalogue,
        profiles: Profiles,
        year_from: np.ndarray,
        store_open_day: np.ndarray,
        lines_per_store_day: float,
    ) -> None:
        self.fleet, self.catalogue, self.profiles = fleet, catalogue, profiles
        self.services = _services(fleet, catalogue, year_from)
        self.store_of = fleet.pair_store[self.services.pair]
        n_days = profiles.dates.size
        self.open_day = np.clip(store_open_day, 0, n_days)
        month_of_day = profiles.dates.astype("datetime64[M]")
        self.month_first = np.searchsorted(month_of_day, fleet.months, side="left")
        self.month_last = np.searchsorted(month_of_day, fleet.months, side="right") - 1
        # Cumulative profiles with a leading 0, per channel: sums over day ranges.
        self.cum = [
            np.concatenate([np.zeros((len(PART_TYPES), 1)), np.cumsum(prof, axis=1)], axis=1)
            for prof in (profiles.store, profiles.online)
        ]
        open_store_days = np.maximum(0, n_days - self.open_day).sum()
        expected = sum(
            (self._expected(m, c) * _lines_per_event(c)[self.services.part]).sum()
            for m in range(fleet.months.size)
            for c in range(len(CHANNELS))
        )
        self.capture = lines_per_store_day * open_store_days / expected

    def _window(self, month: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last (inclusive) day of the month each triple's store is open."""
        first = np.maximum(self.month_first[month], self.open_day[self.store_of])
        return first, np.full(first.size, self.month_last[month])

    def _expected(self, month: int, channel: int) -> np.ndarray:
        s = self.services
        first, last = self._window(month)
        cum = self.cum[channel]
        profile_sum = np.maximum(0.0, cum[s.part, last + 1] - cum[s.part, first])
        share = s.online_share if channel == 1 else 1.0 - s.online_share
        vehicles = self.fleet.vehicles[s.pair, month]
        return vehicles * s.per_vehicle[:, month] * share * profile_sum

    def months(self, rng: np.random.Generator) -> Iterator[MonthLines]:
        """The order lines of each month of the history, in order."""
        next_order = [0] * len(CHANNELS)
        for month in range(self.fleet.months.size):  # a loop over months and channels
            parts = []
            for channel in range(len(CHANNELS)):
                lines, n_orders = self._draw(month, channel, next_order[channel], rng)
                next_order[channel] += n_orders
                parts.append(lines)
            yield MonthLines(
                month=self.fleet.months[month],
                **{f: np.concatenate([getattr(p, f) for p in parts]) for f in _LINE_FIELDS},
            )

    def _draw(
        self, month: int, channel: int, first_order: int, rng: np.random.Generator
    ) -> tuple[MonthLines, int]:
        s, cat = self.services, self.catalogue
        count = rng.poisson(self._expected(month, channel) * self.capture)
        ev = np.repeat(np.arange(count.size), count)
        part = s.part[ev]

        # Day: inverse CDF of the channel's profile over the open days of the month.
        first, last = self._window(month)
        cum = self.cum[channel]
        lo, hi = cum[part, first[ev]], cum[part, last[ev] + 1]
        target = lo + rng.random(ev.size) * (hi - lo)
        n_days = self.profiles.dates.size
        stride = cum[:, -1].max() + 1.0  # stack the parts' increasing curves into one
        flat = (cum[:, 1:] + np.arange(len(PART_TYPES))[:, None] * stride).ravel()
        day = np.searchsorted(flat, target + part * stride, side="left") - part * n_days
        day = np.clip(day, first[ev], last[ev])
        hours = STORE_HOURS if channel == 0 else ONLINE_HOURS
        hour = np.searchsorted(np.cumsum(hours) / hours.sum(), rng.random(ev.size), side="right")
        seconds = hour * 3_600 + rng.integers(0, 3_600, ev.size)
        # Per-service draws, shared by every car of a fleet visit.
        u_sku = rng.random((2, ev.size))
        u_qty = rng.random(ev.size)
        u_package = rng.random(ev.size)

        cars = np.ones(ev.size, dtype=np.int64)
        if channel == 0:
            fleet = rng.random(ev.size) < _FLEET_SHARE
            cars[fleet] = rng.integers(_FLEET_CARS[0], _FLEET_CARS[1] + 1, int(fleet.sum()))
        rep = np.repeat(np.arange(ev.size), cars)
        car = np.arange(rep.size) - np.repeat(np.cumsum(cars) - cars, cars)
        seconds = seconds[rep] + car * 900
        if channel == 0:
            seconds = np.clip(seconds, _OPEN_S, _CLOSE_S - 1)
        ev, part, day, u_sku, u_qty, u_package = (
            ev[rep],
            part[rep],
            day[rep],
            u_sku[:, rep],
            u_qty[rep],
            u_package[rep],
        )
        store = self.store_of[ev]
        model = self.fleet.pair_model[s.pair[ev]]
        ts = self.profiles.dates[day].astype(np.int64) * 86_400 + seconds

        order = np.lexsort((store, ts))
        part, store, model, ts, day = part[order], store[order], model[order], ts[order], day[order]
        u_sku, u_qty, u_package = u_sku[:, order], u_qty[order], u_package[order]
        n_orders = ev.size
        order_no = first_order + np.arange(n_orders)

        # Engine-oil services become a package line or oil + filter lines.
        oil = part == ENGINE_OIL
        package = oil & (u_package < PACKAGE_SHARE[CHANNELS[channel]])
        part = np.where(package, SMALL_MAINTENANCE, part)
        second = oil & ~package
        n_lines = 1 + second
        li = np.repeat(np.arange(n_orders), n_lines)
        line_no = np.arange(li.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
        line_part = np.where(line_no == 2, OIL_FILTER, part[li])
        line_model = model[li]

        # Sku: weighted by brand share among the skus fitting the model.
        key = line_model * len(PART_TYPES) + line_part
        start, end = cat.fit_start[key], cat.fit_end[key]
        cumw = cat.fit_cumweight
        base = np.where(start > 0, cumw[np.maximum(start - 1, 0)], 0.0)
        u = u_sku[line_no - 1, li]
        row = np.searchsorted(cumw, base + u * (cumw[end - 1] - base), side="right")
        row = np.clip(row, start, end - 1)
        sku = cat.fit_sku[row]
        qty = cat.fit_qty[row].astype(np.int64)
        uq = u_qty[li]
        qty = np.where(line_part == TYRE, np.where(uq < 0.55, 2, 4), qty)  # sets of 2 or 4
        qty = np.where(line_part == _WIPER, np.where(uq < 0.3, 1, 2), qty)
        qty = np.where(np.isin(line_part, _BULBS), np.where(uq < 0.6, 1, 2), qty)
        # Stores buy a sku in multiples of its sales multiple (tyres sold as sets of four).
        multiple = cat.sku_sales_multiple[sku]
        qty = -(-qty // multiple) * multiple

        price = cat.sku_price[sku]
        if channel == 1:
            date = self.profiles.dates[day[li]]
            md = (date - date.astype("datetime64[M]")).astype(int) + 1
            sale = (date.astype("datetime64[M]").astype(int) % 12 == 10) & (md <= 12)
            price = np.round(price * np.where(sale, 0.85, 0.95), 2)
        lines = MonthLines(
            month=self.fleet.months[month],
            order_no=order_no[li],
            line_no=line_no.astype(np.int32),
            ts=ts[li],
            store=store[li],
            model=line_model,
            sku=sku,
            quantity=qty.astype(np.int32),
            unit_price=price,
            channel=np.full(li.size, channel, dtype=np.int8),
        )
        return lines, n_orders
