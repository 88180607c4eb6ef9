"""The replay's bookkeeping, its timing, the level rules and the frontier."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from optimization.evaluation.frontier import FRONTIER_POINTS, frontier, inventory_at_service
from optimization.evaluation.level_rules import min_max_levels, normal_levels, policy_levels
from optimization.evaluation.simulation import (
    SIM_HISTORY,
    SIM_ITEMS,
    SIM_LEVELS,
    SIM_SERIES,
    SimulationParams,
    replay,
    simulate,
)
from optimization.replenishment.service import ServiceTarget, fill_rate


def _levels(s: np.ndarray, reorder: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    return (s - 1 if reorder is None else reorder), s


@pytest.mark.parametrize("lead", [0, 1, 3])
@pytest.mark.parametrize("pull_back", [False, True])
def test_units_are_conserved(lead: int, pull_back: bool) -> None:
    rng = np.random.default_rng(lead)
    demand = rng.poisson(rng.uniform(0, 3, (40, 1)), (40, 120))
    returns = rng.binomial(1, 0.05, (40, 120))
    s = rng.integers(0, 12, (40, 120))
    reorder = s - rng.integers(1, 4, (40, 120))
    result = simulate(
        [f"i{k}" for k in range(40)],
        demand,
        reorder,
        s,
        np.ones(40),
        SimulationParams(lead_periods=lead, dead_after_periods=5, pull_back=pull_back),
        pack_size=rng.integers(1, 4, 40),
        returns=returns,
    )
    df = result.series
    assert df.schema == SIM_SERIES
    inflow = df["initial_on_hand"] + df["received"] + df["returned"]
    outflow = df["served"] + df["pulled_back"] + df["final_on_hand"]
    assert (inflow == outflow).all()
    assert (df["ordered"] == df["received"] + df["outstanding"]).all()
    assert (df["demand"] == df["served"] + df["lost"]).all()
    assert df["demand"].sum() == demand.sum()
    assert (df["pulled_back"].sum() > 0) == pull_back


def test_lost_sales_and_next_morning_receipts() -> None:
    demand = np.array([[3, 0, 2, 1]])
    s = np.full((1, 4), 2)
    result = simulate(["a"], demand, s - 1, s, np.array([10.0]))
    row = result.series.row(0, named=True)
    # Day 0: 2 on hand, 3 asked: 2 served, 1 lost; 2 ordered arrive day 1; day 2 sells 2; ...
    assert (row["served"], row["lost"], row["stockout_periods"]) == (5, 1, 1)
    assert row["final_on_hand"] == 1 and row["outstanding"] == 1
    assert result.summary.fill_rate == pytest.approx(5 / 6)


def test_an_order_arrives_after_the_lead_time() -> None:
    demand = np.array([[2, 0, 0, 0, 0]])
    s = np.full((1, 5), 2)
    df = simulate(["a"], demand, s - 1, s, np.ones(1), SimulationParams(lead_periods=2)).series
    # Ordered on day 0's evening, received on day 3's morning.
    assert (df["received"].item(), df["outstanding"].item()) == (2, 0)
    short = simulate(["a"], demand[:, :3], s[:, :3] - 1, s[:, :3], np.ones(1), SimulationParams(2))
    assert (short.series["received"].item(), short.series["outstanding"].item()) == (0, 2)


def test_achieved_fill_rate_matches_the_formula() -> None:
    rng = np.random.default_rng(7)
    demand = rng.poisson(0.4, (300, 400))
    lead = np.zeros(demand.shape)
    reorder, s = policy_levels(lead, np.full(demand.shape, 0.4), np.ones(300), ServiceTarget())
    assert (s == 2).all()
    result = simulate([str(k) for k in range(300)], demand, reorder, s, np.ones(300))
    assert result.summary.fill_rate == pytest.approx(fill_rate(2.0, 0.4, 1.0), abs=0.005)


def test_normal_levels_round_the_newsvendor_level_up() -> None:
    _, s = normal_levels(
        np.zeros((1, 1)),
        np.full((1, 1), 50.0),
        np.array([64 / 50]),
        ServiceTarget("cycle_service", 0.7 / 0.88),
    )
    assert s.item() == 57  # ⌈56.60⌉


def test_min_max_follows_the_trailing_average() -> None:
    history = np.array([[2, 2, 2, 2]])
    demand = np.array([[6, 6]])
    low_minus_one, high = min_max_levels(history, demand, window=4, lead_periods=1, cover=1.0)
    # Day 0 average (2+2+2+6)/4 = 3: min 6, max 9; day 1 average (2+2+6+6)/4 = 4: min 8, max 12.
    assert (low_minus_one + 1).tolist() == [[6, 8]]
    assert high.tolist() == [[9, 12]]


def test_replay_of_frames_equals_the_array_replay() -> None:
    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(3)]
    history = pl.DataFrame(
        [
            (i, d, y, 0)
            for i, ys in (("a", [1, 0, 2]), ("b", [0, 3, 1]))
            for d, y in zip(days, ys, strict=True)
        ],
        schema=SIM_HISTORY,
        orient="row",
    )
    levels = history.select("unique_id", "ds", reorder_point=pl.lit(1), order_up_to=pl.lit(2)).cast(
        SIM_LEVELS
    )
    items = pl.DataFrame([("a", 1, 5.0, None), ("b", 1, 1.0, 0)], schema=SIM_ITEMS, orient="row")
    got = replay(history, levels, items)
    s = np.full((2, 3), 2)
    want = simulate(
        ["a", "b"],
        np.array([[1, 0, 2], [0, 3, 1]]),
        s - 1,
        s,
        np.array([5.0, 1.0]),
        initial_on_hand=np.array([2, 0]),
    )
    assert got.series.equals(want.series)
    with pytest.raises(ValueError, match="exactly once"):
        replay(history, levels.head(5), items)


def test_frontier_keeps_efficient_points_and_interpolates() -> None:
    points = pl.DataFrame(
        [
            ("p", 0.8, 0.80, 0.9, 10.0),
            ("p", 0.9, 0.90, 0.95, 20.0),
            ("p", 0.85, 0.85, 0.9, 25.0),  # dominated: more stock, less service
            ("q", 1.0, 0.90, 0.9, 30.0),
        ],
        schema=FRONTIER_POINTS,
        orient="row",
    )
    assert frontier(points).height == 3
    got = inventory_at_service(points, [0.85, 0.95])
    assert got.filter(pl.col("policy") == "p")["avg_inventory_value"].to_list() == [
        pytest.approx(15.0),
        None,
    ]
    assert got.filter(pl.col("policy") == "q")["avg_inventory_value"].to_list() == [None, None]
