"""Small landing files for the ingestion tests, written by the tests themselves.

The network: one DC (DC1) and two forward warehouses (FW1, FW2); stores S1
(served by FW1) and S2 (FW2); skus K1, K2; vehicle model VM1. Small enough
to read every row of a test in one glance.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.ingest import SPECS, IngestReport, ingest
from pipelines.ingest.common import LoadContext
from pipelines.ingest.decide import decide
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import REASON, parse_rows
from warehouse.loading_types import Decision, Existing

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDER_HEADER = [
    "order_id",
    "line_no",
    "ordered_at",
    "store_id",
    "sku",
    "quantity",
    "unit_price",
    "channel",
    "status",
]
RETURN_HEADER = [
    "return_id",
    "order_id",
    "line_no",
    "store_id",
    "sku",
    "quantity",
    "returned_at",
    "reason",
]

WAREHOUSES = {
    "warehouse_id": ["DC1", "FW1", "FW2"],
    "name": ["Central DC", "North FW", "South FW"],
    "kind": ["dc", "forward", "forward"],
    "lat": ["31.2", "31.3", "31.1"],
    "lon": ["121.4", "121.5", "121.3"],
    "shelf_capacity_l": ["100000", "5000", "5000"],
    "parent_warehouse_id": [None, "DC1", "DC1"],
    "opened_on": ["2020-01-01", "2021-01-01", "2021-06-01"],
}
STORES = {
    "store_id": ["S1", "S2"],
    "name": ["Store one", "Store two"],
    "lat": ["31.31", "31.11"],
    "lon": ["121.51", "121.31"],
    "warehouse_id": ["FW1", "FW2"],
    "opened_on": ["2021-02-01", "2021-07-01"],
    "is_franchise": ["false", "true"],
}
VEHICLE_MODELS = {
    "vehicle_model_id": ["VM1"],
    "make": ["BYD"],
    "model": ["Qin"],
    "segment": ["compact"],
    "powertrain": ["phev"],
    "year_from": ["2018"],
}


def skus(*ids: str) -> dict[str, list[Any]]:
    """Sku master rows for ``ids`` (all alike but the id)."""
    n = len(ids)
    return {
        "sku": list(ids),
        "name": [f"Part {i}" for i in ids],
        "category": ["filters"] * n,
        "part_type": ["oil_filter"] * n,
        "brand": ["Bosch"] * n,
        "pack_size": ["12"] * n,
        "unit_volume_l": ["0.5"] * n,
        "unit_cost": ["20.00"] * n,
        "unit_price": ["35.50"] * n,
        "lead_time_days": ["3"] * n,
        "is_nev": ["false"] * n,
    }


def write_parquet(path: Path, columns: dict[str, list[Any]]) -> Path:
    pl.DataFrame(columns).write_parquet(path)
    return path


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    """A CSV file in ``encoding`` (``utf-8-sig`` writes a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def line(**values: str) -> list[str]:
    """One order line in ``ORDER_HEADER`` order, defaults overridden by ``values``."""
    row = {
        "order_id": "O1",
        "line_no": "1",
        "ordered_at": "2026-01-05T10:00:00",
        "store_id": "S1",
        "sku": "K1",
        "quantity": "2",
        "unit_price": "10.50",
        "channel": "store",
        "status": "completed",
    } | values
    return [row[c] for c in ORDER_HEADER]


def a_return(**values: str) -> list[str]:
    """One return in ``RETURN_HEADER`` order, of line (O1, 1) by default."""
    row = {
        "return_id": "R1",
        "order_id": "O1",
        "line_no": "1",
        "store_id": "S1",
        "sku": "K1",
        "quantity": "1",
        "returned_at": "2026-01-20T09:00:00",
        "reason": "unused",
    } | values
    return [row[c] for c in RETURN_HEADER]


def load_network(con: duckdb.DuckDBPyConnection, folder: Path) -> IngestReport:
    """Ingest the small network's master data (warehouses, stores, skus K1 K2, VM1)."""
    folder.mkdir(exist_ok=True)
    write_parquet(folder / "warehouses.parquet", WAREHOUSES)
    write_parquet(folder / "stores.parquet", STORES)
    write_parquet(folder / "skus.parquet", skus("K1", "K2"))
    write_parquet(folder / "vehicle_models.parquet", VEHICLE_MODELS)
    report = ingest(con, [folder], now=NOW)
    assert report.ok, report.render()
    return report


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()


def reasons(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Unresolved quarantine reasons by row number."""
    rows = query(con, "SELECT row_number, reason FROM quarantine WHERE resolved_at IS NULL")
    return {int(n): str(r) for n, r in rows}


# --- deciding without a database ----------------------------------------------

#: What a warehouse holding the small network knows about its references.
NETWORK = Existing(
    known={
        "store": pl.Series(["S1", "S2"]),
        "sku": pl.Series(["K1", "K2"]),
        "vehicle model": pl.Series(["VM1"]),
        "warehouse": pl.Series(["DC1", "FW1", "FW2"]),
        "forward warehouse": pl.Series(["FW1", "FW2"]),
        "DC": pl.Series(["DC1"]),
    },
    serving=pl.DataFrame({"store_id": ["S1", "S2"], "serving_warehouse_id": ["FW1", "FW2"]}),
)


def strings(header: list[str], rows: list[list[str]]) -> pl.DataFrame:
    """Rows as a reader returns them: strings, and ``row_number`` from 1."""
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    return frame.with_row_index(ROW_NUMBER, offset=1).with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64)
    )


def typed(kind: str, header: list[str], rows: list[list[str]]) -> pl.DataFrame:
    """Rows typed as ingestion types them: how a loaded row reads back."""
    return parse_rows(strings(header, rows), SPECS[kind], NOW).drop(ROW_NUMBER, REASON)


def decide_rows(
    kind: str,
    header: list[str],
    rows: list[list[str]],
    existing: Existing = NETWORK,
    *,
    replay: bool = False,
) -> Decision:
    """The load decision for a file of ``rows`` given what the warehouse holds."""
    read = strings(header, rows)
    ctx = LoadContext("/landing/file.csv", "sha", NOW, replay)
    return decide(SPECS[kind], read, parse_rows(read, SPECS[kind], NOW), existing, ctx)


def outcome_list(decision: Decision) -> list[tuple[str, str | None]]:
    """(outcome, reason) of every row, in file order."""
    return [(o, r) for _, o, r in decision.outcomes.sort(ROW_NUMBER).iter_rows()]


def written(decision: Decision, table: str) -> pl.DataFrame:
    """The rows the decision writes to ``table``."""
    return pl.concat([w.rows for w in decision.writes if w.table == table], how="diagonal")
