"""The DC's purchasing in the database: supply terms, DC positions, tonight's orders, workflow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from models.schemas import NETWORK_FORECAST
from optimization.replenishment.purchasing import (
    DC_DEMAND,
    DC_POSITIONS,
    SUPPLY_TERMS,
    PurchasingParams,
    plan_purchases,
    purchase_orders,
)
from optimization.replenishment.service import ServiceTarget
from warehouse import purchasing, runs
from warehouse.frames import transaction
from warehouse.purchasing import PurchaseOrderError
from warehouse.schema import connect

# 2026-11-19 (the order day after AS_OF) is a Thursday: a weekly supplier's review day.
AS_OF = date(2026, 11, 18)
CYCLE_90 = PurchasingParams(ServiceTarget("cycle_service", 0.9))


def _master(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO warehouses VALUES "
        "('DC01', 'dc', 'dc', 31.0, 121.0, 9000, NULL, '2020-01-01'),"
        "('FW001', 'fw', 'forward', 31.1, 121.1, 800, 'DC01', '2020-01-01')"
    )
    # A: case 6, MOQ 12 from S1; B: from S2 (daily); C: no sku_supply row, pack 4.
    con.execute(
        "INSERT INTO skus VALUES "
        "('A', 'a', 'tyres', 't', 'b', 4, 2.5, 100, 130, 1, false, false),"
        "('B', 'b', 'wipers', 'w', 'b', 1, 0.5, 10, 8, 0, false, false),"
        "('C', 'c', 'bulbs', 'l', 'b', 4, 0.1, 3, 5, 0, false, false)"
    )
    con.execute("INSERT INTO suppliers VALUES ('S1', 'tyre co', 10, 7), ('S2', 'wiper co', 3, 1)")
    con.execute("INSERT INTO sku_supply VALUES ('A', 'S1', 6, 12, 2), ('B', 'S2', 10, 10, 1)")
    con.execute(
        "INSERT INTO stock_levels VALUES "
        "('DC01', 'A', '2026-11-01', 99, 0, 0, 'f', now()),"
        "('DC01', 'A', $d, 40, 3, 7, 'f', now()),"
        "('DC01', 'B', $d, 30, 0, 0, 'f', now()),"
        "('DC01', 'A', '2026-11-25', 500, 0, 0, 'f', now()),"  # after the planning day
        "('FW001', 'A', $d, 5, 0, 0, 'f', now())",
        {"d": AS_OF},
    )


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DC and a forward warehouse; three SKUs: weekly S1, daily S2 and one with no supplier."""
    connection = connect(tmp_path / "w.duckdb")
    _master(connection)
    yield connection
    connection.close()


def _night(con: duckdb.DuckDBPyConnection, as_of: date = AS_OF, rate: float = 10.0) -> str:
    """A nightly run that plans A and B at ``rate`` a day each and writes its orders.

    At 10 a day both are short: A needs ~187 for 17 days against 37, B 48 for 4 days against 30.
    """
    run_id = runs.start_run(con, "nightly", as_of)
    demand = pl.DataFrame(
        [("DC01", "A", rate, 1.0), ("DC01", "B", rate, 1.0)], schema=DC_DEMAND, orient="row"
    )
    plan = plan_purchases(
        demand,
        purchasing.dc_positions(con, as_of),
        purchasing.supply_terms(con),
        as_of,
        CYCLE_90,
    )
    with transaction(con):
        purchasing.write_purchase_orders(con, run_id, purchase_orders(plan, run_id))
    return run_id


def _order(con: duckdb.DuckDBPyConnection, run_id: str, supplier: str) -> str:
    found = purchasing.list_orders(con).filter(
        pl.col("po_id").str.starts_with(f"{run_id}/{supplier}>")
    )
    assert found.height == 1
    return str(found["po_id"][0])


def _status(con: duckdb.DuckDBPyConnection, po_id: str) -> str:
    return str(purchasing.list_orders(con).filter(pl.col("po_id") == po_id)["status"][0])


def test_supply_terms_default_to_a_case_of_the_pack_and_no_supplier(
    con: duckdb.DuckDBPyConnection,
) -> None:
    terms = purchasing.supply_terms(con)
    assert terms.schema == SUPPLY_TERMS
    assert terms.rows() == [
        ("A", "S1", 10, 7, 6, 12, 100.0),
        ("B", "S2", 3, 1, 10, 10, 10.0),
        ("C", None, None, None, 4, 4, 3.0),
    ]


