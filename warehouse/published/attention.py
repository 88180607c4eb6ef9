"""The plan lines a planner's inbox is made of: out of stock, cut, or ageing on the shelf.

:func:`plan_exceptions` lists lines by kind for the API; the inbox ranks them
by what is at stake, so it needs the demand rate, the unit cost and the days
without movement as well (:data:`ATTENTION_LINES`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.published._sql import frame

#: One plan line needing attention, with what ranks it.
ATTENTION_LINES = pl.Schema(
    {
        "warehouse_id": pl.String(),
        "sku": pl.String(),
        "category": pl.String(),
        "action": pl.String(),
        "stocked": pl.Boolean(),
        "rate": pl.Float64(),
        "unit_cost": pl.Float64(),
        "on_hand": pl.Int64(),
        "reserved": pl.Int64(),
        "inventory_position": pl.Int64(),
        "order_up_to": pl.Int64(),
        "proposed_quantity": pl.Int64(),
        "allocated_quantity": pl.Int64(),
        "pull_back_quantity": pl.Int64(),
        "cut_by": pl.String(),
        "idle_days": pl.Int64(),
    }
)

#: Days without movement from which stock is "ageing" (the return rule's 90 days near).
AGEING_DAYS = 60


def attention_lines(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    category: str | None = None,
) -> pl.DataFrame:
    """Plan lines held with nothing free, cut by the allocation, or idle 60+ days with stock.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id, category
        Only this forward warehouse, this SKU category (None: all).

    Returns
    -------
    pl.DataFrame
        ``ATTENTION_LINES`` by warehouse and SKU.
    """
    return frame(
        con,
        """
        SELECT * FROM replenishment_plan
        WHERE ($warehouse IS NULL OR warehouse_id = $warehouse)
          AND ($category IS NULL OR category = $category)
          AND ((stocked AND on_hand - reserved <= 0)
               OR allocated_quantity < proposed_quantity
               OR (on_hand > 0 AND idle_days >= $ageing))
        ORDER BY warehouse_id, sku
        """,
        {"warehouse": warehouse_id, "category": category, "ageing": AGEING_DAYS},
        ATTENTION_LINES,
    )
