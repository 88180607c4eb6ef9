"""The DC's purchase orders and plan, read from the published snapshot."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from optimization.replenishment.dc_demand import DC_DEMAND
from optimization.replenishment.planning import NETWORK_PLAN
from optimization.replenishment.purchasing import plan_purchases, purchase_orders
from tests.warehouse.test_purchasing import AS_OF, _master
from warehouse import published, purchasing, runs
from warehouse.plan import NightTables, publish_snapshot, write_plan
from warehouse.schema import connect


def test_the_snapshot_serves_tonights_purchase_orders_and_plan(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    _master(con)
    run_id = runs.start_run(con, "nightly", AS_OF, {"history_days": 30})
    demand = pl.DataFrame(
        [("DC01", sku, 10.0, 1.0) for sku in ("A", "B", "C")], schema=DC_DEMAND, orient="row"
    )
    plan = plan_purchases(
        demand, purchasing.dc_positions(con, AS_OF), purchasing.supply_terms(con), AS_OF
    )
    orders = purchase_orders(plan, run_id)
    tables = NightTables(
        pl.DataFrame(schema=dict.fromkeys(["warehouse_id", "sku"], pl.String)),
        NETWORK_PLAN.to_frame(),
        purchases=orders,
        purchase_plan=plan,
    )
    write_plan(con, run_id, tables, {})
    publish_snapshot(con, run_id, tmp_path / "pub")
    con.close()
    with published.open_snapshot(tmp_path / "pub") as snap:
        listed = published.purchase_orders(snap, dc_id="DC01")
        first = published.purchase_order(snap, str(listed.rows["po_id"][0]))
        no_supplier = published.purchase_plan(snap, "DC01", action="no_supplier")
        missing = published.purchase_order(snap, "nope")
    assert listed.rows.schema == published.PURCHASE_ORDER_LIST
    assert listed.rows.height == orders.headers.height > 0
    assert listed.rows["units"].sum() == orders.lines["quantity"].sum()
    assert first is not None and first.lines.schema == published.PURCHASE_ORDER_LINES
    assert first.history["status"].to_list() == ["proposed"]
    assert no_supplier.rows.schema == published.PURCHASE_PLAN_LINES
    assert no_supplier.rows["sku"].to_list() == ["C"]
    assert missing is None
