"""Replay demand history period by period under a replenishment policy, and score it.

One period (a day for a forward warehouse, a month for the RAF benchmark):

1. **morning** — transfers due today arrive, returns go back on the shelf;
2. **day** — demand is served from on-hand stock; what cannot be served is
   **lost** (a mechanic with the car in the bay does not wait for tomorrow's
   delivery: the store gets the part elsewhere, so it never becomes a
   backorder on this warehouse);
3. **evening** — optionally, stock idle for ``dead_after_periods`` above S
   goes back to the DC; then the review: if the inventory position (on hand
   + in transit) is at or below the reorder point, order up to S, rounded up
   to whole packs; the order arrives ``lead_periods + 1`` periods later (lead
   0 = tomorrow morning).

The DC is assumed to have the stock (allocation under scarcity is scored
separately). Units are conserved and checked on every run:
``initial + received + returned = served + pulled back + final on hand``,
``ordered = received + outstanding`` and ``demand = served + lost``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Per-series results of a replay.
SIM_SERIES = pl.Schema(
    {
        "unique_id": pl.String,
        "demand": pl.Int64,
        "served": pl.Int64,
        "lost": pl.Int64,
        "fill_rate": pl.Float64,
        "cycle_service": pl.Float64,
        "stockout_periods": pl.Int64,
        "avg_on_hand": pl.Float64,
        "avg_inventory_value": pl.Float64,
        "dead_stock_value": pl.Float64,
        "initial_on_hand": pl.Int64,
        "received": pl.Int64,
        "returned": pl.Int64,
        "pulled_back": pl.Int64,
        "ordered": pl.Int64,
        "outstanding": pl.Int64,
        "final_on_hand": pl.Int64,
    }
)


#: Demand history to replay: dense per series and period, ``returns`` may be absent (0).
SIM_HISTORY = pl.Schema({"unique_id": pl.String, "ds": pl.Date, "y": pl.Int64, "returns": pl.Int64})

#: Levels of the review closing each period (same series and periods as the history).
SIM_LEVELS = pl.Schema(
    {
        "unique_id": pl.String,
        "ds": pl.Date,
        "reorder_point": pl.Int64,
        "order_up_to": pl.Int64,
    }
)

#: Per series: order multiple, unit value and first-morning stock (null: the first S).
SIM_ITEMS = pl.Schema(
    {
        "unique_id": pl.String,
        "pack_size": pl.Int64,
        "unit_cost": pl.Float64,
        "initial_on_hand": pl.Int64,
    }
)


@dataclass(frozen=True)
class SimulationParams:
    """Lead time (periods beyond the review), periods a year, dead-stock age, pull-back."""

    lead_periods: int = 0
    periods_per_year: float = 365.0
    dead_after_periods: int = 90
    pull_back: bool = False

    def __post_init__(self) -> None:
        if self.lead_periods < 0:
            raise ValueError(f"lead time must be >= 0 periods, got {self.lead_periods}")
        if self.periods_per_year <= 0:
            raise ValueError(f"periods per year must be > 0, got {self.periods_per_year}")
        if self.dead_after_periods < 1:
            raise ValueError(f"dead_after_periods must be >= 1, got {self.dead_after_periods}")


@dataclass(frozen=True)
class SimulationSummary:
    """Totals over all series of a replay.

    ``fill_rate`` is served / demand in units; ``item_fill_rate`` the mean of
    the series' own fill rates (series with demand only); ``cycle_service`` the share of
    (series, period) without lost demand; ``stockout_periods`` their count
    with lost demand; ``avg_inventory_value`` the time-average on-hand value
    (mean of morning and evening stock); ``turns`` the yearly cost of goods
    served over that value; ``dead_stock_value`` the average value of stock
    idle for at least ``dead_after_periods``.
    """

    fill_rate: float
    item_fill_rate: float
    cycle_service: float
    stockout_periods: int
    avg_inventory_value: float
    turns: float
    dead_stock_value: float
    demand: int
    served: int


@dataclass(frozen=True)
class SimulationResult:
    """Per-series ``SIM_SERIES`` frame and the ``summary`` over all series."""

    series: pl.DataFrame
    summary: SimulationSummary


def simulate(
    ids: list[str],
    demand: IntArray,
    reorder_point: IntArray,
    order_up_to: IntArray,
    unit_cost: FloatArray,
    params: SimulationParams = SimulationParams(),
    pack_size: IntArray | None = None,
    returns: IntArray | None = None,
    initial_on_hand: IntArray | None = None,
) -> SimulationResult:
    """Replay ``demand`` under the given levels.

    Parameters
    ----------
    ids
        Series names, one per row.
    demand
        Units demanded, shape ``(series, periods)``.
    reorder_point, order_up_to
        Levels of the review closing each period, same shape (see
        :mod:`optimization.evaluation.level_rules`).
    unit_cost
        Value of a unit per series.
    params
        Lead time, calendar, dead-stock age, pull-back.
    pack_size
        Order multiple per series (default 1).
    returns
        Units coming back per period (default none).
    initial_on_hand
        Stock on the first morning (default: ``order_up_to[:, 0]``).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ValueError
        For mismatched shapes or negative demand.
    AssertionError
        If the bookkeeping does not conserve units (a bug, never data).
    """
    demand = np.asarray(demand, dtype=np.int64)
    n, periods = demand.shape
    if reorder_point.shape != demand.shape or order_up_to.shape != demand.shape:
        raise ValueError("levels must have the shape of demand")
    if len(ids) != n or (demand < 0).any():
        raise ValueError("one id per series and non-negative demand are required")
    pack = np.ones(n, dtype=np.int64) if pack_size is None else np.asarray(pack_size, np.int64)
    back = np.zeros_like(demand) if returns is None else np.asarray(returns, dtype=np.int64)
    start = order_up_to[:, 0] if initial_on_hand is None else initial_on_hand
    on_hand = np.maximum(np.asarray(start, dtype=np.int64), 0).copy()
    initial = on_hand.copy()
    cost = np.asarray(unit_cost, dtype=np.float64)
    lead = params.lead_periods
    pipeline = np.zeros((n, periods + lead + 1), dtype=np.int64)
    idle = np.zeros(n, dtype=np.int64)
    received = np.zeros(n, dtype=np.int64)
    pulled = np.zeros(n, dtype=np.int64)
    ordered = np.zeros(n, dtype=np.int64)
    served_total = np.zeros(n, dtype=np.int64)
    stockouts = np.zeros(n, dtype=np.int64)
    stock_sum = np.zeros(n, dtype=np.float64)
    dead_sum = np.zeros(n, dtype=np.float64)
    for t in range(periods):
        on_hand += pipeline[:, t] + back[:, t]
        received += pipeline[:, t]
        morning = on_hand.copy()
        served = np.minimum(on_hand, demand[:, t])
        on_hand -= served
        served_total += served
        stockouts += demand[:, t] > served
        idle = np.where(served > 0, 0, idle + 1)
        dead = idle >= params.dead_after_periods
        if params.pull_back:
            excess = np.where(dead, np.maximum(on_hand - np.maximum(order_up_to[:, t], 0), 0), 0)
            on_hand -= excess
            pulled += excess
        position = on_hand + pipeline[:, t + 1 :].sum(axis=1)
        need = np.where(position <= reorder_point[:, t], order_up_to[:, t] - position, 0)
        order = -(-np.maximum(need, 0) // pack) * pack
        pipeline[:, t + lead + 1] += order
        ordered += order
        stock_sum += (morning + on_hand) / 2
        dead_sum += np.where(dead, on_hand, 0) * cost
    outstanding = pipeline[:, periods:].sum(axis=1)
    total_demand = demand.sum(axis=1)
    returned = back.sum(axis=1)
    assert (initial + received + returned == served_total + pulled + on_hand).all()
    assert (ordered == received + outstanding).all()
    avg_on_hand = stock_sum / periods
    series = pl.DataFrame(
        {
            "unique_id": ids,
            "demand": total_demand,
            "served": served_total,
            "lost": total_demand - served_total,
            "fill_rate": np.where(
                total_demand > 0, served_total / np.maximum(total_demand, 1), 1.0
            ),
            "cycle_service": 1 - stockouts / periods,
            "stockout_periods": stockouts,
            "avg_on_hand": avg_on_hand,
            "avg_inventory_value": avg_on_hand * cost,
            "dead_stock_value": dead_sum / periods,
            "initial_on_hand": initial,
            "received": received,
            "returned": returned,
            "pulled_back": pulled,
            "ordered": ordered,
            "outstanding": outstanding,
            "final_on_hand": on_hand,
        },
        schema=SIM_SERIES,
    )
    return SimulationResult(series, summarise(series, periods, params.periods_per_year, cost))


def simulate_leads(
    ids: list[str],
    demand: IntArray,
    reorder_point: IntArray,
    order_up_to: IntArray,
    unit_cost: FloatArray,
    lead_periods: IntArray,
    params: SimulationParams = SimulationParams(),
    pack_size: IntArray | None = None,
    returns: IntArray | None = None,
    initial_on_hand: IntArray | None = None,
) -> SimulationResult:
    """:func:`simulate` for series with their own lead times (``params.lead_periods`` ignored).

    Each lead-time group is replayed with its lead time; the series frames are
    concatenated (grouped by lead time) and summarised together.
    """
    n = len(ids)
    pack = np.ones(n, dtype=np.int64) if pack_size is None else np.asarray(pack_size, np.int64)
    cost = np.asarray(unit_cost, dtype=np.float64)
    lead = np.asarray(lead_periods, dtype=np.int64)
    parts: list[pl.DataFrame] = []
    order: list[IntArray] = []
    for value in np.unique(lead):
        rows = np.flatnonzero(lead == value)
        result = simulate(
            [ids[i] for i in rows],
            demand[rows],
            reorder_point[rows],
            order_up_to[rows],
            cost[rows],
            replace(params, lead_periods=int(value)),
            pack_size=pack[rows],
            returns=None if returns is None else returns[rows],
            initial_on_hand=None if initial_on_hand is None else initial_on_hand[rows],
        )
        parts.append(result.series)
        order.append(rows)
    series = pl.concat(parts)
    periods = np.asarray(demand).shape[1]
    return SimulationResult(
        series,
        summarise(series, periods, params.periods_per_year, cost[np.concatenate(order)]),
    )


def summarise(
    series: pl.DataFrame, periods: int, periods_per_year: float, unit_cost: FloatArray
) -> SimulationSummary:
    """Totals of a ``SIM_SERIES`` frame over ``periods`` periods."""
    demand = int(series["demand"].sum())
    served = int(series["served"].sum())
    value = float(series["avg_inventory_value"].sum())
    served_value = float((series["served"].to_numpy() * unit_cost).sum())
    return SimulationSummary(
        fill_rate=served / demand if demand else 1.0,
        item_fill_rate=float(
            series.filter(pl.col("demand") > 0)["fill_rate"].to_numpy().mean()
            if (series["demand"] > 0).any()
            else 1.0
        ),
        cycle_service=float(series["cycle_service"].to_numpy().mean()) if series.height else 1.0,
        stockout_periods=int(series["stockout_periods"].sum()),
        avg_inventory_value=value,
        turns=served_value / value * periods_per_year / periods if value > 0 else 0.0,
        dead_stock_value=float(series["dead_stock_value"].sum()),
        demand=demand,
        served=served,
    )


def replay(
    history: pl.DataFrame,
    levels: pl.DataFrame,
    items: pl.DataFrame,
    params: SimulationParams = SimulationParams(),
) -> SimulationResult:
    """Frame interface of :func:`simulate`.

    Parameters
    ----------
    history
        ``SIM_HISTORY`` (``returns`` optional), one row per series and period.
    levels
        ``SIM_LEVELS`` for the same series and periods.
    items
        ``SIM_ITEMS`` per series (missing series: packs of 1, value 1, first S).
    params
        Lead time, calendar, dead-stock age, pull-back.

    Raises
    ------
    ValueError
        If history and levels do not cover the same dense (series, period) grid.
    """
    if "returns" not in history.columns:
        history = history.with_columns(returns=pl.lit(0, pl.Int64))
    grid = history.select("unique_id", "ds", "y", "returns").join(
        levels.select(SIM_LEVELS.names()), on=["unique_id", "ds"], how="full", coalesce=True
    )
    ids = grid["unique_id"].unique().sort()
    dates = grid["ds"].unique().sort()
    if grid.null_count().sum_horizontal().item() or grid.height != ids.len() * dates.len():
        raise ValueError("history and levels must hold every (unique_id, ds) exactly once")
    grid = grid.sort("unique_id", "ds")
    shape = (ids.len(), dates.len())

    def matrix(column: str) -> IntArray:
        return grid[column].to_numpy().astype(np.int64).reshape(shape)

    info = (
        ids.to_frame()
        .join(items, on="unique_id", how="left")
        .with_columns(pl.col("pack_size").fill_null(1), pl.col("unit_cost").fill_null(1.0))
    )
    up_to = matrix("order_up_to")
    initial = info["initial_on_hand"].fill_null(pl.Series(up_to[:, 0])).to_numpy()
    return simulate(
        ids.to_list(),
        matrix("y"),
        matrix("reorder_point"),
        up_to,
        info["unit_cost"].to_numpy(),
        params,
        pack_size=info["pack_size"].to_numpy(),
        returns=matrix("returns"),
        initial_on_hand=initial.astype(np.int64),
    )
