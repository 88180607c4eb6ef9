"""The SQL side of ingestion: transactions, comparisons, quarantine writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from warehouse import frames, loading
from warehouse.schema import connect

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse with one DC (DC1), one forward warehouse (FW1) and one sku (K1)."""
    connection = connect(tmp_path / "w.duckdb")
    connection.execute(
        "INSERT INTO warehouses VALUES "
        "('DC1', 'dc', 'dc', 31, 121, 1000, NULL, '2020-01-01'), "
        "('FW1', 'fw', 'forward', 31, 121, 100, 'DC1', '2020-01-01')"
    )
    connection.execute(
        "INSERT INTO skus VALUES ('K1', 'n', 'filters', 'oil_filter', 'b', 1, 1, 1, 2, 3, "
        "false, false)"
    )
    yield connection
    connection.close()


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _quarantine_frame(reason: str) -> pl.DataFrame:
    return pl.DataFrame({"row_number": [1], "raw": ['{"a":"1"}'], "reason": [reason]})


def test_a_failing_transaction_leaves_nothing_behind(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error), frames.transaction(con):
        loading.quarantine_rows(
            con, _quarantine_frame("x"), kind="skus", source_file="f", sha256="s", now=NOW
        )
        con.execute("INSERT INTO skus (sku) VALUES ('broken')")
    assert _count(con, "quarantine") == 0


def test_quarantining_the_same_row_twice_keeps_one(con: duckdb.DuckDBPyConnection) -> None:
    for reason in ("first", "second"):
        loading.quarantine_rows(
            con, _quarantine_frame(reason), kind="skus", source_file="f", sha256="s", now=NOW
        )
    assert con.execute("SELECT reason FROM quarantine").fetchall() == [("first",)]


def test_resolving_marks_only_that_files_rows(con: duckdb.DuckDBPyConnection) -> None:
    for sha in ("a", "b"):
        loading.quarantine_rows(
            con, _quarantine_frame("r"), kind="skus", source_file=sha, sha256=sha, now=NOW
        )
    loading.resolve_quarantine(con, "a", pl.Series([1]), NOW)
    assert loading.has_quarantine(con, "b") and not loading.has_quarantine(con, "a")


def test_compare_loaded_names_the_differing_columns(con: duckdb.DuckDBPyConnection) -> None:
    rows = pl.DataFrame(
        {"row_number": [1, 2], "sku": ["K1", "K2"], "brand": ["other", "x"], "pack_size": [1, 1]}
    )
    found = loading.compare_loaded(con, "skus", rows, ["sku"], ["brand", "pack_size"])
    assert found.rows() == [(1, True, "brand other ≠ b"), (2, False, None)]


def test_known_stock_levels_finds_the_level_on_or_before_the_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "INSERT INTO stock_levels VALUES ('FW1', 'K1', '2026-01-01', 5, 0, 0, 'f', ?)", [NOW]
    )
    rows = pl.DataFrame(
        {
            "row_number": [1, 2],
            "warehouse_id": ["FW1", "FW1"],
            "sku": ["K1", "K1"],
            "as_of": [date(2025, 12, 31), date(2026, 1, 9)],
        }
    )
    found = loading.known_stock_levels(con, rows)
    assert found["known_on_hand"].to_list() == [None, 5]


def test_identifiers_are_checked_before_they_reach_sql(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="identifier"):
        loading.known_keys(con, "skus; DROP TABLE skus", "sku")
