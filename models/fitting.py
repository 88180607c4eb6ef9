"""Fitting the chosen models and forecasting the horizon, one StatsForecast call per model.

Used by :mod:`models.engine` once each series has a model: the dense
history goes in (new series without their first sale, :func:`after_first_sale`),
the mean forecast per series and period comes out, with a fallback so that
every series gets one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from statsforecast import StatsForecast

from models.candidates import EXPENSIVE, FALLBACK_MODEL, add_combinations, base_models, build_models
from models.params import ForecastParams
from models.series import Runs, horizon_dates, polars_offset


def fit_and_forecast(
    filled: pl.DataFrame, models: pl.DataFrame, last: date, params: ForecastParams
) -> pl.DataFrame:
    """``unique_id, ds, mean, model`` for the horizon; the fallback fills any gap.

    One StatsForecast call per chosen model over all its series, never a
    Python loop over series. Worker processes (``n_jobs``) are
    used only for models in ``EXPENSIVE``: for the cheap ones a call costs
    ~20 µs a series, less than starting a process pool and shipping the data.
    """
    fallback = build_models((FALLBACK_MODEL,), params.season)[0]
    parts: list[pl.DataFrame] = []
    for name, frame in _split_by_model(filled, models):
        try:
            sf = StatsForecast(
                models=build_models(base_models((name,)), params.season),
                freq=polars_offset(params.freq),
                n_jobs=fit_jobs(name, params.n_jobs),
                fallback_model=fallback,
            )
            out: Any = sf.forecast(h=params.horizon, df=frame)
            out = add_combinations(out, (name,))
        except Exception:
            continue
        parts.append(
            out.select("unique_id", pl.col("ds").cast(pl.Date), mean=pl.col(name)).with_columns(
                model=pl.lit(name)
            )
        )
    fc = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(
            schema={"unique_id": pl.String, "ds": pl.Date, "mean": pl.Float64, "model": pl.String}
        )
    )
    fc = fc.filter(pl.col("mean").is_not_null() & pl.col("mean").is_finite())
    complete = fc.group_by("unique_id").len().filter(pl.col("len") == params.horizon)
    fc = fc.join(complete.select("unique_id"), on="unique_id", how="semi")
    # Fallback: the series' mean demand, for series no model forecast in full.
    # A series with no rows left (a new one first sold on the last day) has no demand after it.
    missing = models.select("unique_id").join(complete, on="unique_id", how="anti")
    if not missing.is_empty():
        grid = (
            missing.join(
                filled.group_by("unique_id").agg(mean=pl.col("y").mean()),
                on="unique_id",
                how="left",
            )
            .with_columns(pl.col("mean").fill_null(0.0))
            .join(_horizon_frame(last, params), how="cross")
            .with_columns(model=pl.lit(FALLBACK_MODEL))
        )
        fc = pl.concat([fc, grid.select(fc.columns)])
    return fc.with_columns(pl.col("mean").clip(lower_bound=0.0)).sort("unique_id", "ds")


def after_first_sale(filled: pl.DataFrame, young: pl.DataFrame, runs: Runs | None) -> pl.DataFrame:
    """``filled`` without the first row of each ``young`` (class ``new``) series.

    A series starts at its first sale, so a short one divides that sale by
    the few periods since and inflates the rate: on the medium network the
    mean since the first sale of the 258 series first sold in the 28 days
    before the split night was 22.5× their next 91 days' demand, the mean of
    the days after it 0.65× (``docs/BENCHMARKS.md``). Models of ``new``
    series are fitted on the days after their first sale; their dispersion
    still sees it.
    """
    if young.is_empty():
        return filled
    if runs is not None:
        ids, starts, _ = runs
        keep = np.ones(filled.height, dtype=bool)
        keep[starts[ids.is_in(young["unique_id"].implode()).to_numpy()]] = False
        return filled.filter(pl.Series(keep))
    firsts = (
        filled.join(young.select("unique_id"), on="unique_id", how="semi")
        .group_by("unique_id")
        .agg(pl.col("ds").min())
    )
    return filled.join(firsts, on=["unique_id", "ds"], how="anti", maintain_order="left")


def _split_by_model(
    filled: pl.DataFrame, models: pl.DataFrame
) -> Iterator[tuple[str, pl.DataFrame]]:
    """The rows of ``filled`` per model of ``models``, series order kept.

    ``filled`` holds each series in one contiguous run (as ``fill_series``
    returns it), so a run-length mask selects a model's rows without joining
    or sorting the dense frame.
    """
    runs = filled.select(pl.col("unique_id").rle()).unnest("unique_id")
    tagged = runs.join(
        models.select(value="unique_id", model="model"),
        on="value",
        how="left",
        maintain_order="left",
    )
    lengths = tagged["len"].to_numpy()
    for alias in tagged["model"].drop_nulls().unique().sort():
        mask = np.repeat((tagged["model"] == alias).fill_null(False).to_numpy(), lengths)
        yield str(alias), filled.filter(pl.Series(mask))


def fit_jobs(alias: str, n_jobs: int) -> int:
    """Processes for the nightly fit of ``alias``: ``n_jobs`` for expensive models, else 1."""
    return n_jobs if set(base_models((alias,))) & EXPENSIVE else 1


def _horizon_frame(last: date, params: ForecastParams) -> pl.DataFrame:
    return horizon_dates(last, params.horizon, params.freq).to_frame()
