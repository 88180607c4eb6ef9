"""The min/max baseline: the rule planners use without a forecast, run by the same nightly code.

For every series sold at its forward warehouse within the last ``window_days``
(28) the rule keeps

    reorder point  s = ⌈d̄ · (reorder_days + L)⌉      (1 week of demand, plus the lead time)
    maximum        S = ⌈d̄ · (max_days + L)⌉ ↑ multiple   (2 weeks, in the SKU's sales multiple)

where d̄ is the series' average daily demand over the window and L the SKU's
days beyond the overnight hop (0 for most parts). When the inventory position
falls to s, the warehouse orders up to S; otherwise nothing. There is no range
decision (every series sold in the window is held, none other), no service
target and no cover cap; allocation, transfers, pull-backs, routes and the DC's
purchasing are the nightly's own (:mod:`optimization.replenishment.policy`
selects this rule with ``PolicyParams(rule="minmax")``).

The convention is the one of ``bench/bench_replenishment_network.py``'s min/max
(``optimization.evaluation.level_rules.min_max_levels``): the trailing 28-day
average and levels rounded up; here the reorder point and the maximum are whole
weeks of cover, as planners state them.

Where d̄ comes from: the policy's ``rate`` column. The nightly fills it from the
forecast, so a min/max night runs with :func:`minmax_forecast`, which makes the
forecast the 28-day moving average itself (statsforecast's ``WindowAverage`` for
every demand class, no seasonal index): the planner's spreadsheet figure, fed
through the same engine, tables and purchasing as the real policy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from models.params import ForecastParams

#: The moving-average model every class gets under :func:`minmax_forecast`.
MOVING_AVERAGE = "WindowAverage"


@dataclass(frozen=True)
class MinMaxParams:
    """The window d̄ is averaged over and the weeks of cover of s and S (days)."""

    window_days: int = 28
    reorder_days: float = 7.0
    max_days: float = 14.0

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ValueError(f"window_days must be at least 1, got {self.window_days}")
        if not 0 <= self.reorder_days < self.max_days:
            raise ValueError(
                "min/max needs 0 <= reorder_days < max_days, "
                f"got {self.reorder_days} and {self.max_days}"
            )


def minmax_levels(series: pl.DataFrame, as_of: date, params: MinMaxParams) -> pl.DataFrame:
    """``series`` with the min/max range, levels and reasons, in the policy's columns.

    Parameters
    ----------
    series
        The policy's frame: ``rate`` (d̄ per day), ``last_sale`` (null: never sold
        here), ``lead_time_days``, ``sales_multiple``, ``do_not_stock``.
    as_of
        The planning night: a sale on or after ``as_of − window_days + 1`` is recent.
    params
        Window and weeks of cover.

    Returns
    -------
    pl.DataFrame
        ``series`` plus ``stocked``, ``sell_probability`` and ``stock_threshold``
        (null: the baseline has none), ``stocking_reason``, ``order_up_to`` (S, in
        sales multiples; 0 when not held), ``reorder_point`` (s; −1 when not held, so
        no position triggers an order), and the policy's ``group_cycle_service`` and
        ``group_fill`` (null).
    """
    first_recent = as_of.toordinal() - params.window_days + 1
    recent = pl.col("last_sale").is_not_null() & (
        pl.col("last_sale") >= pl.lit(date.fromordinal(first_recent))
    )
    held = recent & ~pl.col("do_not_stock") & (pl.col("rate") > 0)
    m = pl.col("sales_multiple")
    # The 1e-9 keeps a level that is a whole number of units from rounding up one more.
    low = (pl.col("rate") * (params.reorder_days + pl.col("lead_time_days")) - 1e-9).ceil()
    high = (pl.col("rate") * (params.max_days + pl.col("lead_time_days")) - 1e-9).ceil()
    high = (high / m).ceil() * m
    why = (
        pl.when(pl.col("do_not_stock"))
        .then(pl.lit("Kept at the DC: the SKU is do-not-stock"))
        .when(pl.col("last_sale").is_null())
        .then(pl.lit("Kept at the DC (min/max): never sold here"))
        .when(~recent)
        .then(
            pl.format(
                "Kept at the DC (min/max): no sale in the last {} days (last {})",
                pl.lit(params.window_days),
                "last_sale",
            )
        )
        .otherwise(
            pl.format(
                "Held here (min/max): sold in the last {} days, {}/day on average; "
                "reorder at {} units ({} days), order up to {} ({} days)",
                pl.lit(params.window_days),
                pl.col("rate").round(2),
                low.cast(pl.Int64),
                pl.lit(f"{params.reorder_days:g}"),
                high.cast(pl.Int64),
                pl.lit(f"{params.max_days:g}"),
            )
        )
    )
    return series.with_columns(
        stocked=held,
        sell_probability=pl.lit(None, dtype=pl.Float64),
        stock_threshold=pl.lit(None, dtype=pl.Float64),
        stocking_reason=why,
        order_up_to=pl.when(held).then(high).otherwise(0).cast(pl.Int64),
        reorder_point=pl.when(held).then(low).otherwise(-1).cast(pl.Int64),
        group_cycle_service=pl.lit(None, dtype=pl.Float64),
        group_fill=pl.lit(None, dtype=pl.Float64),
    )


def minmax_forecast(forecast: ForecastParams, params: MinMaxParams) -> ForecastParams:
    """``forecast`` turned into the baseline's demand estimate: the trailing moving average.

    Every demand class gets one candidate, ``WindowAverage`` over ``window_days``,
    without the group seasonal index, so each series' forecast mean is its average
    daily demand over the window (censored stock-out days count at the series'
    mean, as the demand series rules fill them). A series too short for the window
    falls back to the engine's ``HistoricAverage``.
    """
    return replace(
        forecast,
        candidates={cls: (MOVING_AVERAGE,) for cls in forecast.candidates},
        season_length=params.window_days,
        group_seasonality=False,
    )
