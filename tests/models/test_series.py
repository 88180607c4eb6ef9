"""Zero-filling the long demand frame: every period from a series' first to the end."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.series import SERIES, fill_series


def _reference(history: pl.DataFrame, freq: str, end: date) -> pl.DataFrame:
    """The obvious (slow) fill: a calendar grid per series, left-joined to the rows."""
    interval = {"D": "1d", "W": "1w", "MS": "1mo"}[freq]
    starts = history.group_by("unique_id").agg(start=pl.col("ds").min())
    grid = starts.select(
        "unique_id", ds=pl.date_ranges("start", pl.lit(end), interval=interval)
    ).explode("ds")
    return (
        grid.join(history, on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .select(SERIES.names())
        .cast(SERIES)
        .sort("unique_id", "ds")
    )


@pytest.mark.parametrize(
    ("freq", "dates", "end"),
    [
        ("D", [date(2024, 1, 1), date(2024, 1, 5), date(2024, 1, 3)], date(2024, 1, 9)),
        ("W", [date(2024, 1, 1), date(2024, 1, 22), date(2024, 1, 8)], date(2024, 2, 26)),
        ("MS", [date(2023, 11, 1), date(2024, 2, 1), date(2023, 12, 1)], date(2024, 5, 1)),
    ],
)
def test_fill_matches_the_calendar_grid(freq: str, dates: list[date], end: date) -> None:
    # Unsorted rows, two series with different starts.
    history = pl.DataFrame(
        {
            "unique_id": ["b", "a", "a"],
            "ds": [dates[1], dates[0], dates[2]],
            "y": [4.0, 1.0, 2.0],
        },
        schema=SERIES,
    )
    assert_frame_equal(fill_series(history, freq, end=end), _reference(history, freq, end))


def test_rows_after_the_end_are_dropped() -> None:
    history = pl.DataFrame(
        {"unique_id": ["a", "a"], "ds": [date(2024, 1, 1), date(2024, 1, 9)], "y": [1.0, 5.0]},
        schema=SERIES,
    )
    out = fill_series(history, "D", end=date(2024, 1, 3))
    assert out["y"].to_list() == [1.0, 0.0, 0.0]
