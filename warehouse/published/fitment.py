"""The catalogue's vehicle side as published with the plan: models, fitment, maintenance.

A store system asks which parts fit the car in the bay and which are due at
its mileage or age; the API answers from the same snapshot as the stock it
then offers, so a part it names is a part the plan knows.
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.published._sql import frame

#: One vehicle model (``powertrain``: ice, hev, phev, bev; ``year_to`` null: still built).
VEHICLE_MODELS = pl.Schema(
    {
        "vehicle_model_id": pl.String(),
        "make": pl.String(),
        "model": pl.String(),
        "powertrain": pl.String(),
        "year_from": pl.Int64(),
        "year_to": pl.Int64(),
        "segment": pl.String(),
    }
)

#: A part that fits a vehicle model: the fitment row with the SKU's catalogue fields.
#: ``quantity`` is how many the vehicle takes at ``position``.
FITTING_PARTS = pl.Schema(
    {
        "sku": pl.String(),
        "name": pl.String(),
        "category": pl.String(),
        "part_type": pl.String(),
        "brand": pl.String(),
        "position": pl.String(),
        "quantity": pl.Int64(),
        "do_not_stock": pl.Boolean(),
    }
)

#: A vehicle model's maintenance schedule: a part type every ``interval_km`` and/or
#: every ``interval_months`` (at least one of them is set).
MAINTENANCE_SCHEDULE = pl.Schema(
    {
        "part_type": pl.String(),
        "interval_km": pl.Int64(),
        "interval_months": pl.Int64(),
    }
)


def vehicle_models(
    con: duckdb.DuckDBPyConnection, vehicle_model_id: str | None = None
) -> pl.DataFrame:
    """The vehicle models (or the one asked for; none if unknown): ``VEHICLE_MODELS`` by id."""
    return frame(
        con,
        "SELECT * FROM vehicle_models WHERE $id IS NULL OR vehicle_model_id = $id "
        "ORDER BY vehicle_model_id",
        {"id": vehicle_model_id},
        VEHICLE_MODELS,
    )


def fitting_parts(
    con: duckdb.DuckDBPyConnection,
    vehicle_model_id: str,
    *,
    category: str | None = None,
    part_types: list[str] | None = None,
) -> pl.DataFrame:
    """The parts that fit a vehicle model: ``FITTING_PARTS`` by SKU and position.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    vehicle_model_id
        The model; an unknown one fits nothing.
    category
        Only parts of this SKU category.
    part_types
        Only parts of these part types (e.g. those a maintenance schedule says are due).
    """
    return frame(
        con,
        """
        SELECT f.sku, s.name, s.category, s.part_type, s.brand, f.position, f.quantity,
               s.do_not_stock
        FROM fitment f JOIN skus s USING (sku)
        WHERE f.vehicle_model_id = $model
          AND ($category IS NULL OR s.category = $category)
          AND ($types IS NULL OR list_contains($types, s.part_type))
        ORDER BY f.sku, f.position
        """,
        {"model": vehicle_model_id, "category": category, "types": part_types},
        FITTING_PARTS,
    )


def maintenance_schedule(con: duckdb.DuckDBPyConnection, vehicle_model_id: str) -> pl.DataFrame:
    """A vehicle model's schedule: ``MAINTENANCE_SCHEDULE`` by part type (none if unknown)."""
    return frame(
        con,
        "SELECT * FROM maintenance_schedules WHERE vehicle_model_id = $model ORDER BY part_type",
        {"model": vehicle_model_id},
        MAINTENANCE_SCHEDULE,
    )
