"""The DC's purchasing in the database: what it reads, tonight's orders and their workflow.

Reads, in the schemas :mod:`optimization.replenishment.purchasing` declares:

* **Supply terms** (:func:`supply_terms`): every SKU with its ``sku_supply``
  row and supplier; a SKU without a row is bought in cases of its
  ``skus.pack_size`` with an MOQ of one case and has no supplier (so it is
  listed as not orderable), as migration 0007 says.
* **DC positions** (:func:`dc_positions`): the latest count on or before the
  planning day, and what released orders will change that the count cannot
  show yet. As for transfers (``warehouse.transfers.RELEASED_AFTER_COUNT``), a
  released order moves stock on its day: a purchase order on its
  ``expected_on`` (:data:`RELEASED_PO_AFTER_COUNT`), a transfer on its
  ``needed_by``. So purchase orders and pull-backs due after the DC's latest
  count are on their way in, and transfers to the forward warehouses due after
  it still sit in the count but are spoken for (``warehouse.replenishment.dc_stock``
  takes them off the free stock the same way). The count's own ``in_transit``
  is left out: the released purchase orders are the record of what is coming,
  and a count listing their shipments too would count them twice.

Writes: tonight's orders (:func:`write_purchase_orders`) and the planner's
workflow (:mod:`warehouse.workflow`: approve, override, release, cancel). What
is particular to purchase orders: a quantity must be 0 or a whole number of
the supplier's cases at or above its MOQ (the supplier refuses anything
else), and an order whose lines are all 0 cannot be released (cancel it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from optimization.replenishment.purchasing import DC_POSITIONS, SUPPLY_TERMS, PurchaseOrders
from warehouse import workflow
from warehouse.frames import registered
from warehouse.transfers import RELEASED_AFTER_COUNT
from warehouse.workflow import OrderBook, WorkflowError

#: Lines of released purchase orders that the DC's latest count (on or before
#: ``$as_of``) cannot include yet: due after that count. Columns ``po_id,
#: supplier_id, dc_id, sku, units, expected_on``.
RELEASED_PO_AFTER_COUNT = """
    SELECT o.po_id, o.supplier_id, o.dc_id, l.sku, l.quantity AS units, o.expected_on
    FROM purchase_orders o JOIN purchase_order_lines l USING (po_id)
    LEFT JOIN (
        SELECT warehouse_id, max(as_of) AS day FROM stock_levels
        WHERE as_of <= $as_of GROUP BY warehouse_id
    ) counted ON counted.warehouse_id = o.dc_id
    WHERE o.status = 'released' AND l.quantity > 0
      AND o.expected_on > coalesce(counted.day, DATE '1900-01-01')
"""

#: One row per purchase order, as :func:`list_orders` returns them.
ORDER_LIST = pl.Schema(
    {
        "po_id": pl.String(),
        "status": pl.String(),
        "supplier_id": pl.String(),
        "dc_id": pl.String(),
        "expected_on": pl.Date(),
        "lines": pl.Int64(),
        "units": pl.Int64(),
        "value": pl.Float64(),
        "status_reason": pl.String(),
    }
)

#: An order's lines, as :func:`order_lines` returns them.
ORDER_LINES = pl.Schema(
    {
        "line_no": pl.Int64(),
        "sku": pl.String(),
        "proposed_quantity": pl.Int64(),
        "quantity": pl.Int64(),
        "unit_cost": pl.Float64(),
        "reason": pl.String(),
    }
)


class PurchaseOrderError(WorkflowError):
    """A purchase-order change that is not allowed (unknown order, wrong status, bad line)."""


#: Where purchase orders live, for :mod:`warehouse.workflow`.
PURCHASES = OrderBook(
    noun="purchase order",
    orders="purchase_orders",
    lines="purchase_order_lines",
    history="purchase_order_status_history",
    key="po_id",
    error=PurchaseOrderError,
)

#: Each SKU's case pack and MOQ (the migration's defaults for a SKU without a row).
_TERMS = """
    SELECT s.sku, ss.supplier_id, coalesce(ss.case_pack, s.pack_size) AS case_pack,
           coalesce(ss.moq, s.pack_size) AS moq, s.unit_cost
    FROM skus s LEFT JOIN sku_supply ss ON ss.sku = s.sku
"""


def supply_terms(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``SUPPLY_TERMS`` of every SKU (module docstring for SKUs without a ``sku_supply`` row)."""
    frame = con.sql(
        f"""
        SELECT t.sku, t.supplier_id, sup.lead_time_days, sup.order_cycle_days,
               t.case_pack, t.moq, t.unit_cost::DOUBLE AS unit_cost
        FROM ({_TERMS}) t LEFT JOIN suppliers sup ON sup.supplier_id = t.supplier_id
        ORDER BY t.sku
        """
    ).pl()
    return frame.select(SUPPLY_TERMS.names()).cast(SUPPLY_TERMS)


