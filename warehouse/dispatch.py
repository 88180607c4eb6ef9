"""Read-only queries for the store-delivery dispatch: a day's orders, stores, warehouses.

Each returns exactly the schema the pure code declares
(``optimization.delivery.day_replay.DAY_ORDERS``, ``optimization.delivery.coverage.STORE_POINTS`` /
``WAREHOUSE_POINTS``); ``tests/warehouse/test_dispatch_queries.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import polars as pl

from optimization.delivery.coverage import STORE_POINTS, WAREHOUSE_POINTS
from optimization.delivery.day_replay import DAY_ORDERS, LOCAL_TZ

#: Channels whose orders carry the 30-minute promise (a car waiting in the bay).
DEFAULT_CHANNELS = ("store",)


def day_orders(
    con: duckdb.DuckDBPyConnection,
    day: date,
    warehouse_id: str | None = None,
    channels: Sequence[str] = DEFAULT_CHANNELS,
) -> pl.DataFrame:
    """The orders of one demand day (Asia/Shanghai) with the store's coordinates.

    Only *completed* lines count: an order whose lines were all cancelled is
    not delivered; ``units`` and ``volume_l`` sum the completed lines
    (quantity, and quantity x the SKU's unit volume).

    Parameters
    ----------
    con
        An open warehouse connection (read-only is enough).
    day
        The demand day.
    warehouse_id
        One forward warehouse, or ``None`` for all.
    channels
        Order channels to include (default: store orders only).

    Returns
    -------
    pl.DataFrame
        :data:`optimization.delivery.day_replay.DAY_ORDERS`, ``ordered_at`` in Asia/Shanghai,
        sorted by warehouse, time and order id.
    """
    frame = con.sql(
        """
        SELECT o.order_id, o.warehouse_id, o.store_id, o.channel, o.ordered_at,
               sum(l.quantity)::BIGINT AS units,
               sum(l.quantity * k.unit_volume_l)::DOUBLE AS volume_l,
               s.lat, s.lon
        FROM orders o
        JOIN order_lines l USING (order_id)
        JOIN skus k ON k.sku = l.sku
        JOIN stores s ON s.store_id = o.store_id
        WHERE o.demand_date = ? AND l.status = 'completed'
          AND (? IS NULL OR o.warehouse_id = ?)
          AND list_contains(?, o.channel)
        GROUP BY ALL
        ORDER BY o.warehouse_id, o.ordered_at, o.order_id
        """,
        params=[day, warehouse_id, warehouse_id, list(channels)],
    ).pl()
    frame = frame.with_columns(pl.col("ordered_at").dt.convert_time_zone(LOCAL_TZ))
    return frame.cast(DAY_ORDERS).select(DAY_ORDERS.names())


def busiest_day(
    con: duckdb.DuckDBPyConnection, channels: Sequence[str] = DEFAULT_CHANNELS
) -> date | None:
    """The demand day with the most orders network-wide (the earliest on a tie), or ``None``."""
    rows = con.execute(
        """
        SELECT demand_date FROM orders WHERE list_contains(?, channel)
        GROUP BY demand_date ORDER BY count(*) DESC, demand_date LIMIT 1
        """,
        [list(channels)],
    ).fetchall()
    if not rows:
        return None
    value = rows[0][0]
    return value if isinstance(value, date) else None


def store_points(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every store with its coordinates and serving warehouse."""
    frame = con.sql("SELECT store_id, warehouse_id, lat, lon FROM stores ORDER BY store_id").pl()
    return frame.cast(STORE_POINTS).select(STORE_POINTS.names())


def warehouse_points(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every warehouse (DC and forward) with its kind and coordinates."""
    frame = con.sql(
        "SELECT warehouse_id, kind, lat, lon FROM warehouses ORDER BY warehouse_id"
    ).pl()
    return frame.cast(WAREHOUSE_POINTS).select(WAREHOUSE_POINTS.names())
