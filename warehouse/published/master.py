"""Master data as published with the plan: warehouses, stores, SKUs.

A reader names things with these and checks ids against them (an unknown store
or SKU is the caller's 404 or 422), so they come from the same snapshot as the
plan they describe.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from warehouse.published._sql import frame

#: One warehouse: a DC or a forward warehouse (``parent_warehouse_id``: its DC).
WAREHOUSES = pl.Schema(
    {
        "warehouse_id": pl.String(),
        "name": pl.String(),
        "kind": pl.String(),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "shelf_capacity_l": pl.Float64(),
        "parent_warehouse_id": pl.String(),
        "opened_on": pl.Date(),
    }
)

#: One store and the forward warehouse that serves it.
STORES = pl.Schema(
    {
        "store_id": pl.String(),
        "name": pl.String(),
        "lat": pl.Float64(),
        "lon": pl.Float64(),
        "warehouse_id": pl.String(),
        "opened_on": pl.Date(),
        "is_franchise": pl.Boolean(),
    }
)

#: One SKU of the catalogue (money in CNY, exact).
SKUS = pl.Schema(
    {
        "sku": pl.String(),
        "name": pl.String(),
        "category": pl.String(),
        "part_type": pl.String(),
        "brand": pl.String(),
        "pack_size": pl.Int64(),
        "unit_volume_l": pl.Float64(),
        "unit_cost": pl.Decimal(12, 2),
        "unit_price": pl.Decimal(12, 2),
        "lead_time_days": pl.Int64(),
        "is_nev": pl.Boolean(),
        "do_not_stock": pl.Boolean(),
    }
)


def warehouses(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> pl.DataFrame:
    """Every warehouse (or those of ``kind``: ``dc`` or ``forward``): ``WAREHOUSES`` by id."""
    return frame(
        con,
        "SELECT * FROM warehouses WHERE $kind IS NULL OR kind = $kind ORDER BY warehouse_id",
        {"kind": kind},
        WAREHOUSES,
    )


def stores(con: duckdb.DuckDBPyConnection, store_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The stores asked for (None: all): ``STORES`` by id; an unknown id has no row."""
    return frame(
        con,
        "SELECT * FROM stores WHERE $ids IS NULL OR list_contains($ids, store_id) "
        "ORDER BY store_id",
        {"ids": None if store_ids is None else list(store_ids)},
        STORES,
    )


def skus(con: duckdb.DuckDBPyConnection, sku_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The SKUs asked for (None: the catalogue): ``SKUS`` by SKU; an unknown one has no row."""
    return frame(
        con,
        "SELECT * FROM skus WHERE $skus IS NULL OR list_contains($skus, sku) ORDER BY sku",
        {"skus": None if sku_ids is None else list(sku_ids)},
        SKUS,
    )
