"""The snapshot's side of a store's availability: who serves it, what was counted, what comes.

API.md: available at a forward warehouse = on hand at its latest count
(:func:`latest_stock`) + released transfers due by now (:func:`released_arrivals`)
− units reserved by orders placed since that count (the operational store's).
These functions return the first two as published; the sum and the
reservations are the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from warehouse.published._sql import frame

#: The warehouses that can serve a store: its own (``role`` ``assigned``, as checked
#: tonight) and, when another is nearer, that one (``role`` ``nearest``; the night
#: measured only its distance, so its reach and rules are null).
SERVING_WAREHOUSES = pl.Schema(
    {
        "store_id": pl.String,
        "warehouse_id": pl.String,
        "role": pl.String,
        "distance_m": pl.Int64,
        "reach_s": pl.Int64,
        "within_distance": pl.Boolean,
        "within_time": pl.Boolean,
    }
)

#: The latest count per (warehouse, sku) on or before the run's as-of day.
LATEST_STOCK = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "counted_on": pl.Date,
        "on_hand": pl.Int64,
        "reserved": pl.Int64,
        "in_transit": pl.Int64,
    }
)

#: A line of a released transfer order the destination's latest count cannot include
#: yet (due after it): units on their way, arriving on ``needed_by``.
ARRIVALS = pl.Schema(
    {
        "warehouse_id": pl.String,  # the destination
        "sku": pl.String,
        "transfer_id": pl.String,
        "from_warehouse_id": pl.String,
        "needed_by": pl.Date,
        "quantity": pl.Int64,
    }
)


def serving_warehouses(con: duckdb.DuckDBPyConnection, store_id: str) -> pl.DataFrame:
    """The warehouses that can serve ``store_id``, its own first.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    store_id
        The store.

    Returns
    -------
    pl.DataFrame
        ``SERVING_WAREHOUSES``; no rows for an unknown store.
    """
    return frame(
        con,
        """
        SELECT s.store_id, coalesce(c.warehouse_id, s.warehouse_id) AS warehouse_id,
               'assigned' AS role, c.distance_m, c.reach_s, c.within_distance, c.within_time,
               0 AS rank
        FROM stores s LEFT JOIN store_coverage c USING (store_id)
        WHERE s.store_id = $store
        UNION ALL
        SELECT store_id, nearest_warehouse_id, 'nearest', nearest_distance_m, NULL, NULL, NULL, 1
        FROM store_coverage
        WHERE store_id = $store AND nearest_warehouse_id <> warehouse_id
        ORDER BY rank
        """,
        {"store": store_id},
        SERVING_WAREHOUSES,
    )


def latest_stock(
    con: duckdb.DuckDBPyConnection,
    warehouse_ids: Sequence[str],
    skus: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The latest count of each (warehouse, sku) asked for, as published.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_ids
        The warehouses (forward or DC).
    skus
        The SKUs; None for all.

    Returns
    -------
    pl.DataFrame
        ``LATEST_STOCK`` by warehouse and SKU; a pair never counted has no row.
    """
    return frame(
        con,
        """
        SELECT warehouse_id, sku, as_of AS counted_on, on_hand, reserved, in_transit
        FROM stock_levels
        WHERE list_contains($warehouses, warehouse_id)
          AND ($skus IS NULL OR list_contains($skus, sku))
        ORDER BY warehouse_id, sku
        """,
        {"warehouses": list(warehouse_ids), "skus": None if skus is None else list(skus)},
        LATEST_STOCK,
    )


def released_arrivals(
    con: duckdb.DuckDBPyConnection,
    warehouse_ids: Sequence[str],
    skus: Sequence[str] | None = None,
    *,
    due_by: date | None = None,
) -> pl.DataFrame:
    """Released transfer lines into the warehouses that their latest counts do not hold yet.

    A release moves stock on its ``needed_by`` day, so a line due after the
    destination's latest count is not in that count (the rule of
    ``warehouse.transfers``). Lines at 0 units are left out.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_ids
        The destinations.
    skus
        The SKUs; None for all.
    due_by
        Only lines due on or before this day (e.g. today, for what has arrived by now).

    Returns
    -------
    pl.DataFrame
        ``ARRIVALS`` by warehouse, SKU, due day and order.
    """
    return frame(
        con,
        """
        WITH counted AS (
            SELECT warehouse_id, max(as_of) AS day FROM stock_levels GROUP BY warehouse_id
        )
        SELECT o.to_warehouse_id AS warehouse_id, l.sku, o.transfer_id, o.from_warehouse_id,
               o.needed_by, l.quantity
        FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
        LEFT JOIN counted ON counted.warehouse_id = o.to_warehouse_id
        WHERE o.status = 'released' AND l.quantity > 0
          AND o.needed_by > coalesce(counted.day, DATE '1900-01-01')
          AND list_contains($warehouses, o.to_warehouse_id)
          AND ($skus IS NULL OR list_contains($skus, l.sku))
          AND ($due_by IS NULL OR o.needed_by <= $due_by)
        ORDER BY warehouse_id, l.sku, o.needed_by, o.transfer_id
        """,
        {
            "warehouses": list(warehouse_ids),
            "skus": None if skus is None else list(skus),
            "due_by": due_by,
        },
        ARRIVALS,
    )
