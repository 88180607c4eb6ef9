"""Writing a night's plan and publishing it as a read-only snapshot.

A plan is written in one transaction together with the run's status, so a
crash leaves either the whole plan of a succeeded run or nothing of it.
Readers (API, dashboard) never open the working database: they read the
snapshot, a separate DuckDB file built aside and swapped in with
``os.replace`` so that a reader sees the old plan or the new one, never half.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from warehouse.runs import finish_run

SNAPSHOT_NAME = "plan.duckdb"

#: Tables copied whole into a snapshot (master data the pages need).
_MASTER_TABLES = ("warehouses", "stores", "skus", "schema_version")
#: Tables copied for the published run only.
_RUN_TABLES = ("runs", "forecasts", "replenishment_plan")


def write_plan(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    forecasts: pl.DataFrame,
    plan: pl.DataFrame,
    summary: dict[str, Any],
) -> None:
    """Insert the run's forecasts and plan and mark it succeeded, atomically."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("forecasts_frame", forecasts)
        con.register("plan_frame", plan)
        con.execute(
            "INSERT INTO forecasts BY NAME SELECT $run_id AS run_id, * FROM forecasts_frame",
            {"run_id": run_id},
        )
        con.execute(
            "INSERT INTO replenishment_plan BY NAME SELECT $run_id AS run_id, * FROM plan_frame",
            {"run_id": run_id},
        )
        finish_run(con, run_id, summary)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("forecasts_frame")
        con.unregister("plan_frame")


def publish_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, snapshot_dir: Path) -> Path:
    """Build the read-only snapshot of ``run_id`` aside and swap it in atomically."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    final = snapshot_dir / SNAPSHOT_NAME
    building = snapshot_dir / f".{SNAPSHOT_NAME}.{run_id}.building"
    building.unlink(missing_ok=True)
    con.execute("ATTACH ? AS snapshot", [str(building)])
    try:
        for table in _MASTER_TABLES:
            con.execute(f"CREATE TABLE snapshot.{table} AS SELECT * FROM main.{table}")
        for table in _RUN_TABLES:
            con.execute(
                f"CREATE TABLE snapshot.{table} AS SELECT * FROM main.{table} WHERE run_id = ?",
                [run_id],
            )
    finally:
        con.execute("DETACH snapshot")
    os.replace(building, final)
    return final
