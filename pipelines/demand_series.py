"""Demand series per (forward warehouse, sku) for the forecasting engine: the one home of
the stage's rules (what demand is, the span, the stock-out rule, censoring). The database
reads it needs are in :mod:`warehouse.demand` (``daily_demand``, ``stock_counts``).

Choices (documented here because every forecast inherits them):

* **What demand is.** The quantity of *completed* order lines by
  Asia/Shanghai demand day (``warehouse.demand.daily_demand``). Cancelled
  lines are not demand. **Returns are not subtracted**: the part was asked
  for on that day, which is what the warehouse must be able to serve; the
  returned unit flows back into stock and replenishment sees it through the
  stock counts. (Subtracting returns would lower demand exactly where wrong
  fitment makes stores order more.)
* **Span.** A series runs from its first sale in the history window to the
  as-of date; days in between without a sale are zeros. (The engine fits a
  ``new`` series on the days *after* its first sale: divided by the few
  days since, that sale alone inflated new series' forecasts 35-fold;
  ``models.fitting.after_first_sale``.)
* **Censoring.** A day on which the warehouse started with nothing available
  (``on_hand − reserved ≤ 0`` and nothing in transit at the previous count,
  until the next count: :func:`stockout_spans`) and sold nothing is a stock-out
  day: its zero says nothing about demand. A series the plan keeps at the DC
  (not held at the warehouse, or pulled back) is empty by design, not out of
  stock: its empty days are real zeros. (Censoring them taught the models the
  series' old mean, re-held it the next night and sent back what had just
  been pulled back: the closed loop measured 1,468 such pairs in 28 nights.)
  Stock-out days are not fed to the models as zeros; they get the series'
  mean demand over its uncensored days (so they neither pull the level down
  nor invent a spike), and are reported.
* **Key.** ``unique_id`` = ``warehouse_id + "/" + sku``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl

from models.schemas import DEMAND_HISTORY, series_id
from models.series import SERIES

#: End-of-day stock counts at the forward warehouses (``warehouse.demand.stock_counts``):
#: ``available`` is on hand less reserved.
STOCK_COUNTS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "as_of": pl.Date,
        "available": pl.Int64,
        "in_transit": pl.Int64,
    }
)

#: Series the latest plan keeps at the DC (``warehouse.demand.kept_at_dc``).
KEPT_AT_DC = pl.Schema({"warehouse_id": pl.String, "sku": pl.String})

#: Days without available stock per (warehouse, sku), inclusive spans.
STOCKOUT_SPANS = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "from_day": pl.Date, "to_day": pl.Date}
)


def stockout_spans(
    counts: pl.DataFrame, start: date, as_of: date, kept_at_dc: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Spans of days within ``start .. as_of`` a forward warehouse started with nothing available.

    A count is taken at the end of its day. When nothing is available after it
    (``available ≤ 0`` and nothing in transit), the following days up to the day
    before the next count (or ``as_of``) start empty.

    Parameters
    ----------
    counts
        ``STOCK_COUNTS`` up to ``as_of``; a series' counts before ``start`` matter
        only through its last one.
    start, as_of
        The window of the demand history.
    kept_at_dc
        ``KEPT_AT_DC``: series empty by design, which have no stock-out spans
        (``None``: none, e.g. before the first plan).

    Returns
    -------
    pl.DataFrame
        ``STOCKOUT_SPANS``, sorted.
    """
    if counts.schema != STOCK_COUNTS:
        raise ValueError(f"counts must have schema {STOCK_COUNTS}, got {counts.schema}")
    day = pl.duration(days=1)
    return (
        counts.filter(pl.col("as_of") <= as_of)
        .sort("warehouse_id", "sku", "as_of")
        .with_columns(next_count=pl.col("as_of").shift(-1).over("warehouse_id", "sku"))
        .filter((pl.col("available") <= 0) & (pl.col("in_transit") == 0))
        .select(
            "warehouse_id",
            "sku",
            from_day=pl.max_horizontal(pl.col("as_of") + day, pl.lit(start)),
            to_day=pl.coalesce(pl.col("next_count") - day, pl.lit(as_of)),
        )
        .filter(pl.col("to_day") >= pl.col("from_day"))
        .join(
            KEPT_AT_DC.to_frame() if kept_at_dc is None else kept_at_dc.cast(KEPT_AT_DC),
            on=["warehouse_id", "sku"],
            how="anti",
        )
        .sort("warehouse_id", "sku", "from_day", "to_day")
        .cast(STOCKOUT_SPANS)
    )


def censored_days(sales: pl.DataFrame, stockouts: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Stock-out days without a sale, per series, from its first sale to ``as_of``.

    Returns ``warehouse_id, sku, ds``.
    """
    if sales.schema != DEMAND_HISTORY:
        raise ValueError(f"sales must have schema {DEMAND_HISTORY}, got {sales.schema}")
    first = sales.group_by("warehouse_id", "sku").agg(first=pl.col("ds").min())
    days = (
        stockouts.cast(STOCKOUT_SPANS)
        .join(first, on=["warehouse_id", "sku"], how="inner")
        .with_columns(
            from_day=pl.max_horizontal("from_day", "first"),
            to_day=pl.min_horizontal("to_day", pl.lit(as_of)),
        )
        .filter(pl.col("from_day") <= pl.col("to_day"))
        .select("warehouse_id", "sku", ds=pl.date_ranges("from_day", "to_day"))
        .explode("ds")
        .unique()
    )
    return days.join(sales, on=["warehouse_id", "sku", "ds"], how="anti").sort(
        "warehouse_id", "sku", "ds"
    )


def warehouse_series(
    sales: pl.DataFrame, censored: pl.DataFrame, as_of: date
) -> Iterator[tuple[str, pl.DataFrame]]:
    """The engine's input, one forward warehouse at a time (bounded memory).

    ``censored`` comes from :func:`censored_days`. Yields ``(warehouse_id,
    series)``, ``series`` with schema ``models.series.SERIES``: the sale days
    and the censored days (filled with the series' uncensored mean); the
    engine zero-fills the rest up to ``as_of``.
    """
    for (warehouse,), part in sales.sort("warehouse_id").group_by(
        "warehouse_id", maintain_order=True
    ):
        lost = censored.filter(pl.col("warehouse_id") == warehouse)
        stats = part.group_by("sku").agg(total=pl.col("y").sum(), first=pl.col("ds").min())
        imputed = (
            lost.group_by("sku")
            .agg(n_censored=pl.len())
            .join(stats, on="sku")
            .with_columns(
                days=(pl.lit(as_of) - pl.col("first")).dt.total_days() + 1 - pl.col("n_censored")
            )
            .select("sku", fill=pl.col("total") / pl.col("days").clip(lower_bound=1))
        )
        filled_lost = lost.join(imputed, on="sku").select("sku", "ds", y=pl.col("fill"))
        rows = pl.concat([part.select("sku", "ds", "y"), filled_lost])
        series = rows.select(series_id(pl.lit(str(warehouse)), pl.col("sku")), "ds", "y").sort(
            "unique_id", "ds"
        )
        yield str(warehouse), series.cast(SERIES)


def to_weekly(series: pl.DataFrame) -> pl.DataFrame:
    """Daily ``SERIES`` → weekly sums, ``ds`` = the Monday of the ISO week."""
    return (
        series.group_by("unique_id", ds=pl.col("ds").dt.truncate("1w"))
        .agg(y=pl.col("y").sum())
        .sort("unique_id", "ds")
        .cast(SERIES)
    )
