"""Transfer orders: writing the night's proposals and the planner's status workflow.

The workflow (proposed → approved / overridden → released, or cancelled,
every step in ``transfer_order_status_history``) is the one purchase orders
share: :mod:`warehouse.workflow`. What is particular to transfers:

* **override** sets line quantities; the allocation's figure stays in
  ``allocated_quantity``.
* **Stock at the source:** an override or a release is refused when a line
  asks for more than the source warehouse has free for it: on hand −
  reserved at its latest count, less the lines of other released orders due
  after that count (:data:`RELEASED_AFTER_COUNT`: a release moves stock on
  its ``needed_by`` day, so a count taken before still holds those units).
  Nightly plans read stock the same way (``warehouse.replenishment``), so a
  released order is never planned twice.
* A new night's plan **supersedes** the open (proposed, approved,
  overridden) orders of earlier runs: they are cancelled with the reason,
  since tonight's plan is computed from the stock they did not change.
  Orders entered by hand (no ``run_id``) are left alone.

A store sees what a forward warehouse can hand over now (on hand − reserved)
and what released transfers bring, and when (:func:`store_availability`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from ops.workflow import OPEN_STATUSES, TRANSITIONS
from warehouse import workflow
from warehouse.workflow import OrderBook, WorkflowError

__all__ = [
    "AVAILABILITY",
    "OPEN_STATUSES",
    "RELEASED_AFTER_COUNT",
    "TRANSFERS",
    "TRANSITIONS",
    "TransferError",
    "approve",
    "cancel",
    "history",
    "list_orders",
    "override",
    "release",
    "released_loads",
    "store_availability",
    "write_transfers",
]

#: Lines of released transfers that the ``{side}`` warehouse's latest count
#: (on or before ``$as_of``) cannot include yet: due after that count.
#: Columns ``transfer_id, from_warehouse_id, to_warehouse_id, sku, units``.
RELEASED_AFTER_COUNT = """
    SELECT o.transfer_id, o.from_warehouse_id, o.to_warehouse_id, l.sku, l.quantity AS units
    FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
    LEFT JOIN (
        SELECT warehouse_id, max(as_of) AS day FROM stock_levels
        WHERE as_of <= $as_of GROUP BY warehouse_id
    ) counted ON counted.warehouse_id = o.{side}_warehouse_id
    WHERE o.status = 'released' AND l.quantity > 0
      AND o.needed_by > coalesce(counted.day, DATE '1900-01-01')
