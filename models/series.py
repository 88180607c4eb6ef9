"""The long demand-series frame the forecasting code consumes, and its calendar.

Demand history is long format ``unique_id, ds, y`` (statsforecast's layout).
Frequencies are the CLI's: ``D`` (days), ``W`` (weeks, ``ds`` = the Monday of
the ISO week) and ``MS`` (months, ``ds`` = the first of the month); polars
frames given to statsforecast need the polars offsets ``1d``/``1w``/``1mo``.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

#: Long demand history: one row per (series, period).
SERIES = pl.Schema({"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})

#: CLI frequency -> polars offset (what statsforecast wants for polars frames).
POLARS_OFFSETS: dict[str, str] = {"D": "1d", "W": "1w", "MS": "1mo"}

#: Default season length per frequency.
DEFAULT_SEASON_LENGTH: dict[str, int] = {"D": 7, "W": 52, "MS": 12}


def polars_offset(freq: str) -> str:
    """The polars offset of a CLI frequency (``D`` → ``1d``, ``W`` → ``1w``, ``MS`` → ``1mo``)."""
    try:
        return POLARS_OFFSETS[freq]
    except KeyError:
        raise ValueError(f"freq must be one of {sorted(POLARS_OFFSETS)}, got {freq!r}") from None


def fill_series(history: pl.DataFrame, freq: str, end: date | None = None) -> pl.DataFrame:
    """Every series with a row per period from its first ``ds`` to ``end``, zeros filled.

    statsforecast silently accepts a missing period, which shifts the seasonal
    pattern and the horizon; filling first makes the frame dense.

    Parameters
    ----------
    history
        Schema ``SERIES``; periods aligned to ``freq`` (not checked here).
    freq
        ``D``, ``W`` or ``MS``.
    end
        Last period of every series; default the frame's last ``ds``.

    Returns
    -------
    pl.DataFrame
        ``SERIES``, sorted by ``unique_id``, ``ds``.
    """
    if history.schema != SERIES:
        raise ValueError(f"history must have schema {SERIES}, got {history.schema}")
    offset = polars_offset(freq)
    if history.is_empty():
        return history
    last = end if end is not None else history["ds"].max()
    assert isinstance(last, date)
    # Scatter the sparse rows into a zero array laid out series by series: no
    # join and no sort of the dense frame, which is ~10x the sparse one.
    sparse = history.filter(pl.col("ds") <= last).sort("unique_id", "ds")
    if sparse.is_empty():
        return sparse
    starts = sparse.group_by("unique_id", maintain_order=True).agg(start=pl.col("ds").first())
    starts = starts.with_columns(n=_periods_between(pl.col("start"), pl.lit(last), freq) + 1)
    lengths = starts["n"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    series_idx = sparse.select(pl.col("unique_id").rle_id()).to_series().to_numpy()
    period = _period_index(sparse, starts, series_idx, freq)
    y = np.zeros(int(lengths.sum()), dtype=np.float64)
    y[offsets[series_idx] + period] = sparse["y"].to_numpy()
    grid = starts.select(
        pl.col("unique_id").repeat_by("n").explode(),
        ds=pl.date_ranges("start", pl.lit(last), interval=offset).explode(),
    )
    return grid.with_columns(y=pl.Series(y)).select(SERIES.names()).cast(SERIES)


def _periods_between(start: pl.Expr, end: pl.Expr, freq: str) -> pl.Expr:
    """Whole periods from ``start`` to ``end`` (both aligned to ``freq``)."""
    if freq == "MS":
        return (end.dt.year() - start.dt.year()).cast(pl.Int64) * 12 + (
            end.dt.month().cast(pl.Int64) - start.dt.month().cast(pl.Int64)
        )
    days = (end - start).dt.total_days().cast(pl.Int64)
    return days // 7 if freq == "W" else days


def _period_index(
    sparse: pl.DataFrame, starts: pl.DataFrame, series_idx: npt.NDArray[np.int64], freq: str
) -> npt.NDArray[np.int64]:
    """Period of each sparse row counted from its series' first period."""
    first = starts["start"].gather(series_idx)
    frame = pl.DataFrame({"start": first, "ds": sparse["ds"]})
    return (
        frame.select(_periods_between(pl.col("start"), pl.col("ds"), freq)).to_series().to_numpy()
    )


def horizon_dates(last: date, horizon: int, freq: str) -> pl.Series:
    """The ``horizon`` periods after ``last``."""
    offset = polars_offset(freq)
    dates = pl.date_range(last, last, interval=offset, eager=True)
    return (
        pl.select(
            ds=pl.lit(dates[0]).dt.offset_by(
                pl.concat_str(pl.int_range(1, horizon + 1), pl.lit(offset[1:]))
            )
        )
        .to_series()
        .alias("ds")
    )


class Runs(NamedTuple):
    """The series of a frame sorted by ``unique_id`` then ``ds``: one run of rows each."""

    ids: pl.Series
    starts: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]


def sorted_runs(frame: pl.DataFrame) -> Runs | None:
    """The :class:`Runs` of a frame sorted by ``unique_id`` then ``ds``.

    The engine's filled frames are laid out so; per-series statistics over
    them need no sort or grouping, only ``numpy`` reductions over the runs
    (``np.add.reduceat(values, starts)``). None when the frame is empty or
    not so sorted (a repeated or decreasing ``ds`` within a series, or ids
    out of order).
    """
    ids = frame["unique_id"].cast(pl.String)
    if frame.is_empty() or not ids.is_sorted():
        return None
    runs = ids.rle()
    lengths = runs.struct.field("len").to_numpy().astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    step = np.diff(frame["ds"].to_physical().to_numpy())
    step[starts[1:] - 1] = 1  # a new series may start at any date
    if step.size and step.min() <= 0:
        return None
    return Runs(runs.struct.field("value"), starts, lengths)


def sold_moments(
    y: npt.NDArray[np.float64], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Per run ``[start, start + length)``: the rows with ``y > 0`` and their moments.

    Returns ``(sold, run, count, total, squares)``: the positions of the
    positive rows inside a run and the run of each (ascending), then per run
    their number, sum and sum of squares. Rows outside every run (runs may
    be trimmed) are skipped. Sales are sparse, so this touches few rows.
    """
    sold = np.flatnonzero(y > 0).astype(np.int64)
    run = (np.searchsorted(starts, sold, side="right") - 1).astype(np.int64)
    inside = (run >= 0) & (sold < starts[run] + lengths[run])
    sold, run = sold[inside], run[inside]
    n = starts.size
    count = np.bincount(run, minlength=n).astype(np.float64)
    total = np.bincount(run, weights=y[sold], minlength=n).astype(np.float64)
    squares = np.bincount(run, weights=y[sold] ** 2, minlength=n).astype(np.float64)
    return sold, run, count, total, squares
