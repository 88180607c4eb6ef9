"""What replenishment reads from the database, in the schemas the pure code declares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from optimization.replenishment.planning import NETWORK_DC_STOCK, NETWORK_SHELF
from optimization.replenishment.policy import POSITIONS, SERVICE_TARGETS, SKU_POLICY
from optimization.replenishment.service import ServiceTarget
from optimization.replenishment.stocking import STOCKING_OVERRIDES
from warehouse import replenishment
from warehouse.schema import connect

AS_OF = date(2026, 11, 20)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    connection.execute(
        "INSERT INTO warehouses VALUES "
        "('DC01', 'dc', 'dc', 31.0, 121.0, 9000, NULL, '2020-01-01'),"
        "('FW001', 'fw', 'forward', 31.1, 121.1, 800, 'DC01', '2020-01-01')"
    )
    connection.execute(
        "INSERT INTO skus VALUES "
        "('A', 'a', 'tyres', 't', 'b', 4, 2.5, 100, 130, 1, false, false),"
        "('B', 'b', 'wipers', 'w', 'b', 1, 0.5, 10, 8, 0, false, true)"
    )
    connection.execute(
        "INSERT INTO stores VALUES ('S1', 's', 31.1, 121.1, 'FW001', ?, false)", [AS_OF]
    )
    connection.execute(
        "INSERT INTO stock_levels VALUES "
        "('FW001', 'A', '2026-11-01', 9, 0, 0, 'f', now()),"
        "('FW001', 'A', $d, 5, 1, 2, 'f', now()),"
        "('FW001', 'B', $d, 3, 0, 0, 'f', now()),"
        "('FW001', 'A', '2026-11-25', 99, 0, 0, 'f', now()),"  # after the planning day
        "('DC01', 'A', $d, 40, 50, 7, 'f', now()),"
        "('DC01', 'B', $d, 30, 4, 0, 'f', now())",
        {"d": AS_OF},
    )
    connection.execute(
        "INSERT INTO orders VALUES ('O1', 'S1', 'FW001', 'store', ?, ?, NULL)",
        [datetime(2026, 11, 10, 9), AS_OF],
    )
    yield connection
    connection.close()


def _sell(con: duckdb.DuckDBPyConnection, line: int, sku: str, day: date) -> None:
    con.execute(
        "INSERT INTO order_lines VALUES ('O1', ?, ?, ?, 'S1', 'FW001', ?, 1, 10, 'store',"
        " 'completed', NULL, 'f', now())",
        [line, datetime(day.year, day.month, day.day, 9), day, sku],
    )


def test_positions_take_the_latest_count_and_the_last_sale(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _sell(con, 1, "A", date(2026, 8, 1))
    _sell(con, 2, "A", date(2026, 11, 10))
    positions = replenishment.stock_positions(con, AS_OF)
    assert positions.schema == POSITIONS
    rows = {r["sku"]: r for r in positions.iter_rows(named=True)}
    assert (rows["A"]["on_hand"], rows["A"]["reserved"], rows["A"]["in_transit"]) == (5, 1, 2)
    assert rows["A"]["committed"] == 0
    assert rows["A"]["last_movement"] == date(2026, 11, 10)
    # Never sold: idle since the first day of history.
    assert rows["B"]["last_movement"] == date(2026, 8, 1)


def test_units_sold_after_the_warehouses_latest_count_are_committed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # FW001 was last counted on the 20th (B's level, unchanged, still holds that day).
    _sell(con, 1, "A", AS_OF)  # on the count day: the count has it
    _sell(con, 2, "B", date(2026, 11, 21))  # after it: not in any count yet
    _sell(con, 3, "B", date(2026, 11, 22))
    _sell(con, 4, "B", date(2026, 11, 23))  # after the planning day below
    con.execute(
        "INSERT INTO order_lines VALUES ('O1', 5, ?, ?, 'S1', 'FW001', 'B', 4, 10, 'store',"
        " 'cancelled', NULL, 'f', now())",
        [datetime(2026, 11, 21, 9), date(2026, 11, 21)],
    )
    rows = {
        r["sku"]: r
        for r in replenishment.stock_positions(con, date(2026, 11, 22)).iter_rows(named=True)
    }
    assert (rows["A"]["committed"], rows["B"]["committed"]) == (0, 2)
    assert (rows["B"]["on_hand"], rows["B"]["reserved"]) == (3, 0)  # the count's own figures
    # Planned on the count day, nothing is past the count.
    assert replenishment.stock_positions(con, AS_OF)["committed"].sum() == 0


def test_sku_policy_weights_units_by_margin(con: duckdb.DuckDBPyConnection) -> None:
    skus = replenishment.sku_policy(con)
    assert skus.schema == SKU_POLICY
    rows = {r["sku"]: r for r in skus.iter_rows(named=True)}
    assert rows["A"]["weight"] == pytest.approx(30.0)
    assert rows["B"]["weight"] == pytest.approx(0.08)  # sold at a loss: 1 % of the price
    assert rows["B"]["do_not_stock"] is True
    # No supply terms: the case of skus.pack_size, MOQ one case, moved in ones.
    assert (rows["A"]["pack_size"], rows["A"]["moq"], rows["A"]["sales_multiple"]) == (4, 4, 1)
    assert rows["A"]["lead_time_days"] == 1


def test_sku_policy_takes_the_supply_terms(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO suppliers VALUES ('SUP1', 'Tyre Co', 12, 7)")
    con.execute("INSERT INTO sku_supply VALUES ('A', 'SUP1', 8, 16, 4)")
    rows = {r["sku"]: r for r in replenishment.sku_policy(con).iter_rows(named=True)}
    assert (rows["A"]["pack_size"], rows["A"]["moq"], rows["A"]["sales_multiple"]) == (8, 16, 4)


def test_stocking_overrides_are_read(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO stocking_overrides VALUES ('FW001', 'B', true, 'launch', now(), 'ann')"
    )
    overrides = replenishment.stocking_overrides(con)
    assert overrides.schema == STOCKING_OVERRIDES
    assert overrides.rows() == [("FW001", "B", True, "launch")]


def test_dc_stock_is_free_stock_and_shelves_name_their_dc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stock = replenishment.dc_stock(con, AS_OF)
    assert stock.schema == NETWORK_DC_STOCK
    assert stock.rows() == [("DC01", "A", 0), ("DC01", "B", 26)]  # reserved above on hand: 0
    shelf = replenishment.network_shelf(con)
    assert shelf.schema == NETWORK_SHELF
    assert shelf.rows() == [("FW001", "DC01", 800.0)]


def _released(
    con: duckdb.DuckDBPyConnection, transfer_id: str, due: date, units: int, sku: str = "B"
) -> None:
    con.execute(
        "INSERT INTO transfer_orders VALUES (?, NULL, 'DC01', 'FW001', now(), ?, 'released', NULL)",
        [transfer_id, due],
    )
    con.execute(
        "INSERT INTO transfer_order_lines VALUES (?, 1, ?, ?, ?, 'why', ?)",
        [transfer_id, sku, units, units, units],
    )


def test_released_transfers_not_yet_counted_leave_the_dc_and_reach_the_warehouse(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _released(con, "due-tomorrow", date(2026, 11, 21), 6)  # after the counts of the 20th
    _released(con, "delivered", AS_OF, 5)  # due on the count day: the counts include it
    assert replenishment.dc_stock(con, AS_OF).rows() == [("DC01", "A", 0), ("DC01", "B", 20)]
    positions = {
        r["sku"]: r for r in replenishment.stock_positions(con, AS_OF).iter_rows(named=True)
    }
    assert (positions["B"]["on_hand"], positions["B"]["in_transit"]) == (3, 6)
    assert positions["A"]["in_transit"] == 2  # other SKUs keep the count's figure
    # The pull-back guard's last receipt: the latest released line bringing units.
    assert positions["B"]["last_receipt"] == date(2026, 11, 21)
    assert positions["A"]["last_receipt"] is None
    # Once a later count exists (the order has moved), it is no longer added on top.
    con.execute(
        "INSERT INTO stock_levels VALUES ('DC01', 'B', '2026-11-21', 24, 4, 0, 'f', now()),"
        " ('FW001', 'B', '2026-11-21', 9, 0, 0, 'f', now())"
    )
    # A SKU stocked at the warehouse for the first time: no count yet, only the transfer.
    con.execute(
        "INSERT INTO skus VALUES ('C', 'c', 'wipers', 'w', 'b', 1, 0.5, 10, 12, 0, false, false)"
    )
    _released(con, "first-stock", date(2026, 11, 22), 4, sku="C")
    first = replenishment.stock_positions(con, AS_OF).filter(sku="C").row(0, named=True)
    assert (first["warehouse_id"], first["on_hand"], first["in_transit"]) == ("FW001", 0, 4)
    # A released pull-back (warehouse → DC) still sits in the warehouse's count.
    con.execute(
        "INSERT INTO transfer_orders VALUES "
        "('back', NULL, 'FW001', 'DC01', now(), '2026-11-21', 'released', NULL)"
    )
    con.execute("INSERT INTO transfer_order_lines VALUES ('back', 1, 'A', 3, 3, 'why', 3)")
    pulled = replenishment.stock_positions(con, AS_OF).filter(sku="A").row(0, named=True)
    assert (pulled["on_hand"], pulled["in_transit"]) == (2, 2)
    assert replenishment.dc_stock(con, AS_OF).filter(sku="A").rows() == [("DC01", "A", 0)]
    later = date(2026, 11, 21)
    assert replenishment.dc_stock(con, later).filter(sku="B").rows() == [("DC01", "B", 20)]
    moved = replenishment.stock_positions(con, later).filter(sku="B").row(0, named=True)
    assert (moved["on_hand"], moved["in_transit"]) == (9, 0)


def test_planner_targets_are_set_replaced_and_removed(con: duckdb.DuckDBPyConnection) -> None:
    replenishment.set_service_target(con, "category", "tyres", ServiceTarget("fill_rate", 0.9), "a")
    replenishment.set_service_target(con, "sku", "B", ServiceTarget("cycle_service", 0.8), "a")
    replenishment.set_service_target(con, "sku", "B", ServiceTarget("fill_rate", 0.97), "b")
    targets = replenishment.service_targets(con)
    assert targets.schema == SERVICE_TARGETS
    assert targets.rows() == [
        ("category", "tyres", "fill_rate", 0.9),
        ("sku", "B", "fill_rate", 0.97),
    ]
    replenishment.set_service_target(con, "sku", "B", None, "b")
    assert replenishment.service_targets(con).height == 1
    replenishment.set_service_target(con, "category", "wipers", ServiceTarget("unit_fill"), "c")
    assert replenishment.service_targets(con).row(1) == ("category", "wipers", "unit_fill", 0.95)
    with pytest.raises(ValueError, match="unknown category 'brakes'"):
        replenishment.set_service_target(con, "category", "brakes", ServiceTarget(), "a")
    with pytest.raises(ValueError, match="scope must be"):
        replenishment.set_service_target(con, "store", "S1", ServiceTarget(), "a")