"""

#: What a store system sees per (forward warehouse, sku).
AVAILABILITY = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "counted_on": pl.Date,
        "available_now": pl.Int64,
        "arriving": pl.Int64,
        "next_arrival": pl.Date,
    }
)


class TransferError(WorkflowError):
    """A transfer-order change that is not allowed (unknown order, wrong status, bad line)."""


#: Where transfer orders live, for :mod:`warehouse.workflow`.
TRANSFERS = OrderBook(
    noun="transfer order",
    orders="transfer_orders",
    lines="transfer_order_lines",
    history="transfer_order_status_history",
    key="transfer_id",
    error=TransferError,
)


def write_transfers(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    headers: pl.DataFrame,
    lines: pl.DataFrame,
    changed_by: str = "nightly",
) -> int:
    """Insert the run's proposed orders and cancel earlier runs' open ones.

    Call inside the transaction that writes the plan. Returns the number of
    earlier orders superseded.
    """
    loops = headers.filter(pl.col("from_warehouse_id") == pl.col("to_warehouse_id"))
    if not loops.is_empty():
        raise TransferError(f"transfer {loops['transfer_id'][0]!r} goes from a warehouse to itself")
    now = datetime.now(UTC)
    superseded = workflow.open_of_earlier_runs(con, TRANSFERS, run_id)
    count = workflow.supersede(con, TRANSFERS, superseded, run_id, changed_by, now)
    workflow.insert_proposed(con, TRANSFERS, run_id, (headers, lines), changed_by, now)
    return count


def approve(con: duckdb.DuckDBPyConnection, transfer_id: str, changed_by: str) -> None:
    """Approve a proposed order as it stands."""
    workflow.approve(con, TRANSFERS, transfer_id, changed_by)


def override(
    con: duckdb.DuckDBPyConnection,
    transfer_id: str,
    quantities: Mapping[str, int],
    reason: str,
    changed_by: str,
) -> None:
    """Set the quantity of some lines (by SKU) and mark the order overridden.

    Raises
    ------
    TransferError
        Without a reason, for a SKU not on the order, a negative quantity,
        more than the source has free (module docstring), or an order that
        can no longer change.
    """
    workflow.override(
        con, TRANSFERS, transfer_id, quantities, reason, changed_by, check=_check_source_stock
    )


def release(con: duckdb.DuckDBPyConnection, transfer_id: str, changed_by: str) -> None:
    """Release an approved or overridden order to the DC, if the DC has the stock free."""
    workflow.release(con, TRANSFERS, transfer_id, changed_by, check=_check_source_stock)


def cancel(con: duckdb.DuckDBPyConnection, transfer_id: str, reason: str, changed_by: str) -> None:
    """Cancel an order that has not been released."""
    workflow.cancel(con, TRANSFERS, transfer_id, reason, changed_by)


def list_orders(con: duckdb.DuckDBPyConnection, status: str | None = None) -> pl.DataFrame:
    """Orders (all, or those in ``status``) with their line count and units, by id."""
    return con.sql(
        "SELECT o.transfer_id, o.status, o.needed_by, count(l.line_no) AS lines, "
        "sum(l.quantity) AS units, o.status_reason FROM transfer_orders o "
        "LEFT JOIN transfer_order_lines l USING (transfer_id) "
        "WHERE $status IS NULL OR o.status = $status GROUP BY ALL ORDER BY o.transfer_id",
        params={"status": status},
    ).pl()


def history(con: duckdb.DuckDBPyConnection, transfer_id: str) -> pl.DataFrame:
    """The order's statuses in order: ``seq, status, reason, changed_by, changed_at``."""
    return workflow.history(con, TRANSFERS, transfer_id)


def store_availability(
    con: duckdb.DuckDBPyConnection, warehouse_id: str, skus: list[str] | None = None
) -> pl.DataFrame:
    """``AVAILABILITY`` at a forward warehouse: free stock now and released transfers on the way.

    ``available_now`` is on hand − reserved at the latest count; ``arriving``
    sums released replenishment lines due after that count (the count cannot
    include them yet), ``next_arrival`` is the earliest such due date. SKUs
    with neither stock nor arrivals are left out.
    """
    frame = con.sql(
        """
        WITH stock AS (
            SELECT sku, as_of, greatest(on_hand - reserved, 0) AS available_now
            FROM stock_levels WHERE warehouse_id = $wh
            QUALIFY row_number() OVER (PARTITION BY sku ORDER BY as_of DESC) = 1
        ), counted AS (SELECT max(as_of) AS day FROM stock), arriving AS (
            SELECT l.sku, sum(l.quantity) AS arriving, min(o.needed_by) AS next_arrival
            FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
            WHERE o.to_warehouse_id = $wh AND o.status = 'released' AND l.quantity > 0
              AND o.needed_by > coalesce((SELECT day FROM counted), DATE '1900-01-01')
            GROUP BY l.sku
        )
        SELECT $wh AS warehouse_id, sku, stock.as_of AS counted_on,
               coalesce(stock.available_now, 0) AS available_now,
               coalesce(arriving.arriving, 0) AS arriving, arriving.next_arrival
        FROM stock FULL JOIN arriving USING (sku)
        ORDER BY sku
        """,
        params={"wh": warehouse_id},
    ).pl()
    frame = frame.select(AVAILABILITY.names()).cast(AVAILABILITY)
    return frame if skus is None else frame.filter(pl.col("sku").is_in(skus))


