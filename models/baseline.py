"""The nightly baseline forecast: a recent-rate Poisson model per series.

A deliberately simple first model, so the nightly run works end to end: the
daily demand rate is the mean of the last ``window_days`` (or since the first
sale, if later), and the demand on a day is Poisson with that rate, which
gives integer quantiles for every series including intermittent ones. The
model-selection engine of later work replaces it behind the same frame
contract (``NETWORK_FORECAST``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from scipy.stats import poisson

from models.classification import classify_sparse
from models.schemas import DEMAND_HISTORY, NETWORK_FORECAST, QUANTILE_LEVELS

MODEL_NAME = "PoissonRecentRate"


@dataclass(frozen=True)
class BaselineParams:
    """Parameters of the baseline forecast."""

    horizon: int = 14
    window_days: int = 56
    quantiles: tuple[int, ...] = QUANTILE_LEVELS

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 day, got {self.horizon}")
        if self.window_days < 1:
            raise ValueError(f"window must be at least 1 day, got {self.window_days}")
        if any(not 0 < q < 100 for q in self.quantiles):
            raise ValueError(f"quantile levels must be in (0, 100), got {self.quantiles}")


def daily_rates(
    history: pl.DataFrame, as_of: date, window_days: int, extra_keys: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Mean daily demand over the recent window, per (warehouse_id, sku).

    ``extra_keys`` (``warehouse_id``, ``sku``) adds series with no demand in the
    history (e.g. stock on hand but no sale): their rate is 0.
    """
    window_start = as_of - timedelta(days=window_days - 1)
    per_series = history.group_by("warehouse_id", "sku").agg(
        first_sale=pl.col("ds").min(),
        recent=pl.col("y").filter(pl.col("ds") >= window_start).sum(),
    )
    if extra_keys is not None:
        missing = extra_keys.select("warehouse_id", "sku").join(
            per_series, on=["warehouse_id", "sku"], how="anti"
        )
        per_series = pl.concat(
            [per_series, missing.with_columns(first_sale=pl.lit(as_of), recent=pl.lit(0.0))],
            how="diagonal_relaxed",
        )
    days = (
        pl.lit(as_of) - pl.max_horizontal(pl.col("first_sale"), pl.lit(window_start))
    ).dt.total_days() + 1
    return per_series.select(
        "warehouse_id", "sku", rate=(pl.col("recent") / days).fill_null(0.0)
    ).sort("warehouse_id", "sku")


def poisson_quantiles(mean: pl.Series, levels: Sequence[int]) -> dict[str, pl.Series]:
    """Smallest integer k with P(D <= k) >= level/100 for D ~ Poisson(mean)."""
    values = mean.to_numpy()
    return {
        f"q{level}": pl.Series(poisson.ppf(level / 100, values)).fill_nan(0.0) for level in levels
    }


def forecast_baseline(
    history: pl.DataFrame,
    as_of: date,
    params: BaselineParams = BaselineParams(),
    extra_keys: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Forecast every series for ``params.horizon`` days after ``as_of``.

    Parameters
    ----------
    history
        Sparse daily demand, schema ``DEMAND_HISTORY``.
    as_of
        The last day of history; forecasts start the day after.
    params
        Horizon, averaging window and quantile levels.
    extra_keys
        Series to forecast even without demand history (rate 0).

    Returns
    -------
    pl.DataFrame
        ``NETWORK_FORECAST``: one row per series and horizon day.
    """
    if history.schema != DEMAND_HISTORY:
        raise ValueError(f"history must have schema {DEMAND_HISTORY}, got {history.schema}")
    rates = daily_rates(history, as_of, params.window_days, extra_keys)
    classes = classify_sparse(history, as_of).select(
        "warehouse_id",
        "sku",
        pl.when(pl.col("dormant"))
        .then(pl.lit("dormant"))
        .when(pl.col("new"))
        .then(pl.lit("new"))
        .otherwise(pl.col("class"))
        .alias("class"),
    )
    per_series = rates.join(classes, on=["warehouse_id", "sku"], how="left").with_columns(
        pl.col("class").fill_null("dormant")
    )
    quantiles = poisson_quantiles(per_series["rate"], params.quantiles)
    per_series = per_series.with_columns(**quantiles)
    days = pl.DataFrame(
        {
            "ds": pl.date_range(
                as_of + timedelta(days=1), as_of + timedelta(days=params.horizon), eager=True
            )
        }
    )
    out = per_series.join(days, how="cross").with_columns(
        unique_id=pl.concat_str("warehouse_id", "sku", separator="/"),
        mean=pl.col("rate"),
        model=pl.lit(MODEL_NAME),
    )
    for level in QUANTILE_LEVELS:
        if f"q{level}" not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(f"q{level}"))
    return out.select(NETWORK_FORECAST.names()).cast(NETWORK_FORECAST)
