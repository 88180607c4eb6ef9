"""The last days of the history replayed with stock: lost sales, replenishment, counts.

Over the last ``SIM_DAYS`` of the history every (forward warehouse, sku)
series and the DC hold stock under the simple policies of
:mod:`pipelines.generate.stock_policy`. A day runs in four steps:

1. *Morning*: last night's transfers are on the forward warehouses' shelves;
   purchase orders due today reach the DC.
2. *Day*: a series' lines take its stock in time order. A line the shelf
   cannot serve is, for a store order, mostly lost (``LOST_SHARE``: the car
   is in the bay and the mechanic buys elsewhere) and dropped from the
   history; otherwise (and always for an online order, installed later) it
   is placed and served from the DC with the next line-haul.
3. *Count*: end-of-day levels go to the change log (forward warehouses:
   on hand; the DC: on hand, ``reserved`` for tonight's placed orders,
   ``in_transit`` = open purchase orders).
4. *Night* (not after the last day, which the nightly run plans): the DC
   ships the placed orders, then each series' need up to S (in sales
   multiples; by a random priority when the DC runs short), then orders from
   the suppliers whose review day it is, and rushes a sku expected to run out
   before the next regular order's goods arrive.

Cancellations and returns do not move stock here: they are decided later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.catalogue import Catalogue
from pipelines.generate.demand import MonthLines
from pipelines.generate.stock_log import ChangeLog
from pipelines.generate.stock_policy import (
    RATE_DAYS,
    allocate,
    dc_levels,
    enters_range,
    forward_levels,
    held_levels,
    purchase_quantity,
    transfer_quantity,
)
from pipelines.generate.supply import Supply

SIM_DAYS = 90
#: Share of store lines lost when the forward warehouse is out of the sku.
LOST_SHARE = 0.7
_STORE = 0  # index of the store channel in demand.CHANNELS


@dataclass(frozen=True)
class SimTerms:
    """What the simulation needs per sku and per supplier (arrays by index)."""

    sales_multiple: np.ndarray
    set_size: np.ndarray
    stockable: np.ndarray
    case_pack: np.ndarray
    moq: np.ndarray
    lead_days: np.ndarray  # per sku: its supplier's
    cycle_days: np.ndarray  # per sku: its supplier's
    review_phase: np.ndarray  # per sku: its supplier's first review day modulo the cycle

    @classmethod
    def of(cls, catalogue: Catalogue, supply: Supply) -> SimTerms:
        """The terms of the generated catalogue and its suppliers."""
        return cls(
            sales_multiple=catalogue.sku_sales_multiple,
            set_size=catalogue.sku_set,
            stockable=~catalogue.skus["do_not_stock"].to_numpy(),
            case_pack=supply.case_pack,
            moq=supply.moq,
            lead_days=supply.lead_days[supply.supplier],
            cycle_days=supply.cycle_days[supply.supplier],
            review_phase=supply.phase[supply.supplier],
        )


@dataclass(frozen=True)
class Window:
    """The simulated days (days since 1970-01-01): ``first`` .. ``last``, inclusive.

    ``history_first`` is the first day of the history: rates before
    ``RATE_DAYS`` of history are over the days there are.
    """

    history_first: int
    first: int
    last: int

    @classmethod
    def ending(cls, history_first: int, last: int) -> Window:
        """The last ``SIM_DAYS`` (at most half the history) up to ``last``."""
        days = min(SIM_DAYS, (last - history_first + 1) // 2)
        return cls(history_first, last - days + 1, last)


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: the index where each element's run of equal keys starts."""
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))


