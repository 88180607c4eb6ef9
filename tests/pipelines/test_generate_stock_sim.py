"""The generator's stock replay: its policies and one warehouse's days, step by step."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.generate.demand import MonthLines
from pipelines.generate.stock_policy import (
    allocate,
    enters_range,
    forward_levels,
    held_levels,
    purchase_quantity,
)
from pipelines.generate.stock_sim import SimTerms, StockSimulation, Window


class _NoChance:
    """A random stream that always draws its lowest value: every short store line is
    lost, and the DC opens its window at its full level."""

    def random(self, size: int) -> np.ndarray:
        return np.zeros(size)

    def uniform(self, low: float, high: float, size: int) -> np.ndarray:
        return np.full(size, float(low))


def _lines(days: list[int], qty: list[int], channel: list[int]) -> MonthLines:
    """Lines of sku 0 at store 0 (forward warehouse 0) in January 1970, one order each."""
    n = len(days)
    return MonthLines(
        month=np.datetime64("1970-01"),
        order_no=np.arange(n),
        line_no=np.ones(n, dtype=np.int32),
        ts=np.array(days) * 86_400 + 36_000 + np.arange(n),
        store=np.zeros(n, dtype=np.int64),
        model=np.zeros(n, dtype=np.int64),
        sku=np.zeros(n, dtype=np.int64),
        quantity=np.array(qty, dtype=np.int32),
        unit_price=np.full(n, 10.0),
        channel=np.array(channel, dtype=np.int8),
    )


@pytest.fixture
def replayed() -> tuple[StockSimulation, np.ndarray]:
    """One warehouse and one sku: two units a day for ten days, then a window of five days.

    Day 10: three store lines of 5 against the level (11); day 12: an online line of 20.
    """
    one = np.ones(1, dtype=np.int64)
    terms = SimTerms(
        sales_multiple=one, set_size=one, stockable=np.ones(1, dtype=bool), case_pack=one,
        moq=one, lead_days=2 * one, cycle_days=7 * one, review_phase=0 * one,
    )  # fmt: skip
    window = Window(history_first=0, first=10, last=14)
    simulation = StockSimulation(terms, 1, window, _NoChance())  # type: ignore[arg-type]
    before = [d for d in range(10) for _ in range(2)]
    lines = _lines([*before, 10, 10, 10, 12], [1] * 20 + [5, 5, 5, 20], [0] * 23 + [1])
    kept = simulation.run_month(lines, np.zeros(24, dtype=np.int64))
    return simulation, kept


def test_a_store_line_the_shelf_cannot_serve_is_lost_an_online_one_placed(
    replayed: tuple[StockSimulation, np.ndarray],
) -> None:
    simulation, kept = replayed
    assert kept[:20].all()  # before the window: history as drawn
    assert kept[20:].tolist() == [True, True, False, True]
    assert simulation.lost == 1


def test_counts_are_written_when_a_level_changes(
    replayed: tuple[StockSimulation, np.ndarray],
) -> None:
    counts = replayed[0].counts()
    forward = counts.filter(pl.col("warehouse") == 1)
    # Day 10 ends with 1 unit; the overnight transfer refills it; day 12's online line of
    # 20 lifts the rate, so the level and the refill after it (day 13).
    assert forward["day"].to_list() == [10, 11, 13]
    assert forward["on_hand"][0] == 1 and forward["on_hand"][1] > 10
    dc = counts.filter(pl.col("warehouse") == 0).sort("day")
    # The DC's review days are multiples of 7 (day 14). On day 10 it sends 13 and keeps 13,
    # less than ~2.3/day over the 4 days to day 14 + 2 of lead time: it rushes an order,
    # in transit on day 11 and received on day 12, when the online line waits (reserved).
    assert dc["day"].to_list() == [10, 11, 12, 13, 14]
    assert dc["in_transit"][1] > 0 and dc["on_hand"][2] > dc["on_hand"][1]
    assert dc.filter(pl.col("day") == 12)["reserved"].item() == 20


def test_levels_hold_a_set_in_sales_multiples_and_only_for_held_series() -> None:
    units, lines = np.array([0, 1, 90]), np.array([0, 1, 45])
    level = forward_levels(units, lines, 90, np.array([4, 1, 1]), np.array([2, 1, 1]))
    assert level[0] == 4 and level[1] >= 1 and level[2] > level[1]
    assert enters_range(units, 90, level).tolist() == [False, False, True]
    held = np.array([True, True, True])
    assert held_levels(held, units, level, held).tolist() == [0, level[1], level[2]]


def test_a_short_dc_serves_requests_whole_in_priority_order() -> None:
    grant = allocate(
        np.array([4, 4, 2]), np.zeros(3, dtype=np.int64), np.array([7]), np.array([2]),
        np.array([0.3, 0.1, 0.2]),
    )  # fmt: skip
    assert grant.tolist() == [0, 4, 2]  # the last in line gets what is left, in pairs: none


def test_purchase_orders_are_at_least_the_moq_in_whole_cases() -> None:
    quantity = purchase_quantity(np.array([3, 9]), np.array([4, 4]), np.array([8, 4]))
    assert quantity.tolist() == [8, 12]
