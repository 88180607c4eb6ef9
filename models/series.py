"""The long demand-series frame the forecasting code consumes, and its calendar.

Demand history is long format ``unique_id, ds, y`` (statsforecast's layout).
Frequencies are the CLI's: ``D`` (days), ``W`` (weeks, ``ds`` = the Monday of
the ISO week) and ``MS`` (months, ``ds`` = the first of the month); polars
frames given to statsforecast need the polars offsets ``1d``/``1w``/``1mo``.
"""

from __future__ import annotations

from datetime import date

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
    starts = history.group_by("unique_id").agg(start=pl.col("ds").min())
    grid = starts.select(
        "unique_id", ds=pl.date_ranges("start", pl.lit(last), interval=offset)
    ).explode("ds")
    return (
        grid.join(history, on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .select(SERIES.names())
        .cast(SERIES)
        .sort("unique_id", "ds")
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
