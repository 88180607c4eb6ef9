"""Queries that feed the demand series and forecasting: the demand span, the daily demand
history, the stock counts behind the stock-out rule and the category totals.

Each returns a polars frame with exactly the schema the consuming pure code
declares (``models.schemas.DEMAND_HISTORY``, ``pipelines.demand_series.STOCK_COUNTS``);
tests check it. The rules that turn them into series are in ``pipelines.demand_series``.
What replenishment reads is in :mod:`warehouse.replenishment`.
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


def stock_counts(con: duckdb.DuckDBPyConnection, start: date, as_of: date) -> pl.DataFrame:
    """End-of-day stock counts at the forward warehouses that bear on ``start .. as_of``.

    Every count in the window, and each series' last count before it (the state the
    window starts in). Columns ``warehouse_id, sku, as_of, available, in_transit``
    (``available``: on hand less reserved), sorted.
    """
    return con.sql(
        """
        WITH counts AS (
            SELECT s.warehouse_id, s.sku, s.as_of,
                   (s.on_hand - s.reserved)::BIGINT AS available, s.in_transit::BIGINT AS in_transit
            FROM stock_levels s JOIN warehouses w USING (warehouse_id)
            WHERE w.kind = 'forward' AND s.as_of <= $as_of
        ), before AS (
            SELECT * FROM counts WHERE as_of < $start
            QUALIFY row_number() OVER (PARTITION BY warehouse_id, sku ORDER BY as_of DESC) = 1
        )
        SELECT * FROM counts WHERE as_of >= $start
        UNION ALL
        SELECT * FROM before
        ORDER BY warehouse_id, sku, as_of
        """,
        params={"start": start, "as_of": as_of},
    ).pl()


def kept_at_dc(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The series the latest plan before ``as_of`` keeps at the DC (not held at the warehouse).

    From the last succeeded nightly run planned before ``as_of``; empty before the
    first plan. Columns ``warehouse_id, sku``, sorted.
    """
    return con.sql(
        """
        SELECT p.warehouse_id, p.sku FROM replenishment_plan p
        WHERE NOT p.stocked AND p.run_id = (
            SELECT run_id FROM runs WHERE kind = 'nightly' AND status = 'succeeded'
              AND as_of < $as_of
            ORDER BY as_of DESC, finished_at DESC LIMIT 1)
        ORDER BY ALL
        """,
        params={"as_of": as_of},
    ).pl()


def category_totals(con: duckdb.DuckDBPyConnection, as_of: date, days: int) -> pl.DataFrame:
    """Daily demand per (forward warehouse, category) over the ``days`` ending on ``as_of``.

    The input of the group seasonal indices (:mod:`models.seasonal`), which
    want a longer history than the series themselves: a year plus a month
    gives the forecast last year's path. Columns ``warehouse_id, group, ds,
    y, series`` (``series``: skus of the category the warehouse sold in the
    window). Completed lines only, as :func:`daily_demand`.
    """
    start = as_of - timedelta(days=days - 1)
    return con.sql(
        """
        WITH lines AS (
            SELECT o.warehouse_id, s.category AS "group", o.demand_date AS ds,
                   o.quantity, o.sku
            FROM order_lines o JOIN skus s USING (sku)
            WHERE o.status = 'completed' AND o.demand_date BETWEEN ? AND ?
        )
        SELECT warehouse_id, "group", ds, sum(quantity)::DOUBLE AS y,
               any_value(n)::BIGINT AS series
        FROM lines JOIN (
            SELECT warehouse_id, "group", count(DISTINCT sku) AS n FROM lines GROUP BY ALL
        ) USING (warehouse_id, "group")
        GROUP BY ALL
        ORDER BY warehouse_id, "group", ds
        """,
        params=[start, as_of],
    ).pl()
