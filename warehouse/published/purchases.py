"""Published DC purchase orders and the purchase plan behind them.

The snapshot holds the published run's orders and the released orders of earlier
runs still due at the DC (see :mod:`warehouse.published.build`), and the run's plan
per (DC, SKU) — also the SKUs that order nothing and why. Statuses are as of
publishing: the workflow changes them in the working database
(``warehouse.purchasing``) until the snapshot is published again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from optimization.replenishment.purchasing import PURCHASE_PLAN
from warehouse.published._sql import Page, frame, keyset_page
from warehouse.published.transfers import TRANSFER_ORDER_HISTORY

_UTC = pl.Datetime("us", "UTC")

#: One order in a list: its header and the totals of its lines.
PURCHASE_ORDER_LIST = pl.Schema(
    {
        "po_id": pl.String(),
        "run_id": pl.String(),  # null for an order entered by hand
        "supplier_id": pl.String(),
        "dc_id": pl.String(),
        "created_at": _UTC,
        "expected_on": pl.Date(),
        "status": pl.String(),
        "status_reason": pl.String(),
        "lines": pl.Int64(),
        "proposed_units": pl.Int64(),
        "units": pl.Int64(),  # what is ordered: the quantities after any override
        "value": pl.Float64(),  # units × unit cost
    }
)

#: A line of one order with its reason.
PURCHASE_ORDER_LINES = pl.Schema(
    {
        "line_no": pl.Int64(),
        "sku": pl.String(),
        "proposed_quantity": pl.Int64(),
        "quantity": pl.Int64(),
        "unit_cost": pl.Float64(),
        "reason": pl.String(),
    }
)

#: The plan per (DC, SKU) less ``run_id``: ``optimization.replenishment.purchasing.PURCHASE_PLAN``.
PURCHASE_PLAN_LINES = PURCHASE_PLAN


@dataclass(frozen=True)
class PurchaseOrder:
    """One purchase order: header, ``PURCHASE_ORDER_LINES`` and its status history."""

    po_id: str
    run_id: str | None
    supplier_id: str
    dc_id: str
    created_at: datetime
    expected_on: date
    status: str
    status_reason: str | None
    lines: pl.DataFrame
    history: pl.DataFrame


def purchase_orders(
    con: duckdb.DuckDBPyConnection,
    *,
    dc_id: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of purchase orders (of ``dc_id``, in ``status``), by id: ``PURCHASE_ORDER_LIST``.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    return keyset_page(
        con,
        """
        SELECT o.*, count(l.line_no) AS lines,
               coalesce(sum(l.proposed_quantity), 0) AS proposed_units,
               coalesce(sum(l.quantity), 0) AS units,
               coalesce(sum(l.quantity * l.unit_cost), 0)::DOUBLE AS value
        FROM purchase_orders o LEFT JOIN purchase_order_lines l USING (po_id)
        WHERE ($dc IS NULL OR o.dc_id = $dc)
          AND ($status IS NULL OR o.status = $status)
          AND ($after IS NULL OR o.po_id > $after)
        GROUP BY ALL
        ORDER BY o.po_id
        """,
        {"dc": dc_id, "status": status, "after": after},
        PURCHASE_ORDER_LIST,
        "po_id",
        limit,
    )


def purchase_order(con: duckdb.DuckDBPyConnection, po_id: str) -> PurchaseOrder | None:
    """One order with its lines and status history; None when the snapshot has no such order."""
    head = con.execute(
        "SELECT run_id, supplier_id, dc_id, created_at, expected_on, status, status_reason "
        "FROM purchase_orders WHERE po_id = ?",
        [po_id],
    ).fetchall()
    if not head:
        return None
    run_id, supplier_id, dc_id, created_at, expected_on, status, status_reason = head[0]
    return PurchaseOrder(
        po_id=po_id,
        run_id=run_id,
        supplier_id=supplier_id,
        dc_id=dc_id,
        created_at=created_at,
        expected_on=expected_on,
        status=status,
        status_reason=status_reason,
        lines=frame(
            con,
            "SELECT * FROM purchase_order_lines WHERE po_id = $id ORDER BY line_no",
            {"id": po_id},
            PURCHASE_ORDER_LINES,
        ),
        history=frame(
            con,
            "SELECT * FROM purchase_order_status_history WHERE po_id = $id ORDER BY seq",
            {"id": po_id},
            TRANSFER_ORDER_HISTORY,
        ),
    )


def purchase_plan(
    con: duckdb.DuckDBPyConnection,
    dc_id: str,
    *,
    action: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of one DC's purchase plan by SKU (``action``: ``order``, ``covered``,
    ``not_review_day`` or ``no_supplier``): ``PURCHASE_PLAN_LINES``.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    return keyset_page(
        con,
        """
        SELECT * FROM purchase_plan
        WHERE dc_id = $dc AND ($action IS NULL OR action = $action)
          AND ($after IS NULL OR sku > $after)
        ORDER BY sku
        """,
        {"dc": dc_id, "action": action, "after": after},
        PURCHASE_PLAN_LINES,
        "sku",
        limit,
    )
