"""Queries that feed forecasting: the demand span and the daily demand history.

Each returns a polars frame with exactly the schema the consuming pure code
declares (``models.schemas``); tests check it. What replenishment reads is in
:mod:`warehouse.replenishment`.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from models.schemas import DEMAND_HISTORY


def last_demand_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last demand day with an order line (the default ``--as-of``)."""
    return demand_span(con)[1]


def demand_span(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The first and last demand days with an order line (None, None if there is none)."""
    first, last = con.execute(
        "SELECT min(demand_date), max(demand_date) FROM order_lines"
    ).fetchall()[0]
    return (
        first if isinstance(first, date) else None,
        last if isinstance(last, date) else None,
    )


def daily_demand(con: duckdb.DuckDBPyConnection, as_of: date, history_days: int) -> pl.DataFrame:
    """Daily demand per (forward warehouse, sku), sparse: only days with demand.

    Demand is the quantity of *completed* order lines by Asia/Shanghai demand
    day in the ``history_days`` ending on ``as_of``. Cancelled lines are not
    demand. Returns are not subtracted: the part was asked for on that day
    (the demand signal), and the returned unit flows back into stock, which
    replenishment sees through the stock counts. Zero days are implicit.
    """
    start = as_of - timedelta(days=history_days - 1)
    frame = con.sql(
        """
        SELECT warehouse_id, sku, demand_date AS ds, sum(quantity)::DOUBLE AS y
        FROM order_lines
        WHERE status = 'completed' AND demand_date BETWEEN ? AND ?
        GROUP BY ALL
        ORDER BY warehouse_id, sku, ds
        """,
        params=[start, as_of],
    ).pl()
    return frame.cast(DEMAND_HISTORY).select(DEMAND_HISTORY.names())
