"""The closed loop's reads and writes on a real DuckDB file: one DC, one forward warehouse,
two SKUs, an order a day from the 18th to the 22nd of November, a return, a few counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from optimization.evaluation.closed_loop import (
    DEMAND_STATE,
    MOVES,
    PURCHASES,
    RETURNS,
    SITES,
    STOCK,
    TRANSFERS,
)
from optimization.replenishment.planning import TRANSFER_LINES, TRANSFER_ORDERS
from optimization.replenishment.purchasing import (
    PURCHASE_LINES,
    PURCHASE_ORDERS,
    REVIEWED,
    PurchaseOrders,
)
from warehouse import purchasing, runs, simulation, transfers
from warehouse.frames import transaction
from warehouse.schema import connect

SPLIT = date(2026, 11, 20)
DAYS = [SPLIT + timedelta(days=d) for d in range(-2, 3)]  # the 18th .. the 22nd


def _network(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO warehouses VALUES "
        "('DC01', 'dc', 'dc', 31.0, 121.0, 9000, NULL, '2020-01-01'),"
        "('FW001', 'fw', 'forward', 31.1, 121.1, 800, 'DC01', '2020-01-01')"
    )
    con.execute("INSERT INTO stores VALUES ('S1', 's', 31.1, 121.1, 'FW001', '2020-01-01', false)")
    con.execute(
        "INSERT INTO skus VALUES "
        "('A', 'a', 'tyres', 't', 'b', 4, 2.5, 100, 130, 0, false, false),"
        "('B', 'b', 'wipers', 'w', 'b', 1, 0.5, 10, 14, 0, false, false)"
    )
    con.execute("INSERT INTO suppliers VALUES ('S1', 'tyre co', 5, 7)")
    con.execute("INSERT INTO sku_supply VALUES ('A', 'S1', 4, 4, 2)")
    for n, day in enumerate(DAYS, start=1):
        at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
        con.execute(
            "INSERT INTO orders VALUES (?, 'S1', 'FW001', 'store', ?, ?, NULL)", [f"O{n}", at, day]
        )
        con.execute(
            "INSERT INTO order_lines VALUES (?, 1, ?, ?, 'S1', 'FW001', 'A', ?, 130, 'store', "
            "'completed', NULL, 'f', now())",
            [f"O{n}", at, day, n],
        )
        con.execute(
            "INSERT INTO order_line_status_history VALUES (?, 1, 1, 'completed', ?, 'f')",
            [f"O{n}", at],
        )
    # O1 (the 18th) comes back on the 21st; O4 (the 21st) on the 22nd.
    con.execute(
        "INSERT INTO returns VALUES "
        "('R1', 'O1', 1, 'S1', 'A', 1, '2026-11-21 03:00+00', '2026-11-21', 'unused', 'f', now()),"
        "('R2', 'O4', 1, 'S1', 'A', 2, '2026-11-22 03:00+00', '2026-11-22', 'defective', 'f',"
        " now())"
    )
    con.execute(
        "INSERT INTO stock_levels VALUES "
        "('FW001', 'A', '2026-11-18', 9, 0, 0, 'f', now()),"
        "('FW001', 'A', '2026-11-20', 6, 0, 0, 'f', now()),"
        "('DC01', 'A', '2026-11-20', 40, 3, 12, 'f', now()),"
        "('DC01', 'B', '2026-11-19', 30, 0, 0, 'f', now()),"
        "('FW001', 'A', '2026-11-21', 2, 0, 0, 'f', now())"
    )


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    _network(connection)
    yield connection
    connection.close()


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_the_future_leaves_the_copy_and_comes_back_day_by_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = con.sql("SELECT * FROM order_lines ORDER BY order_id").pl()
    future = simulation.detach_future(con, SPLIT)
    assert future.days() == DAYS[3:]
    assert set(future.returns["return_id"]) == {"R1", "R2"}  # R1's line is older, its day not
    assert con.execute("SELECT max(demand_date) FROM order_lines").fetchall()[0][0] == SPLIT
    assert con.execute("SELECT max(as_of) FROM stock_levels").fetchall()[0][0] == SPLIT
    assert _count(con, "returns") == 0
    for day in future.days():
        simulation.insert_day(con, future, day)
    after = con.sql("SELECT * FROM order_lines ORDER BY order_id").pl()
    assert after.equals(before)
    assert (_count(con, "returns"), _count(con, "order_line_status_history")) == (2, 5)


def test_returns_come_back_at_the_warehouse_that_served_the_line(
    con: duckdb.DuckDBPyConnection,
) -> None:
    back = simulation.returns_on(con, date(2026, 11, 21))
    assert back.schema == RETURNS
    assert back.rows() == [("FW001", "A", 1, "unused")]


def test_a_replay_moves_the_last_weeks_forward_and_changes_nothing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    last = DAYS[-1]
    future = simulation.replay_future(con, last, nights=2, shift=3)
    # Days 23 and 24 replay the 20th and 21st.
    assert future.days() == [last + timedelta(days=1), last + timedelta(days=2)]
    assert future.lines["order_id"].to_list() == ["O3+3d", "O4+3d"]
    assert future.lines["quantity"].to_list() == [3, 4]
    assert future.returns["return_id"].to_list() == []  # R2 would come back on the 25th
    assert _count(con, "order_lines") == 5
    with pytest.raises(ValueError, match="must cover"):
        simulation.replay_future(con, last, nights=4, shift=3)


def test_counts_are_written_and_read_back_as_the_latest_level(
    con: duckdb.DuckDBPyConnection,
) -> None:
    day = date(2026, 11, 22)
    simulation.write_counts(
        con, day, pl.DataFrame([("FW001", "A", 5, 0)], schema=STOCK, orient="row")
    )
    state = simulation.stock_state(con, day)
    assert state.schema == STOCK
    assert state.rows() == [("DC01", "A", 40, 3), ("DC01", "B", 30, 0), ("FW001", "A", 5, 0)]
    in_transit = con.execute(
        "SELECT in_transit, source_file FROM stock_levels WHERE as_of = ?", [day]
    ).fetchall()
    assert in_transit == [(0, simulation.SOURCE)]


def test_the_dcs_open_supplier_orders_become_released_purchase_orders(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert simulation.seed_open_purchases(con, SPLIT) == 1
    # Lead time 5: due halfway, on the 23rd; the nightly sees it on order.
    incoming, bought = simulation.due(con, date(2026, 11, 23))
    assert incoming.is_empty()
    assert bought.rows() == [("DC01", "A", 12, 100.0, date(2026, 11, 23))]
    positions = purchasing.dc_positions(con, SPLIT)
    assert positions.filter(pl.col("sku") == "A")["on_order"].to_list() == [12]
    assert simulation.seed_open_purchases(con, SPLIT) == 0  # already recorded


def _propose(con: duckdb.DuckDBPyConnection, quantity: int) -> str:
    run_id = runs.start_run(con, "nightly", SPLIT)
    tomorrow = SPLIT + timedelta(days=1)
    transfer = f"{run_id}/DC01>FW001/20261121"
    po = f"{run_id}/S1>DC01/20261126"
    orders = PurchaseOrders(
        pl.DataFrame(
            [(po, "S1", "DC01", date(2026, 11, 26))], schema=PURCHASE_ORDERS, orient="row"
        ),
        pl.DataFrame([(po, 1, "A", 8, 8, 100.0, "why")], schema=PURCHASE_LINES, orient="row"),
        pl.DataFrame([("S1", "DC01")], schema=REVIEWED, orient="row"),
    )
    with transaction(con):
        transfers.write_transfers(
            con,
            run_id,
            pl.DataFrame(
                [(transfer, "DC01", "FW001", tomorrow)], schema=TRANSFER_ORDERS, orient="row"
            ),
            pl.DataFrame(
                [(transfer, 1, "A", quantity, quantity, quantity, "why")],
                schema=TRANSFER_LINES,
                orient="row",
            ),
        )
        purchasing.write_purchase_orders(con, run_id, orders)
    return run_id


def test_the_planner_signs_and_releases_everything_the_night_proposed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = _propose(con, 4)
    released = simulation.release_run(con, run_id)
    assert released.refused == ()
    assert released.transfers.schema == TRANSFERS
    assert released.transfers.rows() == [("DC01", "FW001", "A", 4, date(2026, 11, 21))]
    assert released.purchases.schema == PURCHASES
    assert released.purchases.rows() == [("DC01", "A", 8, 100.0, date(2026, 11, 26))]
    # Due tomorrow: spoken for at the DC tonight, arriving in the morning.
    assert simulation.spoken_for(con, SPLIT).rows() == [("DC01", "A", 4)]
    assert simulation.spoken_for(con, SPLIT).schema == MOVES
    assert simulation.due(con, date(2026, 11, 21))[0].height == 1


def test_an_order_the_workflow_refuses_is_cancelled_with_its_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = _propose(con, 99)  # the DC has 37 free
    released = simulation.release_run(con, run_id)
    assert len(released.refused) == 1
    assert "more than the source has free" in released.refused[0]
    assert released.transfers.is_empty()
    status = con.execute(
        "SELECT status, status_reason FROM transfer_orders WHERE run_id = ?", [run_id]
    ).fetchall()[0]
    assert status[0] == "cancelled"
    assert status[1].startswith("refused at release")


def test_demand_state_counts_the_window_and_the_last_sale(con: duckdb.DuckDBPyConnection) -> None:
    state = simulation.demand_state(con, SPLIT, window_days=2)
    assert state.schema == DEMAND_STATE
    assert state.rows() == [("FW001", "A", 2 + 3, SPLIT)]


def test_the_network_lists_each_sites_dc_and_the_first_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    sites, costs, first = simulation.network(con)
    assert sites.schema == SITES
    assert sites.rows() == [("DC01", "dc", "DC01"), ("FW001", "forward", "DC01")]
    assert costs.rows() == [("A", 100.0), ("B", 10.0)]
    assert first == DAYS[0]
