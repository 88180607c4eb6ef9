"""Ingesting the supply master data: ``suppliers`` and ``sku_supply`` (upserts, references)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.ingest import ingest, kind_from_name, retry_quarantine
from pipelines.ingest.report import FileReport
from tests.pipelines.ingest_support import NOW, load_network, query, reasons, write_parquet
from warehouse.schema import connect


def _suppliers(*rows: tuple[str, str, str, str]) -> dict[str, list[Any]]:
    """``suppliers`` columns from (supplier_id, name, lead_time_days, order_cycle_days) rows."""
    names = ("supplier_id", "name", "lead_time_days", "order_cycle_days")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _sku_supply(*rows: tuple[str, str, str, str, str]) -> dict[str, list[Any]]:
    """``sku_supply`` columns from (sku, supplier_id, case_pack, moq, sales_multiple) rows."""
    names = ("sku", "supplier_id", "case_pack", "moq", "sales_multiple")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


SUPPLIERS = _suppliers(("SUP1", "博世（中国）", "7", "7"), ("SUP2", "Michelin China", "14", "3"))
SKU_SUPPLY = _sku_supply(("K1", "SUP1", "12", "24", "1"), ("K2", "SUP2", "1", "4", "2"))


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding the small network (skus K1, K2), no suppliers yet."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    yield connection
    connection.close()


def _ingest(con: duckdb.DuckDBPyConnection, path: Path) -> FileReport:
    (report,) = ingest(con, [path], now=NOW).files
    assert report.error is None, report.error
    return report


def _load_supply(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    folder.mkdir()
    write_parquet(folder / "suppliers.parquet", SUPPLIERS)
    write_parquet(folder / "sku_supply.parquet", SKU_SUPPLY)
    assert ingest(con, [folder], now=NOW).ok


def test_the_kind_comes_from_the_name_prefix() -> None:
    assert kind_from_name(Path("suppliers_2026-11.parquet")) == "suppliers"
    assert kind_from_name(Path("sku_supply.csv")) == "sku_supply"
    assert kind_from_name(Path("skus.parquet")) == "skus"


def test_a_folder_loads_suppliers_before_the_skus_naming_them(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # By name sku_supply sorts first; by dependency it must load after suppliers.
    folder = tmp_path / "supply"
    _load_supply(con, folder)
    loaded = query(con, "SELECT * FROM sku_supply ORDER BY sku")
    assert loaded == [("K1", "SUP1", 12, 24, 1), ("K2", "SUP2", 1, 4, 2)]
    assert reasons(con) == {}


def test_loading_the_same_files_again_changes_nothing(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load_supply(con, tmp_path / "supply")
    for name, rows in (("suppliers_2.parquet", SUPPLIERS), ("sku_supply_2.parquet", SKU_SUPPLY)):
        report = _ingest(con, write_parquet(tmp_path / name, rows))
        assert (report.loaded, report.unchanged, report.quarantined) == (0, 2, 0)


def test_a_changed_supplier_is_an_update_even_while_skus_name_it(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load_supply(con, tmp_path / "supply")
    changed = _suppliers(("SUP1", "博世（中国）", "9", "14"))
    report = _ingest(con, write_parquet(tmp_path / "suppliers_2.parquet", changed))
    assert (report.loaded, report.updated) == (1, 1)
    stored = query(con, "SELECT * FROM suppliers WHERE supplier_id = 'SUP1'")
    assert stored == [("SUP1", "博世（中国）", 9, 14)]


def test_a_changed_sku_supply_row_is_an_update(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _load_supply(con, tmp_path / "supply")
    moved = _sku_supply(("K1", "SUP2", "6", "6", "2"))
    report = _ingest(con, write_parquet(tmp_path / "sku_supply_2.parquet", moved))
    assert (report.loaded, report.updated) == (1, 1)
    assert query(con, "SELECT supplier_id, moq FROM sku_supply WHERE sku = 'K1'") == [("SUP2", 6)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("SUP3", "X", "0", "7"), "lead_time_days: must be between 1 and 180 (got 0)"),
        (("SUP3", "X", "181", "7"), "lead_time_days: must be between 1 and 180 (got 181)"),
        (("SUP3", "X", "7", "91"), "order_cycle_days: must be between 1 and 90 (got 91)"),
        (("SUP3", "X", "a week", "7"), "lead_time_days: not an integer ('a week')"),
        (("SUP3", "", "7", "7"), "name: missing"),
        (("", "X", "7", "7"), "supplier_id: missing"),
    ],
)
def test_a_bad_supplier_row_is_quarantined_with_its_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, row: tuple[str, str, str, str], reason: str
) -> None:
    report = _ingest(con, write_parquet(tmp_path / "suppliers.parquet", _suppliers(row)))
    assert report.quarantined == 1
    assert reasons(con) == {1: reason}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("K9", "SUP1", "12", "12", "1"), "sku: unknown sku 'K9'"),
        (("K1", "SUP9", "12", "12", "1"), "supplier_id: unknown supplier 'SUP9'"),
        (("K1", "SUP1", "0", "12", "1"), "case_pack: must be > 0 (got 0)"),
        (("K1", "SUP1", "12", "-12", "1"), "moq: must be > 0 (got -12)"),
        (("K1", "SUP1", "12", "12", "0"), "sales_multiple: must be > 0 (got 0)"),
        (("K1", "", "12", "12", "1"), "supplier_id: missing"),
    ],
)
def test_a_bad_sku_supply_row_is_quarantined_with_its_reason(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    row: tuple[str, str, str, str, str],
    reason: str,
) -> None:
    _ingest(con, write_parquet(tmp_path / "suppliers.parquet", SUPPLIERS))
    report = _ingest(con, write_parquet(tmp_path / "sku_supply.parquet", _sku_supply(row)))
    assert (report.loaded, report.quarantined) == (0, 1)
    assert reasons(con) == {1: reason}


def test_a_row_naming_a_supplier_not_yet_loaded_loads_once_it_is(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _ingest(con, write_parquet(tmp_path / "sku_supply.parquet", SKU_SUPPLY))
    assert reasons(con) == {
        1: "supplier_id: unknown supplier 'SUP1'",
        2: "supplier_id: unknown supplier 'SUP2'",
    }
    _ingest(con, write_parquet(tmp_path / "suppliers.parquet", SUPPLIERS))
    assert retry_quarantine(con, now=NOW).loaded == 2
    assert query(con, "SELECT count(*) FROM sku_supply") == [(2,)]