def dc_positions(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """``DC_POSITIONS`` of every DC and SKU with a count or a released order on its way.

    ``on_hand`` and ``reserved`` come from the latest row on or before
    ``as_of``; ``on_order``, ``pull_backs`` and ``released_out`` sum the lines
    of released orders due after the DC's latest count (module docstring).
    """
    arriving = RELEASED_AFTER_COUNT.format(side="to")
    leaving = RELEASED_AFTER_COUNT.format(side="from")
    frame = con.sql(
        f"""
        WITH dcs AS (
            SELECT warehouse_id AS dc_id FROM warehouses WHERE kind = 'dc'
        ), stock AS (
            SELECT s.warehouse_id AS dc_id, s.sku, s.on_hand, s.reserved
            FROM stock_levels s JOIN dcs ON dcs.dc_id = s.warehouse_id
            WHERE s.as_of <= $as_of
            QUALIFY row_number() OVER (
                PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        ), on_order AS (
            SELECT dc_id, sku, sum(units) AS on_order
            FROM ({RELEASED_PO_AFTER_COUNT}) GROUP BY ALL
        ), pull_backs AS (
            SELECT a.to_warehouse_id AS dc_id, a.sku, sum(a.units) AS pull_backs
            FROM ({arriving}) a JOIN dcs ON dcs.dc_id = a.to_warehouse_id GROUP BY ALL
        ), released_out AS (
            SELECT r.from_warehouse_id AS dc_id, r.sku, sum(r.units) AS released_out
            FROM ({leaving}) r JOIN dcs ON dcs.dc_id = r.from_warehouse_id GROUP BY ALL
        )
        SELECT dc_id, sku, coalesce(on_hand, 0) AS on_hand, coalesce(reserved, 0) AS reserved,
               coalesce(on_order, 0) AS on_order, coalesce(pull_backs, 0) AS pull_backs,
               coalesce(released_out, 0) AS released_out
        FROM stock
        FULL JOIN on_order USING (dc_id, sku)
        FULL JOIN pull_backs USING (dc_id, sku)
        FULL JOIN released_out USING (dc_id, sku)
        ORDER BY dc_id, sku
        """,
        params={"as_of": as_of},
    ).pl()
    return frame.select(DC_POSITIONS.names()).cast(DC_POSITIONS)


def write_purchase_orders(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    orders: PurchaseOrders,
    changed_by: str = "nightly",
) -> int:
    """Insert the run's proposed orders; supersede earlier runs' open ones it reviewed again.

    An open (proposed, approved, overridden) order of an earlier run is
    cancelled when tonight reviewed its (supplier, DC) pair (``orders.reviewed``),
    whether or not tonight orders anything from it: tonight's plan was made
    from stock that order did not change. Orders of suppliers not reviewed
    tonight stay open until their next review day, so a weekly supplier's
    approved order is not lost to the nights between. Orders entered by hand
    (no ``run_id``) are left alone. Call inside the transaction that writes
    the plan (as ``warehouse.transfers.write_transfers``). Returns the number
    of earlier orders superseded.
    """
    now = datetime.now(UTC)
    with registered(con, orders.reviewed) as reviewed:
        superseded = [
            po_id
            for (po_id,) in con.execute(
                f"""
                SELECT o.po_id FROM purchase_orders o
                JOIN {reviewed} r ON r.supplier_id = o.supplier_id AND r.dc_id = o.dc_id
                WHERE o.status IN ('proposed', 'approved', 'overridden')
                  AND o.run_id IS NOT NULL AND o.run_id <> ?
                ORDER BY o.po_id
                """,
                [run_id],
            ).fetchall()
        ]
    count = workflow.supersede(con, PURCHASES, superseded, run_id, changed_by, now)
    workflow.insert_proposed(
        con, PURCHASES, run_id, (orders.headers, orders.lines), changed_by, now
    )
    return count


def approve(con: duckdb.DuckDBPyConnection, po_id: str, changed_by: str) -> None:
    """Approve a proposed order as it stands."""
    workflow.approve(con, PURCHASES, po_id, changed_by)


def override(
    con: duckdb.DuckDBPyConnection,
    po_id: str,
    quantities: Mapping[str, int],
    reason: str,
    changed_by: str,
) -> None:
    """Set the quantity of some lines (by SKU) and mark the order overridden.

    Raises
    ------
    PurchaseOrderError
        Without a reason, for a SKU not on the order, a quantity that is not an
        integer ≥ 0, one the supplier's case pack or MOQ refuses (module
        docstring), or an order that can no longer change.
    """
    workflow.override(con, PURCHASES, po_id, quantities, reason, changed_by, check=_check_terms)


def release(con: duckdb.DuckDBPyConnection, po_id: str, changed_by: str) -> None:
    """Release an approved or overridden order to the supplier, if it orders something."""
    workflow.release(con, PURCHASES, po_id, changed_by, check=_check_release)


def cancel(con: duckdb.DuckDBPyConnection, po_id: str, reason: str, changed_by: str) -> None:
    """Cancel an order that has not been released."""
    workflow.cancel(con, PURCHASES, po_id, reason, changed_by)


def history(con: duckdb.DuckDBPyConnection, po_id: str) -> pl.DataFrame:
    """The order's statuses in order: ``seq, status, reason, changed_by, changed_at``."""
    return workflow.history(con, PURCHASES, po_id)


def list_orders(
    con: duckdb.DuckDBPyConnection, status: str | None = None, dc_id: str | None = None
) -> pl.DataFrame:
    """``ORDER_LIST``: orders (all, or those in ``status`` / of ``dc_id``) with lines, units, ¥."""
    frame = con.sql(
        """
        SELECT o.po_id, o.status, o.supplier_id, o.dc_id, o.expected_on,
               count(l.line_no) AS lines, coalesce(sum(l.quantity), 0) AS units,
               coalesce(sum(l.quantity * l.unit_cost), 0)::DOUBLE AS value, o.status_reason
        FROM purchase_orders o LEFT JOIN purchase_order_lines l USING (po_id)
        WHERE ($status IS NULL OR o.status = $status) AND ($dc IS NULL OR o.dc_id = $dc)
        GROUP BY ALL ORDER BY o.po_id
        """,
        params={"status": status, "dc": dc_id},
    ).pl()
    return frame.cast(ORDER_LIST)


def order_lines(con: duckdb.DuckDBPyConnection, po_id: str) -> pl.DataFrame:
    """``ORDER_LINES`` of one order, by line number (empty for an unknown order)."""
    frame = con.sql(
        "SELECT line_no, sku, proposed_quantity, quantity, unit_cost::DOUBLE AS unit_cost, reason "
        "FROM purchase_order_lines WHERE po_id = ? ORDER BY line_no",
        params=[po_id],
    ).pl()
    return frame.cast(ORDER_LINES)


def _check_terms(con: duckdb.DuckDBPyConnection, po_id: str, quantities: Mapping[str, int]) -> None:
    """Raise unless every line (``quantities`` applied) is 0 or whole cases from the MOQ up."""
    _lines_within_terms(con, po_id, quantities)


def _check_release(
    con: duckdb.DuckDBPyConnection, po_id: str, quantities: Mapping[str, int]
) -> None:
    """Raise if a line breaks the terms (they may have changed) or every line is 0."""
    asked = _lines_within_terms(con, po_id, quantities)
    if not any(asked.values()):
        raise PurchaseOrderError(f"{po_id}: every line is 0, nothing to release; cancel it instead")


def _lines_within_terms(
    con: duckdb.DuckDBPyConnection, po_id: str, quantities: Mapping[str, int]
) -> dict[str, int]:
    """The quantity per SKU after ``quantities``; raise if the supplier's terms refuse one."""
    rows = con.execute(
        f"""
        SELECT l.sku, l.quantity, t.case_pack, t.moq
        FROM purchase_order_lines l JOIN ({_TERMS}) t USING (sku)
        WHERE l.po_id = ? ORDER BY l.sku
        """,
        [po_id],
    ).fetchall()
    asked = {sku: quantities.get(sku, quantity) for sku, quantity, _, _ in rows}
    refused = [
        f"{sku!r}: {asked[sku]} is not 0 or whole cases of {case} from the MOQ {moq}"
        for sku, _, case, moq in rows
        if asked[sku] and (asked[sku] % case or asked[sku] < moq)
    ]
    if refused:
        raise PurchaseOrderError(f"{po_id}: the supplier's terms refuse " + "; ".join(refused))
    return asked


def line_terms(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """``po_id, line_no, case_pack, moq`` of the run's purchase order lines (module docstring)."""
    return con.sql(
        f"""
        SELECT l.po_id, l.line_no, t.case_pack, t.moq
        FROM purchase_order_lines l JOIN purchase_orders o USING (po_id)
        JOIN ({_TERMS}) t USING (sku)
        WHERE o.run_id = ? ORDER BY l.po_id, l.line_no
        """,
        params=[run_id],
    ).pl()
