"""One series (forward warehouse × SKU) as a planner inspects it.

Its demand history, the stock counts behind its stock-out days, tonight's
forecast with its class and model, the backtest accuracy, the plan line
(position, S, reason) and the transfer-order lines that carry it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from models.schemas import SERIES_ID_SEPARATOR
from warehouse.published._sql import frame
from warehouse.published.network import ACCURACY_ROWS
from warehouse.published.plan_lines import plan_line

#: Daily demand over the run's history window, zero-filled (completed order lines, units).
SERIES_HISTORY = pl.Schema({"ds": pl.Date, "y": pl.Int64})

#: The series' end-of-day stock counts that bear on the history window: every count
#: in it and the last one before it. ``available`` is on hand less reserved. The
#: columns of ``pipelines.demand_series.STOCK_COUNTS`` (with ``warehouse_id`` and
#: ``sku``), whose ``stockout_spans`` turns them into stock-out days.
SERIES_STOCK_COUNTS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "as_of": pl.Date,
        "available": pl.Int64,
        "in_transit": pl.Int64,
    }
)

#: Tonight's forecast, one row per horizon day.
SERIES_FORECAST = pl.Schema(
    {
        "ds": pl.Date,
        "mean": pl.Float64,
        "q50": pl.Float64,
        "q80": pl.Float64,
        "q90": pl.Float64,
        "q95": pl.Float64,
        "q99": pl.Float64,
    }
)

#: The transfer-order lines of the series: a replenishment into it or a pull-back out.
SERIES_TRANSFERS = pl.Schema(
    {
        "transfer_id": pl.String,
        "from_warehouse_id": pl.String,
        "to_warehouse_id": pl.String,
        "needed_by": pl.Date,
        "status": pl.String,
        "line_no": pl.Int64,
        "proposed_quantity": pl.Int64,
        "allocated_quantity": pl.Int64,
        "quantity": pl.Int64,
        "reason": pl.String,
    }
)


@dataclass(frozen=True)
class Series:
    """Everything the snapshot knows of one series.

    ``demand_class`` and ``model`` are the forecast's (None when the series has no
    forecast tonight); ``plan`` is ``warehouse.published.PLAN_LINES`` with one row
    (position, ``order_up_to`` = S, ``reason``) or none; ``accuracy`` is
    ``ACCURACY_ROWS`` with the series' backtest row, or none if it was not
    backtested tonight.
    """

    warehouse_id: str
    sku: str
    demand_class: str | None
    model: str | None
    history: pl.DataFrame
    stock_counts: pl.DataFrame
    forecast: pl.DataFrame
    accuracy: pl.DataFrame
    plan: pl.DataFrame
    transfers: pl.DataFrame


def series(con: duckdb.DuckDBPyConnection, warehouse_id: str, sku: str) -> Series | None:
    """One series of the published run.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id, sku
        The series.

    Returns
    -------
    Series or None
        None when the run neither forecast nor planned the series and it had no
        demand in the history window. ``history`` (``SERIES_HISTORY``) has every
        day of the window; ``stock_counts`` is ``SERIES_STOCK_COUNTS``,
        ``forecast`` ``SERIES_FORECAST``, ``transfers`` ``SERIES_TRANSFERS``.
    """
    key = {"warehouse": warehouse_id, "sku": sku}
    history = frame(
        con,
        """
        WITH days AS (
            SELECT range::DATE AS ds
            FROM snapshot_info, range(history_start, as_of + INTERVAL 1 DAY, INTERVAL 1 DAY)
        )
        SELECT days.ds, coalesce(h.y, 0) AS y
        FROM days LEFT JOIN demand_history h
          ON h.ds = days.ds AND h.warehouse_id = $warehouse AND h.sku = $sku
        ORDER BY days.ds
        """,
        key,
        SERIES_HISTORY,
    )
    forecast = con.sql(
        "SELECT * FROM forecasts WHERE warehouse_id = $warehouse AND sku = $sku ORDER BY ds",
        params=key,
    ).pl()
    plan = plan_line(con, warehouse_id, sku)
    if forecast.is_empty() and plan.is_empty() and history["y"].sum() == 0:
        return None
    described = forecast.head(1).to_dicts()
    return Series(
        warehouse_id=warehouse_id,
        sku=sku,
        demand_class=described[0]["class"] if described else None,
        model=described[0]["model"] if described else None,
        history=history,
        stock_counts=frame(
            con,
            "SELECT * FROM stock_history WHERE warehouse_id = $warehouse AND sku = $sku "
            "ORDER BY as_of",
            key,
            SERIES_STOCK_COUNTS,
        ),
        forecast=forecast.select(SERIES_FORECAST.names()).cast(SERIES_FORECAST),
        accuracy=frame(
            con,
            "SELECT * FROM forecast_accuracy WHERE scope = 'series' AND key = $id",
            {"id": f"{warehouse_id}{SERIES_ID_SEPARATOR}{sku}"},
            ACCURACY_ROWS,
        ),
        plan=plan,
        transfers=frame(
            con,
            """
            SELECT o.transfer_id, o.from_warehouse_id, o.to_warehouse_id, o.needed_by,
                   o.status, l.line_no, l.proposed_quantity, l.allocated_quantity,
                   l.quantity, l.reason
            FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
            WHERE l.sku = $sku AND $warehouse IN (o.from_warehouse_id, o.to_warehouse_id)
            ORDER BY o.needed_by, o.transfer_id
            """,
            key,
            SERIES_TRANSFERS,
        ),
    )
