"""Forecast accuracy: MASE, RMSSE, WAPE, bias, scaled pinball loss and quantile coverage.

Per series from a frame of actuals joined to forecasts, and aggregated by any
grouping (class, category, warehouse, model, ...). Scales are those of the M4/M5
competitions, from each series' training history: MASE and the scaled pinball
loss divide by the mean absolute ``lag``-difference, RMSSE by the root mean
squared one. A series whose training history is constant has scale 0: its
scaled metrics are null and aggregates skip it (the count says how many
were used). WAPE and bias are ratios of sums, so aggregates sum first.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from models.distributions import level_columns, validate_levels

#: Per-series training scales.
SCALES = pl.Schema({"unique_id": pl.String, "scale_mae": pl.Float64, "scale_mse": pl.Float64})


def pinball(y: pl.Expr, q: pl.Expr, level: int) -> pl.Expr:
    """Pinball (quantile) loss of quantile ``q`` at ``level`` percent for actual ``y``."""
    p = level / 100
    diff = y - q
    return pl.max_horizontal(p * diff, (p - 1) * diff)


def training_scales(train: pl.DataFrame, lag: int = 1) -> pl.DataFrame:
    """Mean absolute and mean squared ``lag``-differences of each training series.

    Parameters
    ----------
    train
        Dense history ``unique_id, ds, y``.
    lag
        1 (naive, the M5 convention) or the season length (seasonal naive, M4).

    Returns
    -------
    pl.DataFrame
        ``SCALES``; null for a series shorter than ``lag + 1`` periods.
    """
    if lag < 1:
        raise ValueError(f"lag must be at least 1, got {lag}")
    diff = pl.col("y") - pl.col("y").shift(lag).over("unique_id")
    return (
        train.sort("unique_id", "ds")
        .with_columns(d=diff)
        .group_by("unique_id")
        .agg(scale_mae=pl.col("d").abs().mean(), scale_mse=(pl.col("d") ** 2).mean())
        .cast(SCALES)
        .sort("unique_id")
    )


def series_metrics(
    evaluated: pl.DataFrame, scales: pl.DataFrame, levels: Sequence[int] = ()
) -> pl.DataFrame:
    """Accuracy per series.

    Parameters
    ----------
    evaluated
        One row per (series, period): ``unique_id``, ``y``, ``mean`` and, for
        each level, ``q<level>``. Other columns that are constant per series
        (``class``, ``model``, groups) are kept.
    scales
        ``SCALES`` from :func:`training_scales`.
    levels
        Quantile levels to score (empty: point metrics only).

    Returns
    -------
    pl.DataFrame
        Per series: ``n``, ``mase``, ``rmsse``, ``wape``, ``bias`` (Σ(mean − y)/Σy),
        ``spl`` (mean pinball over periods and levels / ``scale_mae``),
        ``coverage_q<level>`` (share of periods with ``y ≤ q``), and the sums
        ``abs_error``, ``error``, ``actual`` that aggregation needs.
    """
    if levels:
        validate_levels(levels)
    keep = [
        c
        for c in evaluated.columns
        if c not in {"unique_id", "ds", "cutoff", "y", "mean", *level_columns(levels)}
    ]
    err = pl.col("mean") - pl.col("y")
    aggs: list[pl.Expr] = [
        pl.len().alias("n"),
        err.abs().sum().alias("abs_error"),
        err.sum().alias("error"),
        (err**2).mean().alias("mse"),
        pl.col("y").sum().alias("actual"),
        *[pl.col(c).first() for c in keep],
    ]
    if levels:
        losses = [
            pinball(pl.col("y"), pl.col(c), lv)
            for lv, c in zip(levels, level_columns(levels), strict=True)
        ]
        aggs.append((pl.sum_horizontal(losses) / len(levels)).mean().alias("pinball"))
        aggs += [
            (pl.col("y") <= pl.col(c)).mean().alias(f"coverage_{c}") for c in level_columns(levels)
        ]
    per = evaluated.group_by("unique_id").agg(aggs).join(scales, on="unique_id", how="left")
    positive = pl.col("scale_mae") > 0
    per = per.with_columns(
        mase=pl.when(positive).then(pl.col("abs_error") / pl.col("n") / pl.col("scale_mae")),
        rmsse=pl.when(positive).then((pl.col("mse") / pl.col("scale_mse")).sqrt()),
        wape=pl.when(pl.col("actual") > 0).then(pl.col("abs_error") / pl.col("actual")),
        bias=pl.when(pl.col("actual") > 0).then(pl.col("error") / pl.col("actual")),
    )
    if levels:
        per = per.with_columns(spl=pl.when(positive).then(pl.col("pinball") / pl.col("scale_mae")))
    return per.drop("mse", "scale_mae", "scale_mse").sort("unique_id")


def aggregate_metrics(per_series: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Aggregate per-series metrics by ``by`` (empty: one overall row).

    MASE, RMSSE and SPL are means over the series with a positive scale;
    WAPE and bias are ratios of summed errors to summed actuals; coverage is
    the share of all periods covered.
    """
    coverage = [c for c in per_series.columns if c.startswith("coverage_")]
    aggs: list[pl.Expr] = [
        pl.len().alias("series"),
        pl.col("mase").count().alias("scaled_series"),
        pl.col("mase").mean(),
        pl.col("rmsse").mean(),
        (pl.col("abs_error").sum() / pl.col("actual").sum()).alias("wape"),
        (pl.col("error").sum() / pl.col("actual").sum()).alias("bias"),
    ]
    if "spl" in per_series.columns:
        aggs.append(pl.col("spl").mean())
    aggs += [((pl.col(c) * pl.col("n")).sum() / pl.col("n").sum()).alias(c) for c in coverage]
    if by:
        return per_series.group_by(list(by)).agg(aggs).sort(list(by))
    return per_series.select(aggs)


def empirical_quantiles(train: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """The naive baseline: per series, quantiles of its training periods (``higher`` rule).

    Returns ``unique_id, mean, q<level>...`` (``mean`` = training mean).
    """
    validate_levels(levels)
    return (
        train.group_by("unique_id")
        .agg(
            pl.col("y").mean().alias("mean"),
            *[
                pl.col("y").quantile(lv / 100, interpolation="higher").alias(c)
                for lv, c in zip(levels, level_columns(levels), strict=True)
            ],
        )
        .sort("unique_id")
    )