def test_dc_positions_add_released_orders_the_latest_count_cannot_show(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = runs.start_run(con, "nightly", AS_OF)
    con.execute(
        "INSERT INTO purchase_orders VALUES "
        "('due-later', $r, 'S1', 'DC01', now(), $later, 'released', NULL),"
        "('in-count', $r, 'S1', 'DC01', now(), $d, 'released', NULL),"
        "('approved', $r, 'S1', 'DC01', now(), $later, 'approved', NULL)",
        {"r": run_id, "d": AS_OF, "later": AS_OF + timedelta(days=5)},
    )
    con.execute(
        "INSERT INTO purchase_order_lines VALUES "
        "('due-later', 1, 'A', 24, 24, 100, 'r'), ('due-later', 2, 'C', 8, 8, 3, 'r'),"
        "('in-count', 1, 'A', 12, 12, 100, 'r'), ('approved', 1, 'A', 36, 36, 100, 'r')"
    )
    tomorrow = AS_OF + timedelta(days=1)
    con.execute(
        "INSERT INTO transfer_orders VALUES "
        "('out', NULL, 'DC01', 'FW001', now(), $t, 'released', NULL),"
        "('back', NULL, 'FW001', 'DC01', now(), $t, 'released', NULL)",
        {"t": tomorrow},
    )
    con.execute(
        "INSERT INTO transfer_order_lines (transfer_id, line_no, sku, proposed_quantity, "
        "quantity, reason) VALUES ('out', 1, 'A', 5, 5, 'r'), ('back', 1, 'B', 2, 2, 'r')"
    )
    positions = purchasing.dc_positions(con, AS_OF)
    assert positions.schema == DC_POSITIONS
    # A: the count of AS_OF (not the later one), 24 on order (the order due on the count day is
    # in it, the approved one not yet placed), 5 released to FW001; B: 2 coming back; C: on order.
    assert positions.rows() == [
        ("DC01", "A", 40, 3, 24, 0, 5),
        ("DC01", "B", 30, 0, 0, 2, 0),
        ("DC01", "C", 0, 0, 8, 0, 0),
    ]


def test_tonights_orders_are_written_proposed_with_lines_and_history(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = _night(con, rate=10.0)
    orders = purchasing.list_orders(con)
    assert orders.select("supplier_id", "dc_id", "status", "expected_on").rows() == [
        ("S1", "DC01", "proposed", AS_OF + timedelta(days=11)),
        ("S2", "DC01", "proposed", AS_OF + timedelta(days=4)),
    ]
    a_order = _order(con, run_id, "S1")
    lines = purchasing.order_lines(con, a_order)
    assert lines.select("line_no", "sku").rows() == [(1, "A")]
    quantity = lines["quantity"][0]
    assert quantity % 6 == 0 and quantity >= 12 and lines["proposed_quantity"][0] == quantity
    assert lines["reason"][0].startswith("network demand 10.00/day over the 17 days")
    steps = purchasing.history(con, a_order)
    assert steps.select("seq", "status", "changed_by").rows() == [(1, "proposed", "nightly")]
    assert steps["reason"][0] == f"nightly plan {run_id}"


def test_a_released_order_is_on_order_the_next_night_and_not_ordered_again(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first = _night(con, rate=10.0)
    order = _order(con, first, "S2")
    quantity = int(purchasing.order_lines(con, order)["quantity"][0])
    purchasing.approve(con, order, "ann")
    purchasing.release(con, order, "ann")
    positions = purchasing.dc_positions(con, AS_OF)
    assert positions.filter(pl.col("sku") == "B")["on_order"].to_list() == [quantity]
    second = _night(con, rate=10.0)
    assert (
        purchasing.list_orders(con)
        .filter(pl.col("po_id").str.starts_with(second))
        .filter(pl.col("supplier_id") == "S2")
        .is_empty()
    )


def test_a_new_night_supersedes_the_open_orders_of_the_suppliers_it_reviews(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first = _night(con, rate=10.0)
    weekly, daily = _order(con, first, "S1"), _order(con, first, "S2")
    purchasing.approve(con, weekly, "ann")
    con.execute(
        "INSERT INTO purchase_orders VALUES "
        "('by-hand', NULL, 'S2', 'DC01', now(), '2026-11-30', 'approved', NULL)"
    )
    # The next night is no review day of weekly S1: its approved order stays open; daily S2
    # is reviewed again, so its earlier proposal goes; orders entered by hand are left alone.
    _night(con, as_of=AS_OF + timedelta(days=1), rate=10.0)
    assert _status(con, weekly) == "approved"
    assert _status(con, daily) == "cancelled"
    assert _status(con, "by-hand") == "approved"
    last = purchasing.history(con, daily).row(-1, named=True)
    assert last["reason"].startswith("superseded by run nightly-")
    # A week later S1 is reviewed again: the approved order not released by then goes.
    _night(con, as_of=AS_OF + timedelta(days=7), rate=10.0)
    assert _status(con, weekly) == "cancelled"


def test_an_override_keeps_to_whole_cases_from_the_moq_and_needs_a_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    order = _order(con, _night(con, rate=10.0), "S1")  # A: cases of 6, MOQ 12
    proposed = int(purchasing.order_lines(con, order)["quantity"][0])
    with pytest.raises(PurchaseOrderError, match="an override needs a reason"):
        purchasing.override(con, order, {"A": 18}, " ", "ann")
    with pytest.raises(PurchaseOrderError, match="'B' is not on this order"):
        purchasing.override(con, order, {"B": 10}, "promo", "ann")
    for refused in (16, 6):
        with pytest.raises(
            PurchaseOrderError,
            match=rf"'A': {refused} is not 0 or whole cases of 6 from the MOQ 12",
        ) as error:
            purchasing.override(con, order, {"A": refused}, "promo", "ann")
        assert "\n" not in str(error.value)
    assert _status(con, order) == "proposed"  # refused changes change nothing
    purchasing.override(con, order, {"A": 18}, "tyre promotion", "ann")
    lines = purchasing.order_lines(con, order)
    assert lines.select("proposed_quantity", "quantity").row(0) == (proposed, 18)
    purchasing.release(con, order, "ann")
    assert purchasing.history(con, order)["status"].to_list() == [
        "proposed",
        "overridden",
        "released",
    ]


def test_an_order_with_nothing_left_to_buy_cannot_be_released(
    con: duckdb.DuckDBPyConnection,
) -> None:
    order = _order(con, _night(con, rate=10.0), "S1")
    purchasing.override(con, order, {"A": 0}, "enough tyres", "ann")
    with pytest.raises(PurchaseOrderError, match="every line is 0, nothing to release"):
        purchasing.release(con, order, "ann")
    assert _status(con, order) == "overridden"
    purchasing.cancel(con, order, "enough tyres", "ann")
    assert _status(con, order) == "cancelled"


def test_steps_outside_the_workflow_are_refused_in_one_line(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(PurchaseOrderError, match="unknown purchase order 'nope'"):
        purchasing.approve(con, "nope", "ann")
    order = _order(con, _night(con, rate=10.0), "S2")
    with pytest.raises(PurchaseOrderError, match="cannot go from proposed to released"):
        purchasing.release(con, order, "ann")
    purchasing.approve(con, order, "ann")
    purchasing.release(con, order, "ann")
    with pytest.raises(PurchaseOrderError, match="a cancellation needs a reason"):
        purchasing.cancel(con, order, "", "ann")
    with pytest.raises(PurchaseOrderError, match="cannot go from released to cancelled"):
        purchasing.cancel(con, order, "too late", "ann")


def test_orders_are_listed_by_status_and_dc_with_units_and_value(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = _night(con, rate=10.0)
    order = _order(con, run_id, "S2")
    purchasing.approve(con, order, "ann")
    approved = purchasing.list_orders(con, status="approved")
    assert approved["po_id"].to_list() == [order]
    row = approved.row(0, named=True)
    line = purchasing.order_lines(con, order).row(0, named=True)
    assert (row["lines"], row["units"]) == (1, line["quantity"])
    assert row["value"] == pytest.approx(line["quantity"] * 10.0)
    assert purchasing.list_orders(con, dc_id="FW001").is_empty()


def test_the_whole_purchase_plan_is_written_with_the_night(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from optimization.replenishment.planning import NETWORK_PLAN
    from warehouse.plan import NightTables, write_plan

    run_id = runs.start_run(con, "nightly", AS_OF)
    demand = pl.DataFrame(
        [("DC01", sku, 10.0, 1.0) for sku in ("A", "B", "C")], schema=DC_DEMAND, orient="row"
    )
    plan = plan_purchases(
        demand, purchasing.dc_positions(con, AS_OF), purchasing.supply_terms(con), AS_OF
    )
    tables = NightTables(
        pl.DataFrame(schema=NETWORK_FORECAST),
        NETWORK_PLAN.to_frame(),
        purchases=purchase_orders(plan, run_id),
        purchase_plan=plan,
    )
    write_plan(con, run_id, tables, {})
    stored = con.sql(
        "SELECT sku, action, quantity, reason FROM purchase_plan WHERE run_id = ? ORDER BY sku",
        params=[run_id],
    ).pl()
    assert stored["sku"].to_list() == ["A", "B", "C"]
    assert stored.filter(pl.col("sku") == "C")["action"].to_list() == ["no_supplier"]
    ordered = stored.filter(pl.col("action") == "order")
    lines = purchasing.list_orders(con)["units"].sum()
    assert ordered["quantity"].sum() == lines > 0
