"""Ingesting master data (upserts), stock (level history) and returns (90-day rule)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import ingest, retry_quarantine
from pipelines.ingest.report import FileReport
from tests.pipelines.ingest_support import (
    NOW,
    ORDER_HEADER,
    RETURN_HEADER,
    STORES,
    WAREHOUSES,
    a_return,
    line,
    load_network,
    query,
    reasons,
    skus,
    write_csv,
    write_parquet,
)
from warehouse.schema import connect

STOCK_HEADER = ["warehouse_id", "sku", "as_of", "on_hand", "reserved", "in_transit"]


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding the small network and one order line (O1, 1): 2 x K1 at S1."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    write_csv(tmp_path / "order_lines_0.csv", ORDER_HEADER, [line()])
    assert ingest(connection, [tmp_path / "order_lines_0.csv"], now=NOW).ok
    yield connection
    connection.close()


def _ingest(con: duckdb.DuckDBPyConnection, path: Path, now: datetime = NOW) -> FileReport:
    (report,) = ingest(con, [path], now=now).files
    assert report.error is None, report.error
    return report


# --- master data --------------------------------------------------------------


def test_master_data_with_changed_content_updates_the_record(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    changed = skus("K1", "K2", "K3")
    changed["unit_price"][0] = "39.90"
    report = _ingest(con, write_parquet(tmp_path / "skus_2.parquet", changed))
    assert (report.loaded, report.updated, report.unchanged) == (2, 1, 1)
    assert query(con, "SELECT unit_price::VARCHAR FROM skus WHERE sku = 'K1'") == [("39.90",)]


def test_master_data_rows_are_never_deleted(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    _ingest(con, write_parquet(tmp_path / "skus_2.parquet", skus("K2")))
    assert query(con, "SELECT count(*) FROM skus") == [(2,)]


def test_a_store_must_be_served_by_a_known_forward_warehouse(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    stores = {k: [v[0]] for k, v in STORES.items()} | {"store_id": ["S3"], "warehouse_id": ["DC1"]}
    _ingest(con, write_parquet(tmp_path / "stores_2.parquet", stores))
    assert reasons(con) == {1: "warehouse_id: unknown forward warehouse 'DC1'"}


def test_a_forward_warehouse_may_name_a_dc_of_the_same_file(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    report = _ingest(con, write_parquet(tmp_path / "warehouses.parquet", WAREHOUSES))
    assert (report.loaded, report.quarantined) == (3, 0)


def test_a_dc_with_a_parent_is_quarantined(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    rows = {k: [v[0]] for k, v in WAREHOUSES.items()} | {"parent_warehouse_id": ["X"]}
    _ingest(con, write_parquet(tmp_path / "warehouses.parquet", rows))
    assert reasons(con) == {
        1: "parent_warehouse_id: must be empty for a DC; parent_warehouse_id: unknown DC 'X'"
    }


def test_a_bad_boolean_is_quarantined(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = skus("K5") | {"is_nev": ["maybe"]}
    _ingest(con, write_parquet(tmp_path / "skus_2.parquet", rows))
    assert reasons(con) == {1: "is_nev: not a boolean (true/false/1/0) ('maybe')"}


# --- stock --------------------------------------------------------------------


def _stock(con: duckdb.DuckDBPyConnection, path: Path, *rows: list[str]) -> FileReport:
    return _ingest(con, write_csv(path, STOCK_HEADER, list(rows)))


def _levels(con: duckdb.DuckDBPyConnection) -> list[object]:
    return query(con, "SELECT as_of::VARCHAR, on_hand FROM stock_levels ORDER BY as_of")


def test_stock_stores_a_row_only_when_the_level_changes(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _stock(con, tmp_path / "stock_1.csv", ["FW1", "K1", "2026-01-01", "5", "0", "0"])
    report = _stock(
        con,
        tmp_path / "stock_2.csv",
        ["FW1", "K1", "2026-01-02", "5", "0", "0"],
        ["FW1", "K1", "2026-01-03", "7", "0", "0"],
        ["FW1", "K1", "2026-01-04", "7", "0", "0"],
    )
    assert (report.loaded, report.unchanged) == (1, 2)
    assert _levels(con) == [("2026-01-01", 5), ("2026-01-03", 7)]


def test_a_different_count_for_a_stored_day_is_a_correction(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _stock(con, tmp_path / "stock_1.csv", ["FW1", "K1", "2026-01-01", "5", "0", "0"])
    report = _stock(con, tmp_path / "stock_2.csv", ["FW1", "K1", "2026-01-01", "6", "0", "0"])
    assert (report.loaded, report.updated) == (1, 1)
    assert _levels(con) == [("2026-01-01", 6)]


def test_reserved_above_on_hand_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _stock(con, tmp_path / "stock_1.csv", ["FW1", "K1", "2026-01-01", "5", "6", "0"])
    assert reasons(con) == {1: "reserved: must be <= on_hand (got 6 > 5)"}


# --- returns ------------------------------------------------------------------


def _returns(con: duckdb.DuckDBPyConnection, path: Path, *rows: list[str]) -> FileReport:
    return _ingest(con, write_csv(path, RETURN_HEADER, list(rows)))


def test_a_return_within_90_days_loads(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    report = _returns(con, tmp_path / "returns_1.csv", a_return())
    assert report.loaded == 1
    assert query(con, "SELECT return_date::VARCHAR FROM returns") == [("2026-01-20",)]


def test_a_return_after_the_90_day_window_is_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "returns_1.csv", RETURN_HEADER, [a_return(returned_at="2026-04-05T10:00:01")]
    )
    _ingest(con, path, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert reasons(con) == {1: "return after the 90-day window"}


def test_returns_beyond_the_lines_quantity_are_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _returns(
        con,
        tmp_path / "returns_1.csv",
        a_return(return_id="R1", quantity="1"),
        a_return(return_id="R2", quantity="2"),
        a_return(return_id="R3", quantity="1"),
    )
    assert reasons(con) == {2: "returned quantity exceeds the line's remaining quantity"}


def test_a_return_of_an_unknown_line_loads_once_the_line_does(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _returns(con, tmp_path / "returns_1.csv", a_return(order_id="O9"))
    assert reasons(con) == {1: "order line (O9, 1) is not loaded"}
    write_csv(tmp_path / "order_lines_9.csv", ORDER_HEADER, [line(order_id="O9")])
    _ingest(con, tmp_path / "order_lines_9.csv")
    assert retry_quarantine(con, now=NOW).loaded == 1
    assert query(con, "SELECT order_id FROM returns") == [("O9",)]


def test_a_reloaded_returns_file_is_unchanged(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "returns_1.csv"
    _returns(con, path, a_return(return_id="R1", quantity="2"))
    report = _ingest(con, path)
    assert (report.loaded, report.unchanged, report.quarantined) == (0, 1, 0)
