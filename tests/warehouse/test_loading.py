"""The SQL side of ingestion: transactions, the one read, the one write, quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest.compare import compare_loaded
from warehouse import frames, loading, quarantine
from warehouse.loading_types import (
    Decision,
    ExistingQuery,
    KeyQuery,
    LoadedQuery,
    TableWrite,
)
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
        quarantine.quarantine_rows(
            con, _quarantine_frame("x"), kind="skus", source_file="f", sha256="s", now=NOW
        )
        con.execute("INSERT INTO skus (sku) VALUES ('broken')")
    assert _count(con, "quarantine") == 0


def test_quarantining_the_same_row_twice_keeps_one(con: duckdb.DuckDBPyConnection) -> None:
    for reason in ("first", "second"):
        quarantine.quarantine_rows(
            con, _quarantine_frame(reason), kind="skus", source_file="f", sha256="s", now=NOW
        )
    assert con.execute("SELECT reason FROM quarantine").fetchall() == [("first",)]


def test_resolving_marks_only_that_files_rows(con: duckdb.DuckDBPyConnection) -> None:
    for sha in ("a", "b"):
        quarantine.quarantine_rows(
            con, _quarantine_frame("r"), kind="skus", source_file=sha, sha256=sha, now=NOW
        )
    quarantine.resolve_quarantine(con, "a", pl.Series([1]), NOW)
    assert quarantine.has_quarantine(con, "b") and not quarantine.has_quarantine(con, "a")


def test_compare_loaded_names_the_differing_columns(con: duckdb.DuckDBPyConnection) -> None:
    rows = pl.DataFrame(
        {"row_number": [1, 2], "sku": ["K1", "K2"], "brand": ["other", "x"], "pack_size": [1, 1]}
    )
    query = ExistingQuery(
        "s", "f", loaded=LoadedQuery("skus", rows.select("sku"), ("brand", "pack_size"))
    )
    loaded = loading.read_existing(con, query).loaded
    found = compare_loaded(rows, loaded, ["sku"], ["brand", "pack_size"])
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
        loading.known_keys(con, KeyQuery("sku", "skus; DROP TABLE skus", "sku", pl.Series(["K1"])))


def test_the_read_fetches_only_the_files_keys(con: duckdb.DuckDBPyConnection) -> None:
    keys = pl.DataFrame({"warehouse_id": ["FW1", "FW9"]})
    query = ExistingQuery(
        "s",
        "f",
        references=(KeyQuery("warehouse", "warehouses", "warehouse_id", keys["warehouse_id"]),),
        loaded=LoadedQuery("warehouses", keys, ("kind",)),
    )
    existing = loading.read_existing(con, query)
    assert existing.known["warehouse"].to_list() == ["FW1"]
    assert existing.loaded.rows() == [("FW1", "forward")]


def test_the_read_knows_the_files_unresolved_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    quarantine.quarantine_rows(
        con, _quarantine_frame("r"), kind="skus", source_file="f", sha256="s", now=NOW
    )
    existing = loading.read_existing(con, ExistingQuery("s", "f"))
    assert (existing.quarantined.to_list(), existing.ingested_before) == ([1], False)


def test_a_write_with_a_key_updates_the_loaded_row(con: duckdb.DuckDBPyConnection) -> None:
    level = {
        "warehouse_id": ["FW1"],
        "sku": ["K1"],
        "as_of": [date(2026, 1, 1)],
        "in_transit": [0],
        "source_file": ["f"],
        "loaded_at": [NOW],
    }
    for on_hand in (5, 6):
        rows = pl.DataFrame(level | {"on_hand": [on_hand], "reserved": [0]})
        write = TableWrite("stock_levels", rows, ("warehouse_id", "sku", "as_of"))
        loading.apply_decision(
            con, Decision(writes=(write,)), kind="stock", source_file="f", sha256="s", now=NOW
        )
    assert con.execute("SELECT on_hand FROM stock_levels").fetchall() == [(6,)]


def test_a_decision_resolves_the_cured_rows(con: duckdb.DuckDBPyConnection) -> None:
    quarantine.quarantine_rows(
        con, _quarantine_frame("r"), kind="skus", source_file="f", sha256="s", now=NOW
    )
    decision = Decision(resolved=pl.Series([1]))
    loading.apply_decision(con, decision, kind="skus", source_file="f", sha256="s", now=NOW)
    assert not quarantine.has_quarantine(con, "s")
