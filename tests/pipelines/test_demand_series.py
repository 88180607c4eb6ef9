"""Demand series for the engine: the stock-out rule, censoring, per-warehouse chunks, weeks."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.schemas import DEMAND_HISTORY
from pipelines.demand_series import (
    KEPT_AT_DC,
    STOCK_COUNTS,
    STOCKOUT_SPANS,
    censored_days,
    stockout_spans,
    to_weekly,
    warehouse_series,
)

AS_OF = date(2026, 3, 31)


def _day(n: int) -> date:
    return AS_OF - timedelta(days=n)


@pytest.fixture
def sales() -> pl.DataFrame:
    """Two series at FW1 and one at FW2, a few sale days each."""
    return pl.DataFrame(
        {
            "warehouse_id": ["FW1", "FW1", "FW1", "FW1", "FW2"],
            "sku": ["A", "A", "A", "B", "A"],
            "ds": [_day(9), _day(5), _day(0), _day(3), _day(2)],
            "y": [2.0, 4.0, 3.0, 1.0, 5.0],
        },
        schema=DEMAND_HISTORY,
    )


def _counts(*rows: tuple[str, date, int, int]) -> pl.DataFrame:
    """Counts of sku A: (warehouse, day, available, in transit)."""
    return pl.DataFrame(
        [(w, "A", day, available, transit) for w, day, available, transit in rows],
        schema=STOCK_COUNTS,
        orient="row",
    )


def test_an_empty_count_starts_a_stock_out_until_the_next_count() -> None:
    counts = _counts(
        ("FW1", _day(20), 5, 0),
        ("FW1", _day(15), 0, 0),  # empty: days 14..11 start empty
        ("FW1", _day(10), 4, 0),
        ("FW1", _day(6), 0, 3),  # nothing on the shelf, but a delivery is on its way
        ("FW1", _day(3), -1, 0),  # over-reserved: empty until as-of
        ("FW2", _day(2), 0, 0),
    )
    spans = stockout_spans(counts, _day(30), AS_OF)
    assert spans.rows() == [
        ("FW1", "A", _day(14), _day(11)),
        ("FW1", "A", _day(2), AS_OF),
        ("FW2", "A", _day(1), AS_OF),
    ]
    assert spans.schema == STOCKOUT_SPANS


def test_a_stock_out_from_before_the_window_is_clipped_to_it() -> None:
    counts = _counts(("FW1", _day(40), 0, 0), ("FW1", _day(5), 2, 0), ("FW1", AS_OF, 0, 0))
    # The count on the as-of day starts no day inside the window.
    assert stockout_spans(counts, _day(30), AS_OF).rows() == [("FW1", "A", _day(30), _day(6))]


def test_counts_after_the_as_of_day_are_not_read() -> None:
    counts = _counts(("FW1", _day(4), 0, 0), ("FW1", AS_OF + timedelta(days=2), 7, 0))
    assert stockout_spans(counts, _day(30), AS_OF).rows() == [("FW1", "A", _day(3), AS_OF)]


def test_stock_out_days_without_sales_are_censored(sales: pl.DataFrame) -> None:
    spans = pl.DataFrame(
        {"warehouse_id": ["FW1"], "sku": ["A"], "from_day": [_day(7)], "to_day": [_day(4)]},
        schema=STOCKOUT_SPANS,
    )
    lost = censored_days(sales, spans, AS_OF)
    # day 5 had a sale: there was stock after all, so it is not censored
    assert lost["ds"].to_list() == [_day(7), _day(6), _day(4)]


def test_spans_before_the_first_sale_or_after_as_of_are_ignored(sales: pl.DataFrame) -> None:
    spans = pl.DataFrame(
        {
            "warehouse_id": ["FW1", "FW2"],
            "sku": ["B", "A"],
            "from_day": [_day(30), AS_OF],
            "to_day": [_day(4), AS_OF + timedelta(days=5)],
        },
        schema=STOCKOUT_SPANS,
    )
    lost = censored_days(sales, spans, AS_OF)
    assert lost.select("warehouse_id", "sku", "ds").rows() == [("FW2", "A", AS_OF)]


def test_censored_days_get_the_uncensored_mean_not_zero(sales: pl.DataFrame) -> None:
    spans = pl.DataFrame(
        {"warehouse_id": ["FW1"], "sku": ["A"], "from_day": [_day(7)], "to_day": [_day(6)]},
        schema=STOCKOUT_SPANS,
    )
    chunks = dict(warehouse_series(sales, censored_days(sales, spans, AS_OF), AS_OF))
    assert list(chunks) == ["FW1", "FW2"]
    fw1 = chunks["FW1"].filter(pl.col("unique_id") == "FW1/A")
    # 9 units over 10 days of which 2 censored: 9 / 8 per uncensored day
    imputed = fw1.filter(pl.col("ds").is_in([_day(7), _day(6)]))["y"].to_list()
    assert imputed == [pytest.approx(9 / 8)] * 2
    assert fw1.height == 5
    assert chunks["FW2"]["unique_id"].unique().to_list() == ["FW2/A"]


def test_weekly_sums_start_on_monday() -> None:
    daily = pl.DataFrame(
        {
            "unique_id": ["s"] * 3,
            "ds": [date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)],  # Sun, Mon, Tue
            "y": [1.0, 2.0, 3.0],
        }
    )
    expected = pl.DataFrame(
        {"unique_id": ["s", "s"], "ds": [date(2026, 3, 23), date(2026, 3, 30)], "y": [1.0, 5.0]}
    )
    assert_frame_equal(to_weekly(daily), expected)


def test_series_kept_at_the_dc_are_empty_by_design_not_out_of_stock() -> None:
    counts = _counts(("FW1", _day(20), 0, 0), ("FW2", _day(20), 0, 0))
    kept = pl.DataFrame({"warehouse_id": ["FW1"], "sku": ["A"]}, schema=KEPT_AT_DC)
    spans = stockout_spans(counts, _day(30), AS_OF, kept)
    assert spans.select("warehouse_id").to_series().to_list() == ["FW2"]
