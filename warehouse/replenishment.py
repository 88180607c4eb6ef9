"""What replenishment reads: stock positions, SKU policy data, DC stock, shelves, targets.

Each query returns a polars frame with exactly the schema the pure code in
``optimization`` declares; tests check it. Choices made here:

* **Stock** is the latest ``stock_levels`` row on or before the planning day.
* **Released transfers** move stock on their ``needed_by`` day: a count
  taken before that day still has the units at the source and not at the
  destination (the rule :func:`warehouse.transfers.store_availability`
  uses). So the lines of released orders due after a warehouse's latest
  count are taken off its source's free stock (:func:`dc_stock`) and added to
  the destination's ``in_transit`` (:func:`stock_positions`): tonight's plan
  neither spends DC stock a planner already released nor orders it again.
  A released pull-back leaves the warehouse's ``on_hand`` the same way.
* **Committed**: the units of completed order lines a warehouse's latest count
  cannot have seen, sold after it (demand day after the warehouse's latest
  count day, up to the planning day). They are off the shelf, or promised,
  while the count still has them: orders placed through the API today, read
  from the operational store tonight, when today's count is not in yet (the
  API's availability takes them off the same way, ``ops.reservations``). The
  count day is the warehouse's, not the pair's: a change log has no row for a
  pair whose level did not change, and its level still holds that day.
  What the count itself holds back for stores is its ``reserved``.
* **Last movement** of a series is its last completed sale on or before the
  planning day; a series never sold counts as idle since the first day of
  history (the most that can be said of it).
* **Last receipt** of a series is the latest due day of a released transfer
  line bringing it units (the pull-back guard: what was sent recently is not
  sent back).
* **Weight** of a served unit is the SKU's margin (price − cost, at least 1 %
  of the price, so a loss-making part still counts).
* **Supply terms** come from ``sku_supply``; a SKU without a row is bought in
  cases of ``skus.pack_size``, MOQ one case, and moves in ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import polars as pl

from optimization.replenishment.planning import NETWORK_DC_STOCK, NETWORK_SHELF
from optimization.replenishment.policy import POSITIONS, SERVICE_TARGETS, SKU_POLICY
from optimization.replenishment.service import ServiceTarget
from optimization.replenishment.stocking import STOCKING_OVERRIDES
from optimization.routing.linehaul import SITES
from warehouse.transfers import RELEASED_AFTER_COUNT


def stock_positions(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """``POSITIONS`` of every forward-warehouse series with a count on or before ``as_of``.

    A series with no count yet but a released transfer on its way (a SKU
    stocked there for the first time) has a position too: 0 on hand, the
    transfer in transit. Released pull-backs not yet counted are taken off
    ``on_hand``: the count still has them on the shelf.
    """
    arriving = RELEASED_AFTER_COUNT.format(side="to")
    leaving = RELEASED_AFTER_COUNT.format(side="from")
    frame = con.sql(
        f"""
        WITH stock AS (
            SELECT s.warehouse_id, s.sku, s.on_hand, s.in_transit, s.reserved
            FROM stock_levels s JOIN warehouses w USING (warehouse_id)
            WHERE w.kind = 'forward' AND s.as_of <= $as_of
            QUALIFY row_number() OVER (
                PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        ), sold AS (
            SELECT warehouse_id, sku, max(demand_date) AS last_sale
            FROM order_lines
            WHERE status = 'completed' AND demand_date <= $as_of
            GROUP BY ALL
        ), forward AS (
            SELECT warehouse_id FROM warehouses WHERE kind = 'forward'
        ), counted AS (
            SELECT s.warehouse_id, max(s.as_of) AS counted_on
            FROM stock_levels s JOIN forward USING (warehouse_id)
            WHERE s.as_of <= $as_of
            GROUP BY ALL
        ), committed AS (
            SELECT l.warehouse_id, l.sku, sum(l.quantity) AS units
            FROM order_lines l JOIN counted USING (warehouse_id)
            WHERE l.status = 'completed' AND l.demand_date > counted.counted_on
              AND l.demand_date <= $as_of
            GROUP BY ALL
        ), arriving AS (
            SELECT to_warehouse_id AS warehouse_id, sku, sum(units) AS units
            FROM ({arriving}) a JOIN forward ON forward.warehouse_id = a.to_warehouse_id
            GROUP BY ALL
        ), leaving AS (
            SELECT from_warehouse_id AS warehouse_id, sku, sum(units) AS units
            FROM ({leaving}) GROUP BY ALL
        ), received AS (
            SELECT o.to_warehouse_id AS warehouse_id, l.sku, max(o.needed_by) AS last_receipt
            FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
            WHERE o.status = 'released' AND l.quantity > 0
            GROUP BY ALL
        )
        SELECT warehouse_id, sku,
               greatest(coalesce(stock.on_hand, 0) - coalesce(leaving.units, 0), 0) AS on_hand,
               coalesce(stock.in_transit, 0) + coalesce(arriving.units, 0) AS in_transit,
               coalesce(stock.reserved, 0) AS reserved,
               coalesce(committed.units, 0) AS committed,
               coalesce(sold.last_sale,
                        (SELECT min(demand_date) FROM order_lines)) AS last_movement,
               received.last_receipt
        FROM stock FULL JOIN arriving USING (warehouse_id, sku)
        LEFT JOIN leaving USING (warehouse_id, sku)
        LEFT JOIN committed USING (warehouse_id, sku)
        LEFT JOIN sold USING (warehouse_id, sku)
        LEFT JOIN received USING (warehouse_id, sku)
        ORDER BY warehouse_id, sku
        """,
        params={"as_of": as_of},
    ).pl()
    return frame.select(POSITIONS.names()).cast(POSITIONS)


def sku_policy(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``SKU_POLICY`` from the SKU master and its supply terms (``sku_supply``)."""
    frame = con.sql(
        """
        SELECT s.sku, s.category, coalesce(t.case_pack, s.pack_size) AS pack_size,
               coalesce(t.moq, s.pack_size) AS moq,
               coalesce(t.sales_multiple, 1) AS sales_multiple,
               s.lead_time_days, s.do_not_stock,
               s.unit_volume_l, s.unit_cost::DOUBLE AS unit_cost,
               greatest(s.unit_price - s.unit_cost, 0.01 * s.unit_price, 0.01)::DOUBLE AS weight
        FROM skus s LEFT JOIN sku_supply t USING (sku) ORDER BY s.sku
        """
    ).pl()
    return frame.select(SKU_POLICY.names()).cast(SKU_POLICY)


def dc_stock(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """``NETWORK_DC_STOCK``: free stock at each DC (latest count on or before ``as_of``).

    Free is on hand − reserved − the lines of released transfers out of the
    DC due after its count (see the module docstring). Stock in transit to
    the DC is not free tonight and is left out.
    """
    leaving = RELEASED_AFTER_COUNT.format(side="from")
    frame = con.sql(
        f"""
        WITH stock AS (
            SELECT s.warehouse_id, s.sku, s.on_hand - s.reserved AS free
            FROM stock_levels s JOIN warehouses w USING (warehouse_id)
            WHERE w.kind = 'dc' AND s.as_of <= $as_of
            QUALIFY row_number() OVER (
                PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        ), leaving AS (
            SELECT from_warehouse_id AS warehouse_id, sku, sum(units) AS units
            FROM ({leaving}) GROUP BY ALL
        )
        SELECT stock.warehouse_id AS dc_id, stock.sku,
               greatest(stock.free - coalesce(leaving.units, 0), 0) AS available
        FROM stock LEFT JOIN leaving USING (warehouse_id, sku)
        ORDER BY dc_id, sku
        """,
        params={"as_of": as_of},
    ).pl()
    return frame.cast(NETWORK_DC_STOCK)


def network_shelf(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``NETWORK_SHELF``: every forward warehouse, its DC and its shelf volume."""
    frame = con.sql(
        """
        SELECT warehouse_id, parent_warehouse_id AS dc_id, shelf_capacity_l AS capacity_l
        FROM warehouses WHERE kind = 'forward' ORDER BY warehouse_id
        """
    ).pl()
    return frame.cast(NETWORK_SHELF)


def warehouse_sites(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``SITES``: where every warehouse (DC and forward) is."""
    frame = con.sql("SELECT warehouse_id, lat, lon FROM warehouses ORDER BY warehouse_id").pl()
    return frame.cast(SITES)


def stocking_overrides(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``STOCKING_OVERRIDES``: the planners' pins (hold here) and exclusions."""
    frame = con.sql(
        "SELECT warehouse_id, sku, stock, reason FROM stocking_overrides ORDER BY ALL"
    ).pl()
    return frame.cast(STOCKING_OVERRIDES)


def service_targets(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``SERVICE_TARGETS``: what planners have set per SKU or category."""
    frame = con.sql("SELECT scope, key, kind, level FROM service_targets ORDER BY scope, key").pl()
    return frame.cast(SERVICE_TARGETS)


def set_service_target(
    con: duckdb.DuckDBPyConnection,
    scope: str,
    key: str,
    target: ServiceTarget | None,
    changed_by: str,
) -> None:
    """Set (or with ``target=None`` remove) a planner's target for a SKU or a category.

    Raises
    ------
    ValueError
        If ``scope`` is not ``sku`` or ``category``, or the SKU or category is unknown.
    """
    if scope not in ("sku", "category"):
        raise ValueError(f"target scope must be 'sku' or 'category', got {scope!r}")
    column = "sku" if scope == "sku" else "category"
    known = con.execute(f"SELECT count(*) FROM skus WHERE {column} = ?", [key]).fetchall()[0][0]
    if not known:
        raise ValueError(f"unknown {column} {key!r}")
    if target is None:
        con.execute("DELETE FROM service_targets WHERE scope = ? AND key = ?", [scope, key])
        return
    con.execute(
        "INSERT OR REPLACE INTO service_targets VALUES (?, ?, ?, ?, ?, ?)",
        [scope, key, target.kind, target.level, datetime.now(UTC), changed_by],
    )
