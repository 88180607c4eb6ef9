"""Queries and writes of the forecasting step: peers, exposure, the stored model choice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb
import polars as pl

from models.coldstart import SKU_GROUPS
from models.distributions import CALIBRATION
from models.schemas import split_series_id
from models.selection import SELECTION_SCHEMA, Selection
from warehouse.frames import registered

#: ``forecast_accuracy`` rows less ``run_id``.
ACCURACY = pl.Schema(
    {
        "scope": pl.String,
        "key": pl.String,
        "series": pl.Int64,
        "mase": pl.Float64,
        "rmsse": pl.Float64,
        "wape": pl.Float64,
        "bias": pl.Float64,
        "spl": pl.Float64,
        **{f"coverage_q{level}": pl.Float64 for level in (50, 80, 90, 95, 99)},
    }
)


def sku_groups(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Category and part type of every sku (peers for selection and cold start)."""
    return con.sql("SELECT sku, category, part_type FROM skus ORDER BY sku").pl().cast(SKU_GROUPS)


def exposure_inputs(
    con: duckdb.DuckDBPyConnection, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The latest month of store vehicles up to ``as_of``, stores and fitment."""
    vehicles = con.sql(
        """
        SELECT store_id, vehicle_model_id, vehicles FROM store_vehicles
        WHERE month = (SELECT max(month) FROM store_vehicles WHERE month <= $as_of)
        """,
        params={"as_of": as_of},
    ).pl()
    stores = con.sql("SELECT store_id, warehouse_id FROM stores").pl()
    fitment = con.sql("SELECT DISTINCT sku, vehicle_model_id FROM fitment").pl()
    return vehicles, stores, fitment


def new_warehouses(con: duckdb.DuckDBPyConnection, since: date) -> list[str]:
    """Forward warehouses opened on or after ``since``."""
    rows = con.execute(
        "SELECT warehouse_id FROM warehouses WHERE kind = 'forward' AND opened_on >= ?", [since]
    ).fetchall()
    return [str(r[0]) for r in rows]


def load_selections(con: duckdb.DuckDBPyConnection) -> dict[str, Selection]:
    """The stored model choice per forward warehouse (empty on the first night)."""
    models = con.sql(
        'SELECT warehouse_id, unique_id, class, peer_group AS "group", model, score, '
        "selected_through FROM forecast_selection ORDER BY unique_id"
    ).pl()
    calibration = con.sql(
        "SELECT warehouse_id, class, model, level, scale, level_used FROM forecast_calibration "
        "ORDER BY ALL"
    ).pl()
    warehouses = sorted(set(models["warehouse_id"]) | set(calibration["warehouse_id"]))
    return {
        str(w): Selection(
            models.filter(pl.col("warehouse_id") == w).drop("warehouse_id").cast(SELECTION_SCHEMA),
            calibration.filter(pl.col("warehouse_id") == w).drop("warehouse_id").cast(CALIBRATION),
        )
        for w in warehouses
    }


def save_selections(
    con: duckdb.DuckDBPyConnection, run_id: str, selections: Mapping[str, Selection]
) -> None:
    """Replace the stored choice by tonight's (call inside the run's transaction)."""
    con.execute("DELETE FROM forecast_selection")
    con.execute("DELETE FROM forecast_calibration")
    if not selections:
        return
    models = pl.concat([split_series_id(s.models) for s in selections.values()])
    calibration = pl.concat(
        s.calibration.with_columns(warehouse_id=pl.lit(w)) for w, s in selections.items()
    )
    with registered(con, models) as chosen, registered(con, calibration) as calibrated:
        con.execute(
            "INSERT INTO forecast_selection SELECT unique_id, warehouse_id, sku, class, "
            f'"group", model, score, selected_through, $run_id FROM {chosen}',
            {"run_id": run_id},
        )
        con.execute(
            "INSERT INTO forecast_calibration SELECT warehouse_id, class, model, level, scale, "
            f"level_used, $run_id FROM {calibrated}",
            {"run_id": run_id},
        )


def save_accuracy(con: duckdb.DuckDBPyConnection, run_id: str, accuracy: pl.DataFrame) -> None:
    """Insert a run's accuracy rows (``ACCURACY``; call inside the run's transaction)."""
    with registered(con, accuracy.select(ACCURACY.names()).cast(ACCURACY)) as rows:
        con.execute(
            f"INSERT INTO forecast_accuracy SELECT $run_id AS run_id, * FROM {rows}",
            {"run_id": run_id},
        )
