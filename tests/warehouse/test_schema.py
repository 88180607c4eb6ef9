"""Schema, migrations and constraints of the DuckDB database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.schema import (
    MIGRATIONS_DIR,
    SchemaError,
    connect,
    current_version,
    discover_migrations,
    migrate,
)

DESIGN_TABLES = {
    "stores",
    "warehouses",
    "skus",
    "vehicle_models",
    "fitment",
    "maintenance_schedules",
    "order_lines",
    "returns",
    "stock_levels",
    "quarantine",
    "runs",
    "forecasts",
    "replenishment_plan",
    "transfer_orders",
    "routes",
}
MODEL_TABLES = {
    "orders",
    "order_line_status_history",
    "deliveries",
    "transfer_order_lines",
    "store_vehicles",
    "ingested_files",
    "schema_version",
}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def test_fresh_database_has_every_table_at_the_latest_version(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert _tables(con) >= DESIGN_TABLES | MODEL_TABLES
    assert current_version(con) == len(discover_migrations())


def test_opening_an_older_database_upgrades_it_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=1) == [1]
    con.execute(
        "INSERT INTO warehouses VALUES ('DC01', 'dc', 'dc', 31.0, 121.0, 1000, NULL, '2020-01-01')"
    )
    assert "runs" not in _tables(con)
    con.close()

    con = connect(path)
    assert current_version(con) == len(discover_migrations())
    assert "runs" in _tables(con)
    assert con.execute("SELECT warehouse_id FROM warehouses").fetchall() == [("DC01",)]


def test_opening_a_newer_database_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version (version, name) VALUES (99, 'future')")
    con.close()
    with pytest.raises(SchemaError, match="version 99 is newer than this partsflow knows"):
        connect(path)
    with pytest.raises(SchemaError, match="newer"):
        connect(path, read_only=True)


def test_read_only_open_refuses_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=1)
    con.close()
    with pytest.raises(SchemaError, match="open it read-write once to upgrade"):
        connect(path, read_only=True)


def test_a_gap_in_the_migration_sequence_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    with pytest.raises(SchemaError, match="expected migration 0002"):
        discover_migrations(tmp_path)


def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b (x INTEGER); SELECT * FROM nowhere;")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(duckdb.CatalogException):
        migrate(con, tmp_path)
    assert current_version(con) == 1
    assert "b" not in _tables(con)


def test_a_constrained_table_is_changed_by_rebuilding_it(tmp_path: Path) -> None:
    """DuckDB cannot ALTER TABLE ... ADD CHECK: the documented rebuild keeps rows."""
    (tmp_path / "0001_a.sql").write_text(
        "CREATE TABLE parts (sku VARCHAR PRIMARY KEY, qty INTEGER CHECK (qty >= 0));"
    )
    (tmp_path / "0002_rebuild.sql").write_text(
        "CREATE TABLE parts_new (sku VARCHAR PRIMARY KEY, qty INTEGER CHECK (qty >= 0),"
        " pack INTEGER NOT NULL DEFAULT 1 CHECK (pack > 0));"
        "INSERT INTO parts_new (sku, qty) SELECT sku, qty FROM parts;"
        "DROP TABLE parts; ALTER TABLE parts_new RENAME TO parts;"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, tmp_path, target=1)
    con.execute("INSERT INTO parts VALUES ('K1', 3)")
    migrate(con, tmp_path)
    assert con.execute("SELECT sku, qty, pack FROM parts").fetchall() == [("K1", 3, 1)]
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO parts VALUES ('K2', 1, 0)")


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        (
            "INSERT INTO warehouses VALUES ('W', 'w', 'shop', 31, 121, 10, NULL, '2020-01-01')",
            "kind",
        ),
        ("INSERT INTO warehouses VALUES ('W', 'w', 'dc', 91, 121, 10, NULL, '2020-01-01')", "lat"),
        ("INSERT INTO warehouses VALUES ('W', 'w', 'dc', 31, 121, 0, NULL, '2020-01-01')", "shelf"),
        (
            "INSERT INTO stores VALUES ('S', 's', 31, 121, 'NOWHERE', '2020-01-01', true)",
            "foreign key",
        ),
        (
            "INSERT INTO skus VALUES "
            "('K', 'k', 'tyres', 'tyre', 'b', 1, 1.0, -1, 1, 0, false, false)",
            "unit_cost",
        ),
        (
            "INSERT INTO skus VALUES "
            "('K', 'k', 'toys', 'tyre', 'b', 1, 1.0, 1, 1, 0, false, false)",
            "category",
        ),
        ("INSERT INTO service_targets VALUES ('sku', 'K', 'speed', 0.9, now(), 'a')", "kind"),
    ],
)
def test_constraints_reject_bad_rows(tmp_path: Path, sql: str, fragment: str) -> None:
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(duckdb.ConstraintException) as info:
        con.execute(sql)
    assert fragment in str(info.value).lower()


def test_migration_files_are_packaged_with_the_code() -> None:
    names = [m.path.name for m in discover_migrations()]
    assert names == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert names[0] == "0001_core.sql"


def test_migration_0006_keeps_forecasts_and_drops_their_keys(tmp_path: Path) -> None:
    path = tmp_path / "v5.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=5)
    con.execute(
        "INSERT INTO runs (run_id, kind, status, started_at) "
        "VALUES ('R1', 'nightly', 'running', now())"
    )
    row = "('R1', 'FW1', 'A', 'FW1/A', DATE '2026-11-21', 0.5, 'TSB', 'lumpy', 0, 1, 1, 2, 3)"
    con.execute(f"INSERT INTO forecasts VALUES {row}")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO forecasts VALUES {row}")  # the version-5 key
    con.close()

    con = connect(path)
    assert current_version(con) >= 6
    assert con.execute("SELECT run_id, sku, q99 FROM forecasts").fetchall() == [("R1", "A", 3.0)]
    keys = con.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'forecasts' "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')"
    ).fetchall()
    assert keys == [(0,)]
    with pytest.raises(duckdb.ConstraintException):
        con.execute(row.replace("0.5", "-1.0").join(["INSERT INTO forecasts VALUES ", ""]))
