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
