"""Demand classification: how regular a series is (Syntetos-Boylan) and its life stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from models.series import Runs, sold_moments, sorted_runs

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
CLASSES = ("smooth", "erratic", "intermittent", "lumpy")

SERIES_SCHEMA = pl.Schema({"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})
CLASSIFICATION_SCHEMA = pl.Schema(
    {
        "unique_id": pl.String,
        "n_periods": pl.Int64,
        "n_nonzero": pl.Int64,
        "zero_share": pl.Float64,
        "adi": pl.Float64,
        "cv2": pl.Float64,
        "class": pl.String,
        "periods_since_first_sale": pl.Int64,
        "periods_since_last_sale": pl.Int64,
        "new": pl.Boolean,
        "dormant": pl.Boolean,
    }
)


def classify_demand(
    series: pl.DataFrame,
    *,
    new_periods: int = 28,
    dormant_periods: int = 90,
    adi_cutoff: float = ADI_CUTOFF,
    cv2_cutoff: float = CV2_CUTOFF,
    runs: Runs | None = None,
) -> pl.DataFrame:
    """Classify each series as smooth, erratic, intermittent or lumpy.

    Uses the Syntetos-Boylan-Croston scheme: the average demand interval
    (ADI) separates frequent from intermittent demand, the squared
    coefficient of variation of the non-zero demand sizes (CV²) separates
    steady from variable sizes.

    ================  ====================  ====================
    .                 CV² < ``cv2_cutoff``  CV² >= ``cv2_cutoff``
    ================  ====================  ====================
    ADI < cutoff      smooth                erratic
    ADI >= cutoff     intermittent          lumpy
    ================  ====================  ====================

    Parameters
    ----------
    series : pl.DataFrame
        Long format ``unique_id``, ``ds``, ``y`` (y >= 0), one row per period,
        already filled with zeros (regular periods, no gaps). Periods are
        counted by rows, so the function works for any frequency.
    new_periods : int, default 28
        A series is ``new`` when its first sale lies fewer than this many
        periods before its last period (the sale period counts as 1).
    dormant_periods : int, default 90
        A series is ``dormant`` when it had no sale in its last
        ``dormant_periods`` periods (or none at all).
    adi_cutoff, cv2_cutoff : float
        The class boundaries; defaults 1.32 and 0.49.
    runs : Runs, optional
        ``models.series.sorted_runs(series)`` when the caller has it already.

    Returns
    -------
    pl.DataFrame
        One row per ``unique_id`` (sorted), schema :data:`CLASSIFICATION_SCHEMA`:

        - ``n_periods``: rows of the series; ``n_nonzero``: rows with y > 0;
          ``zero_share`` = 1 - n_nonzero / n_periods.
        - ``adi``: mean interval between non-zero demands, measured as
          ``n_periods / n_nonzero`` (the interval before the first sale counts
          from the series start and the gap after the last sale up to the
          end counts too, so one sale in 100 periods gives 100, not 1);
          null when there is no sale.
        - ``cv2``: variance / mean² of the non-zero values (population
          variance, so a single sale gives 0); null when there is no sale.
        - ``class``: one of ``smooth``, ``erratic``, ``intermittent``,
          ``lumpy``; null when there is no sale.
        - ``periods_since_first_sale``, ``periods_since_last_sale``: counted
          back from the last period (a sale in the last period gives 1 and 0);
          null when there is no sale.
        - ``new``, ``dormant``: see the parameters.

    Raises
    ------
    ValueError
        If a column is missing, ``y`` is negative or a parameter is not
        positive.
    """
    missing = {"unique_id", "ds", "y"} - set(series.columns)
    if missing:
        raise ValueError(f"series lacks column(s) {sorted(missing)}")
    if new_periods < 1 or dormant_periods < 1:
        raise ValueError(
            f"new_periods and dormant_periods must be >= 1, got {new_periods}, {dormant_periods}"
        )
    if adi_cutoff <= 0 or cv2_cutoff < 0:
        raise ValueError(f"cut-offs must be positive, got ADI {adi_cutoff}, CV² {cv2_cutoff}")
    if not series.filter(pl.col("y") < 0).is_empty():
        raise ValueError("y must be >= 0")

    stats = _sorted_run_stats(series, runs)
    if stats is not None:
        return _assign_classes(stats, new_periods, dormant_periods, adi_cutoff, cv2_cutoff)
    y = pl.col("y").cast(pl.Float64)
    sold = y > 0
    stats = (
        series.select(pl.col("unique_id").cast(pl.String), "ds", y.alias("y"))
        .sort("unique_id", "ds")
        .with_columns(pos=pl.int_range(pl.len()).over("unique_id"))
        .group_by("unique_id")
        .agg(
            n_periods=pl.len().cast(pl.Int64),
            n_nonzero=sold.sum().cast(pl.Int64),
            first=pl.col("pos").filter(sold).min(),
            last=pl.col("pos").filter(sold).max(),
            mean=y.filter(sold).mean(),
            var=y.filter(sold).var(ddof=0),
        )
    )
    return _assign_classes(stats, new_periods, dormant_periods, adi_cutoff, cv2_cutoff)


def _sorted_run_stats(series: pl.DataFrame, runs: Runs | None = None) -> pl.DataFrame | None:
    """The per-series statistics in one numpy pass, if ``series`` is sorted by id then ``ds``.

    The engine's filled frames are; this skips the sort and the grouping
    (about 5x faster on 14 M rows). Returns None for any other frame.
    """
    runs = runs or sorted_runs(series)
    if runs is None:
        return None
    ids, starts, lengths = runs
    y = series["y"].cast(pl.Float64).to_numpy()
    sold, run, count, total, squares = sold_moments(y, starts, lengths)
    n_nonzero = count.astype(np.int64)
    first = np.zeros(starts.size, dtype=np.int64)
    last = np.zeros(starts.size, dtype=np.int64)
    if sold.size:
        boundary = np.flatnonzero(np.diff(run)) + 1
        heads = np.concatenate([[0], boundary])
        tails = np.concatenate([boundary - 1, [sold.size - 1]])
        first[run[heads]] = sold[heads] - starts[run[heads]]
        last[run[tails]] = sold[tails] - starts[run[tails]]
    any_sale = n_nonzero > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(any_sale, total / n_nonzero, np.nan)
        var = np.where(any_sale, np.maximum(squares / n_nonzero - mean**2, 0.0), np.nan)
    return pl.DataFrame(
        {
            "unique_id": ids,
            "n_periods": lengths,
            "n_nonzero": n_nonzero,
            "first": pl.Series(np.where(any_sale, first, 0)).set(pl.Series(~any_sale), None),
            "last": pl.Series(np.where(any_sale, last, 0)).set(pl.Series(~any_sale), None),
            "mean": pl.Series(mean).fill_nan(None),
            "var": pl.Series(var).fill_nan(None),
        }
    )


def classify_sparse(
    history: pl.DataFrame,
    end: date,
    *,
    keys: Sequence[str] = ("warehouse_id", "sku"),
    new_periods: int = 28,
    dormant_periods: int = 90,
    adi_cutoff: float = ADI_CUTOFF,
    cv2_cutoff: float = CV2_CUTOFF,
) -> pl.DataFrame:
    """:func:`classify_demand` for daily demand given only on days with a sale.

    At network scale a zero-filled daily frame is mostly zeros (hundreds of
    millions of rows); the statistics need only the sale days, the first sale
    and ``end``. A series runs from its first sale to ``end``, as if it had
    been zero-filled over that span, so the result equals ``classify_demand``
    on the filled series.

    Parameters
    ----------
    history : pl.DataFrame
        ``keys`` + ``ds`` (Date) + ``y``, at most one row per key and day;
        rows with y = 0 are allowed and count as zero days.
    end : date
        The last day of every series.
    keys : sequence of str
        The columns identifying a series.

    Returns
    -------
    pl.DataFrame
        One row per series with ``keys`` and the columns of
        :data:`CLASSIFICATION_SCHEMA` after ``unique_id``.
    """
    y = pl.col("y").cast(pl.Float64)
    sold = y > 0
    sales = history.filter(pl.col("ds") <= end)
    stats = sales.group_by(*keys).agg(
        first_day=pl.col("ds").filter(sold).min(),
        last_day=pl.col("ds").filter(sold).max(),
        start_day=pl.col("ds").min(),
        n_nonzero=sold.sum().cast(pl.Int64),
        mean=y.filter(sold).mean(),
        var=y.filter(sold).var(ddof=0),
    )
    start = pl.coalesce("first_day", "start_day")
    stats = stats.with_columns(
        n_periods=((pl.lit(end) - start).dt.total_days() + 1).cast(pl.Int64),
        first=pl.lit(0, dtype=pl.Int64),
        last=(pl.col("last_day") - start).dt.total_days(),
    )
    names = [c for c in CLASSIFICATION_SCHEMA.names() if c != "unique_id"]
    classified = _assign_classes(
        stats.with_columns(unique_id=pl.lit("")),
        new_periods,
        dormant_periods,
        adi_cutoff,
        cv2_cutoff,
        keep=list(keys),
    )
    return classified.select(*keys, *names).sort(*keys)


def _assign_classes(
    stats: pl.DataFrame,
    new_periods: int,
    dormant_periods: int,
    adi_cutoff: float,
    cv2_cutoff: float,
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """Per-series statistics (n_periods, n_nonzero, first, last, mean, var) → classes."""
    adi = pl.col("n_periods") / pl.col("n_nonzero")
    cv2 = pl.col("var") / pl.col("mean") ** 2
    frequent = pl.col("adi") < adi_cutoff
    steady = pl.col("cv2") < cv2_cutoff
    since_last = pl.col("n_periods") - 1 - pl.col("last")
    return (
        stats.with_columns(
            zero_share=1.0 - pl.col("n_nonzero") / pl.col("n_periods"),
            adi=pl.when(pl.col("n_nonzero") > 0).then(adi),
            cv2=pl.when(pl.col("n_nonzero") > 0).then(cv2),
            periods_since_first_sale=(pl.col("n_periods") - pl.col("first")).cast(pl.Int64),
            periods_since_last_sale=since_last.cast(pl.Int64),
        )
        .with_columns(
            pl.when(pl.col("n_nonzero") == 0)
            .then(None)
            .when(frequent & steady)
            .then(pl.lit("smooth"))
            .when(frequent)
            .then(pl.lit("erratic"))
            .when(steady)
            .then(pl.lit("intermittent"))
            .otherwise(pl.lit("lumpy"))
            .alias("class"),
            new=(pl.col("periods_since_first_sale") < new_periods).fill_null(False),
            dormant=(pl.col("periods_since_last_sale") >= dormant_periods).fill_null(True),
        )
        .select(*keep, *CLASSIFICATION_SCHEMA.names())
        .cast(CLASSIFICATION_SCHEMA)
        .sort(*keep, "unique_id")
    )