class StockSimulation:
    """Stock at the forward warehouses and the DC over the :class:`Window`, month by month.

    Parameters
    ----------
    terms
        Sku and supplier terms.
    n_forward
        Number of forward warehouses; a series is ``forward * n_skus + sku``.
    window
        The simulated days.
    rng
        Draws lost sales and the DC's priorities when short.
    """

    def __init__(
        self, terms: SimTerms, n_forward: int, window: Window, rng: np.random.Generator
    ) -> None:
        self.terms, self.window, self.rng = terms, window, rng
        self.n_skus = terms.sales_multiple.size
        n = n_forward * self.n_skus
        self.n_forward = n_forward
        self.on_hand = np.zeros(n, dtype=np.int64)
        self.level = np.zeros(n, dtype=np.int64)  # S, set each night
        self.held = np.zeros(n, dtype=bool)  # in the warehouse's range
        self.arriving = np.zeros(n, dtype=np.int64)
        self.units = np.zeros(n, dtype=np.int64)  # recorded over the last RATE_DAYS days
        self.lines = np.zeros(n, dtype=np.int64)
        self.sales: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.dc_on_hand = np.zeros(self.n_skus, dtype=np.int64)
        self.dc_on_order = np.zeros(self.n_skus, dtype=np.int64)
        self.due: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.forward_log, self.dc_log = ChangeLog(n, width=1), ChangeLog(self.n_skus)
        self.listed = np.zeros(n, dtype=bool)  # series stocked when the window opens
        self.dc_listed = np.zeros(self.n_skus, dtype=bool)
        self.started = False
        self.lost = 0
        # The sku terms of every series, gathered once.
        sku = np.arange(n) % self.n_skus
        self._set, self._multiple = terms.set_size[sku], terms.sales_multiple[sku]
        self._stockable = terms.stockable[sku]

    # --- sales ---------------------------------------------------------------

    def _record(self, day: int, keys: np.ndarray, qty: np.ndarray) -> None:
        """Add a day's recorded sales to the rates; forget the day that leaves the window."""
        keys, qty = keys.astype(np.int64), qty.astype(np.int64)
        if day in self.sales:
            old_keys, old_qty = self.sales[day]
            keys, qty = np.concatenate([old_keys, keys]), np.concatenate([old_qty, qty])
        self.sales[day] = (keys, qty)
        np.add.at(self.units, keys, qty)
        np.add.at(self.lines, keys, 1)
        gone = self.sales.pop(day - RATE_DAYS, None)
        if gone is not None:
            np.subtract.at(self.units, gone[0], gone[1])
            np.subtract.at(self.lines, gone[0], 1)

    def _observe(self, day: np.ndarray, keys: np.ndarray, qty: np.ndarray) -> None:
        """Sales before the window: they only feed the rates."""
        recent = day >= self.window.first - RATE_DAYS
        order = np.argsort(day[recent], kind="stable")
        day, keys, qty = day[recent][order], keys[recent][order], qty[recent][order]
        bounds = np.flatnonzero(np.diff(day)) + 1
        for d, k, q in zip(
            np.split(day, bounds), np.split(keys, bounds), np.split(qty, bounds), strict=True
        ):
            if d.size:
                self._record(int(d[0]), k, q)

    def _rate_days(self, day: int) -> int:
        return min(RATE_DAYS, day - self.window.history_first + 1)

    # --- levels --------------------------------------------------------------

    def _forward_levels(self, day: int) -> np.ndarray:
        """Tonight's S of every series (0 for one the warehouse does not hold); the
        series whose sales now justify it join the range."""
        days = self._rate_days(day)
        # Only series sold over the window can be replenished or join the range.
        active = np.flatnonzero(self.units > 0)
        units, stockable = self.units[active], self._stockable[active]
        level = forward_levels(
            units, self.lines[active], days, self._set[active], self._multiple[active]
        )
        self.held[active] |= stockable & enters_range(units, days, level)
        levels = np.zeros_like(self.units)
        levels[active] = held_levels(self.held[active], units, level, stockable)
        return levels

    def _dc_levels(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """The DC's order-up-to levels and the network's daily rate per sku."""
        units = self.units.reshape(self.n_forward, self.n_skus).sum(axis=0)
        lines = self.lines.reshape(self.n_forward, self.n_skus).sum(axis=0)
        t, days = self.terms, self._rate_days(day)
        return dc_levels(units, lines, days, t.lead_days, t.cycle_days), units / days

    def _start(self, day: int) -> None:
        """The state the window opens with: each series at its level; the DC part-way
        through its order cycle, and half the skus nobody bought lately with a
        leftover MOQ."""
        self.level = self._forward_levels(day - 1)
        self.on_hand = self.level.copy()
        level, _ = self._dc_levels(day - 1)
        rate = level / (self.terms.lead_days + self.terms.cycle_days)
        used = rate * self.rng.uniform(0, 1, self.n_skus) * self.terms.cycle_days
        leftover = (level == 0) & (self.rng.random(self.n_skus) < 0.5)
        self.dc_on_hand = np.where(
            leftover, self.terms.moq, np.maximum(0, np.round(level - used))
        ).astype(np.int64)
        self.listed = self.on_hand > 0
        self.dc_listed = (level > 0) | (self.dc_on_hand > 0)
        self.started = True

    # --- one day -------------------------------------------------------------

    def _sell(
        self, keys: np.ndarray, qty: np.ndarray, store: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Serve one day's lines (sorted by series, then time) from the shelves.

        Returns (kept lines, units placed on the DC per sku).
        """
        cum = np.cumsum(qty)
        within = cum - (cum - qty)[_run_starts(keys)]
        # A shelf serves its lines in order until one finds it short.
        served = within <= self.on_hand[keys]
        np.subtract.at(self.on_hand, keys[served], qty[served])
        # Only a stock-out loses sales: a part the warehouse does not hold is
        # ordered from the DC for the next line-haul, as the promise says.
        lost = ~served & self.held[keys] & store & (self.rng.random(keys.size) < LOST_SHARE)
        placed = ~served & ~lost
        backorder = np.bincount(keys[placed] % self.n_skus, qty[placed], minlength=self.n_skus)
        self.lost += int(lost.sum())
        return ~lost, backorder.astype(np.int64)

    def _count(self, day: int, backorder: np.ndarray) -> None:
        """End-of-day counts: the first day lists what the window opened with, later
        days add a pair when it first holds stock."""
        first = day == self.window.first
        listed = (self.on_hand > 0) | (self.listed if first else False)
        self.forward_log.record(day, (self.on_hand,), listed)
        reserved = np.minimum(backorder, self.dc_on_hand)
        dc_listed = (self.dc_on_hand > 0) | (self.dc_on_order > 0)
        dc_listed |= self.dc_listed if first else False
        self.dc_log.record(day, (self.dc_on_hand, reserved, self.dc_on_order), dc_listed)

    def _night(self, day: int, backorder: np.ndarray) -> None:
        """The DC ships the placed orders and each held series' need (arriving by
        morning), then orders from the suppliers it reviews tonight."""
        self.dc_on_hand -= np.minimum(backorder, self.dc_on_hand)
        level = self.level = self._forward_levels(day)
        keys = np.flatnonzero(level > self.on_hand)
        sku = keys % self.n_skus
        t = self.terms
        need = transfer_quantity(level[keys] - self.on_hand[keys], t.sales_multiple[sku])
        wanted = np.bincount(sku, need, minlength=self.n_skus)
        short = (wanted > self.dc_on_hand)[sku]
        grant = need.copy()
        grant[short] = allocate(
            need[short], sku[short], self.dc_on_hand, t.sales_multiple,
            self.rng.random(int(short.sum())),
        )  # fmt: skip
        self.arriving[keys] = grant
        self.dc_on_hand -= np.bincount(sku, grant, minlength=self.n_skus).astype(np.int64)

        dc_level, rate = self._dc_levels(day)
        position = self.dc_on_hand + self.dc_on_order
        to_review = (t.review_phase - day) % t.cycle_days  # 0: tonight is a review day
        # Off the review day, a sku expected to run out before the next regular
        # order's goods arrive is rushed (as the nightly does, more simply).
        rush = (to_review > 0) & (position < rate * (to_review + t.lead_days))
        ordered = np.flatnonzero(((to_review == 0) | rush) & (position < dc_level))
        quantity = purchase_quantity(
            dc_level[ordered] - position[ordered], t.case_pack[ordered], t.moq[ordered]
        )
        self.dc_on_order[ordered] += quantity
        arrival = day + t.lead_days[ordered]
        for due in np.unique(arrival).tolist():
            on_day = arrival == due
            skus, units = ordered[on_day], quantity[on_day]
            if due in self.due:  # orders of other nights due the same day
                skus = np.concatenate([self.due[due][0], skus])
                units = np.concatenate([self.due[due][1], units])
            self.due[due] = (skus, units)

    def _day(self, day: int, keys: np.ndarray, qty: np.ndarray, store: np.ndarray) -> np.ndarray:
        """One day (see the module docstring); returns which of its lines are kept."""
        if not self.started:
            self._start(day)
        self.on_hand += self.arriving
        self.arriving[:] = 0
        received = self.due.pop(day, None)
        if received is not None:
            np.add.at(self.dc_on_hand, received[0], received[1])
            np.subtract.at(self.dc_on_order, received[0], received[1])
        kept, backorder = self._sell(keys, qty, store)
        self._record(day, keys[kept], qty[kept])
        self._count(day, backorder)
        if day < self.window.last:
            self._night(day, backorder)
        return kept

    # --- the month loop --------------------------------------------------------

    def run_month(self, lines: MonthLines, forward: np.ndarray) -> np.ndarray:
        """Replay one month's lines (in month order); returns the mask of lines kept.

        ``forward`` is each line's forward warehouse index. Lines before the
        window are kept and feed the rates; lines after it are kept untouched.
        """
        day = lines.ts // 86_400
        keys = forward.astype(np.int64) * self.n_skus + lines.sku
        qty = lines.quantity.astype(np.int64)
        kept = np.ones(day.size, dtype=bool)
        before = day < self.window.first
        self._observe(day[before], keys[before], qty[before])
        first_day = int(lines.month.astype("datetime64[D]").astype(np.int64))
        next_month = int((lines.month + 1).astype("datetime64[D]").astype(np.int64))
        days = range(max(first_day, self.window.first), min(next_month - 1, self.window.last) + 1)
        inside = np.flatnonzero((day >= self.window.first) & (day <= self.window.last))
        order = inside[np.lexsort((lines.ts[inside], keys[inside], day[inside]))]
        bounds = np.searchsorted(day[order], np.array([*days, days.stop]))
        store = lines.channel == _STORE
        for i, d in enumerate(days):
            idx = order[bounds[i] : bounds[i + 1]]
            kept[idx] = self._day(d, keys[idx], qty[idx], store[idx])
        return kept

    def counts(self) -> pl.DataFrame:
        """The change log: ``warehouse`` (0 the DC, 1.. forward), ``sku``, ``day``, levels."""
        levels = ("day", "on_hand", "reserved", "in_transit")
        dc = self.dc_log.frame().select(
            pl.lit(0, pl.Int64).alias("warehouse"), pl.col("pair").alias("sku"), *levels
        )
        forward = self.forward_log.frame().select(
            (pl.col("pair") // self.n_skus + 1).alias("warehouse"),
            (pl.col("pair") % self.n_skus).alias("sku"),
            *levels,
        )
        return pl.concat([dc, forward]).sort("day", "warehouse", "sku")