def released_loads(
    con: duckdb.DuckDBPyConnection, run_id: str, *, only_released: bool = True
) -> pl.DataFrame:
    """Litres and units of the run's released DC → warehouse orders due the day after it
    (``only_released=False``: of all its orders, as the night planned them).

    Returns ``optimization.routing.linehaul.LINEHAUL_LOADS`` rows (warehouses with
    nothing released are left out).
    """
    released = "AND o.status = 'released'" if only_released else ""
    frame = con.sql(
        f"""
        SELECT o.from_warehouse_id AS dc_id, o.to_warehouse_id AS warehouse_id,
               sum(l.quantity * s.unit_volume_l) AS volume_l, sum(l.quantity) AS units
        FROM transfer_orders o
        JOIN transfer_order_lines l USING (transfer_id)
        JOIN skus s USING (sku)
        JOIN warehouses w ON w.warehouse_id = o.from_warehouse_id
        JOIN runs r ON r.run_id = o.run_id
        WHERE o.run_id = $run {released} AND w.kind = 'dc'
          AND o.needed_by = r.as_of + INTERVAL 1 DAY AND l.quantity > 0
        GROUP BY ALL ORDER BY dc_id, warehouse_id
        """,
        params={"run": run_id},
    ).pl()
    return frame.with_columns(pl.col("volume_l").cast(pl.Float64), pl.col("units").cast(pl.Int64))


def _check_source_stock(
    con: duckdb.DuckDBPyConnection, transfer_id: str, quantities: Mapping[str, int]
) -> None:
    """Raise ``TransferError`` if a line (``quantities`` applied) exceeds the free stock at source.

    Lines at 0 need nothing. Called after the status change, inside its
    transaction, so a wrong status is reported first and a refusal undoes it.
    """
    committed = RELEASED_AFTER_COUNT.format(side="from")
    rows = con.execute(
        f"""
        WITH source AS (
            SELECT from_warehouse_id AS warehouse_id FROM transfer_orders WHERE transfer_id = $id
        ), counted AS (
            SELECT s.sku, s.on_hand - s.reserved AS free
            FROM stock_levels s JOIN source USING (warehouse_id)
            QUALIFY row_number() OVER (PARTITION BY s.sku ORDER BY s.as_of DESC) = 1
        ), committed AS (
            SELECT r.sku, sum(r.units) AS units
            FROM ({committed}) r JOIN source ON source.warehouse_id = r.from_warehouse_id
            WHERE r.transfer_id <> $id
            GROUP BY r.sku
        )
        SELECT (SELECT warehouse_id FROM source), l.sku, l.quantity,
               greatest(coalesce(counted.free, 0) - coalesce(committed.units, 0), 0)
        FROM transfer_order_lines l
        LEFT JOIN counted USING (sku) LEFT JOIN committed USING (sku)
        WHERE l.transfer_id = $id
        ORDER BY l.sku
        """,
        {"id": transfer_id, "as_of": date.max},
    ).fetchall()
    short = [
        f"{sku!r}: {quantities.get(sku, quantity)} asked, {free} free at {source}"
        for source, sku, quantity, free in rows
        if quantities.get(sku, quantity) > free
    ]
    if short:
        raise TransferError(
            f"{transfer_id}: more than the source has free (on hand − reserved − released "
            f"orders not yet shipped): " + "; ".join(short)
        )


def free_at_sources(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """Units free per (warehouse, sku) at every DC and every source of the run's transfers.

    Free is what a release is checked against (:func:`_check_source_stock`): on
    hand − reserved at the latest count, less the lines of released orders due
    after it. Only positive figures are listed (absent: nothing free). The
    operational store keeps these for the day's releases (``ops.workflow``).
    """
    committed = RELEASED_AFTER_COUNT.format(side="from")
    return con.sql(
        f"""
        WITH sources AS (
            SELECT from_warehouse_id AS warehouse_id FROM transfer_orders WHERE run_id = $run
            UNION SELECT warehouse_id FROM warehouses WHERE kind = 'dc'
        ), counted AS (
            SELECT s.warehouse_id, s.sku, s.on_hand - s.reserved AS free
            FROM stock_levels s JOIN sources USING (warehouse_id)
            QUALIFY row_number() OVER (PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        ), committed AS (
            SELECT from_warehouse_id AS warehouse_id, sku, sum(units) AS units
            FROM ({committed}) GROUP BY ALL
        )
        SELECT warehouse_id, sku, (free - coalesce(units, 0))::BIGINT AS free
        FROM counted LEFT JOIN committed USING (warehouse_id, sku)
        WHERE free - coalesce(units, 0) > 0
        ORDER BY warehouse_id, sku
        """,
        params={"run": run_id, "as_of": date.max},
    ).pl()
