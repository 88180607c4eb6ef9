"""Frame contracts at the boundaries of the forecasting code."""

from __future__ import annotations

import polars as pl

#: Daily demand per (forward warehouse, sku), sparse (days without demand are absent).
DEMAND_HISTORY = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "ds": pl.Date, "y": pl.Float64}
)

#: Quantile levels every forecast carries (percent).
QUANTILE_LEVELS: tuple[int, ...] = (50, 80, 90, 95, 99)

#: One row per (warehouse, sku, day of the horizon): the ``forecasts`` table less ``run_id``.
NETWORK_FORECAST = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "unique_id": pl.String,
        "ds": pl.Date,
        "mean": pl.Float64,
        "model": pl.String,
        "class": pl.String,
        **{f"q{level}": pl.Float64 for level in QUANTILE_LEVELS},
    }
)


#: ``unique_id`` of a network series: ``warehouse_id + "/" + sku``.
SERIES_ID_SEPARATOR = "/"


def series_id(warehouse: pl.Expr, sku: pl.Expr) -> pl.Expr:
    """The ``unique_id`` of a (warehouse, sku) series."""
    return pl.concat_str(warehouse, sku, separator=SERIES_ID_SEPARATOR).alias("unique_id")


def split_series_id(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``warehouse_id`` and ``sku`` columns parsed from ``unique_id``."""
    parts = pl.col("unique_id").str.split_exact(SERIES_ID_SEPARATOR, 1)
    return frame.with_columns(
        warehouse_id=parts.struct.field("field_0"), sku=parts.struct.field("field_1")
    )
