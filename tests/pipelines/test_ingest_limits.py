"""Size limits of landing rows and fields: oversized rows marked, long fields cut."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from pipelines.ingest.limits import FIELD_LIMIT, KEPT_CHARS, ROW_BYTES, SIZE_REASON, bound


def _rows(**columns: list[str]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"row_number": list(range(1, n + 1)), **columns})


def test_rows_within_the_limits_come_back_as_they_are() -> None:
    rows = _rows(a=["x" * FIELD_LIMIT, "y"], b=["1", "2"])
    assert_frame_equal(bound(rows, "row_number"), rows)


def test_a_long_field_is_named_with_its_size_and_cut() -> None:
    rows = _rows(a=["x", "é" * 3000], b=["1", "2"])  # 6,000 bytes in 3,000 characters
    found = bound(rows, "row_number")
    assert found[SIZE_REASON].to_list() == [None, "field a is 6,000 bytes, limit 4,096"]
    assert found[ROW_BYTES].to_list() == [None, 6001]
    kept = found["a"][1]
    assert kept == "é" * KEPT_CHARS + "…[cut: 6,000 bytes]"
    assert found["b"].to_list() == ["1", "2"]


def test_a_row_over_its_limit_is_named_even_with_every_field_within_its_own() -> None:
    rows = _rows(**{f"c{i}": ["z" * 4000] for i in range(17)})
    (reason,) = bound(rows, "row_number")[SIZE_REASON]
    assert reason == "row is 68,000 bytes, limit 65,536"
