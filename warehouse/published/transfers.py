"""Published transfer orders: the list, one order with its lines and its status history.

The snapshot holds the published run's orders and the released orders of earlier
runs still on their way (see :mod:`warehouse.published.build`); ``run_id`` says
which. Statuses are as of publishing; the live workflow is the operational
store's (``ops.workflow``), which the API reads for statuses and this snapshot
for the plan details of each line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from warehouse.published._sql import Page, frame, keyset_page

_UTC = pl.Datetime("us", "UTC")

#: One order in a list: its header and the totals of its lines.
TRANSFER_ORDER_LIST = pl.Schema(
    {
        "transfer_id": pl.String(),
        "run_id": pl.String(),  # null for an order entered by hand
        "from_warehouse_id": pl.String(),
        "to_warehouse_id": pl.String(),
        "created_at": _UTC,
        "needed_by": pl.Date(),
        "status": pl.String(),
        "status_reason": pl.String(),
        "lines": pl.Int64(),
        "proposed_units": pl.Int64(),
        "allocated_units": pl.Int64(),
        "units": pl.Int64(),  # what ships: the quantities after any override
    }
)

#: A line of one order, with the plan line behind it (the destination's for a
#: replenishment, the source's for a pull-back; null for another run's order).
TRANSFER_ORDER_LINES = pl.Schema(
    {
        "line_no": pl.Int64(),
        "sku": pl.String(),
        "proposed_quantity": pl.Int64(),
        "allocated_quantity": pl.Int64(),
        "quantity": pl.Int64(),
        "reason": pl.String(),  # the plan's and the allocation's reasons, as written
        "action": pl.String(),
        "inventory_position": pl.Int64(),
        "order_up_to": pl.Int64(),
        "cut_by": pl.String(),
        "decision": pl.String(),
    }
)

#: Every status the order has had, oldest first.
TRANSFER_ORDER_HISTORY = pl.Schema(
    {
        "seq": pl.Int64(),
        "status": pl.String(),
        "reason": pl.String(),
        "changed_by": pl.String(),
        "changed_at": _UTC,
    }
)


@dataclass(frozen=True)
class TransferOrder:
    """One transfer order: header, ``TRANSFER_ORDER_LINES`` and ``TRANSFER_ORDER_HISTORY``."""

    transfer_id: str
    run_id: str | None
    from_warehouse_id: str
    to_warehouse_id: str
    created_at: datetime
    needed_by: date
    status: str
    status_reason: str | None
    lines: pl.DataFrame
    history: pl.DataFrame


def transfer_orders(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of transfer orders, by id.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id
        Only orders from or to this warehouse.
    status
        Only orders in this status (``proposed``, ``approved``, ``overridden``,
        ``released``, ``cancelled``).
    after
        The ``next_after`` of the previous page (a transfer id); None for the first.
    limit
        Orders per page, at least 1.

    Returns
    -------
    Page
        ``rows`` are ``TRANSFER_ORDER_LIST``.

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
               coalesce(sum(l.allocated_quantity), 0) AS allocated_units,
               coalesce(sum(l.quantity), 0) AS units
        FROM transfer_orders o LEFT JOIN transfer_order_lines l USING (transfer_id)
        WHERE ($warehouse IS NULL OR $warehouse IN (o.from_warehouse_id, o.to_warehouse_id))
          AND ($status IS NULL OR o.status = $status)
          AND ($after IS NULL OR o.transfer_id > $after)
        GROUP BY ALL
        ORDER BY o.transfer_id
        """,
        {"warehouse": warehouse_id, "status": status, "after": after},
        TRANSFER_ORDER_LIST,
        "transfer_id",
        limit,
    )


def transfer_order(con: duckdb.DuckDBPyConnection, transfer_id: str) -> TransferOrder | None:
    """One order with its lines (and the plan's reasons) and its status history.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    transfer_id
        The order.

    Returns
    -------
    TransferOrder or None
        None when the snapshot has no such order.
    """
    head = con.execute(
        "SELECT run_id, from_warehouse_id, to_warehouse_id, created_at, needed_by, status, "
        "status_reason FROM transfer_orders WHERE transfer_id = ?",
        [transfer_id],
    ).fetchall()
    if not head:
        return None
    run_id, source, destination, created_at, needed_by, status, status_reason = head[0]
    # A pull-back's plan line is the source's (it leaves there); a replenishment's the
    # destination's. replenishment_plan holds the published run only.
    lines = frame(
        con,
        """
        SELECT l.*, p.action, p.inventory_position, p.order_up_to, p.cut_by, p.decision
        FROM transfer_order_lines l
        JOIN transfer_orders o USING (transfer_id)
        LEFT JOIN replenishment_plan p ON p.sku = l.sku AND p.run_id = o.run_id
          AND p.warehouse_id = CASE WHEN p.action = 'pull_back'
                                    THEN o.from_warehouse_id ELSE o.to_warehouse_id END
        WHERE l.transfer_id = $id
        ORDER BY l.line_no
        """,
        {"id": transfer_id},
        TRANSFER_ORDER_LINES,
    )
    history = frame(
        con,
        "SELECT * FROM transfer_order_status_history WHERE transfer_id = $id ORDER BY seq",
        {"id": transfer_id},
        TRANSFER_ORDER_HISTORY,
    )
    return TransferOrder(
        transfer_id=transfer_id,
        run_id=run_id,
        from_warehouse_id=source,
        to_warehouse_id=destination,
        created_at=created_at,
        needed_by=needed_by,
        status=status,
        status_reason=status_reason,
        lines=lines,
        history=history,
    )
