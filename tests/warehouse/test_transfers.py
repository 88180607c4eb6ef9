"""Transfer orders in the database: the status workflow, superseding, store availability."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from optimization.replenishment.planning import TRANSFER_LINES, TRANSFER_ORDERS
from warehouse import runs
from warehouse.frames import transaction
from warehouse.schema import connect, migrate
from warehouse.transfers import (
    TransferError,
    approve,
    cancel,
    history,
    override,
    release,
    store_availability,
    write_transfers,
)

AS_OF = date(2026, 11, 20)
TOMORROW = AS_OF + timedelta(days=1)


def _master(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO warehouses VALUES "
        "('DC01', 'dc', 'dc', 31.0, 121.0, 1000, NULL, '2020-01-01'),"
        "('FW001', 'fw', 'forward', 31.1, 121.1, 100, 'DC01', '2020-01-01')"
    )
    con.execute(
        "INSERT INTO skus VALUES "
        "('A', 'a', 'tyres', 't', 'b', 1, 1.0, 1, 2, 0, false, false),"
        "('B', 'b', 'wipers', 'w', 'b', 1, 1.0, 1, 2, 0, false, false)"
    )
    con.execute(
        "INSERT INTO stock_levels VALUES ('DC01', 'A', $d, 22, 2, 0, 'f', now()),"
        " ('DC01', 'B', $d, 20, 0, 0, 'f', now())",
        {"d": AS_OF},
    )


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    _master(connection)
    yield connection
    connection.close()


def _night(con: duckdb.DuckDBPyConnection, quantities: dict[str, int]) -> str:
    run_id = runs.start_run(con, "nightly", AS_OF)
    transfer_id = f"{run_id}/DC01>FW001/20261121"
    headers = pl.DataFrame(
        [(transfer_id, "DC01", "FW001", TOMORROW)], schema=TRANSFER_ORDERS, orient="row"
    )
    lines = pl.DataFrame(
        [(transfer_id, i, sku, q, q, q, "why") for i, (sku, q) in enumerate(quantities.items(), 1)],
        schema=TRANSFER_LINES,
        orient="row",
    )
    with transaction(con):
        write_transfers(con, run_id, headers, lines)
    return transfer_id


def _status(con: duckdb.DuckDBPyConnection, transfer_id: str) -> str:
    rows = con.execute(
        "SELECT status FROM transfer_orders WHERE transfer_id = ?", [transfer_id]
    ).fetchall()
    return str(rows[0][0])


def _quantities(
    con: duckdb.DuckDBPyConnection, transfer_id: str
) -> dict[str, tuple[int | None, int]]:
    rows = con.execute(
        "SELECT sku, allocated_quantity, quantity FROM transfer_order_lines WHERE transfer_id = ?",
        [transfer_id],
    ).fetchall()
    return {sku: (allocated, quantity) for sku, allocated, quantity in rows}


def test_proposed_approved_released_is_recorded_step_by_step(
    con: duckdb.DuckDBPyConnection,
) -> None:
    order = _night(con, {"A": 4})
    assert _status(con, order) == "proposed"
    approve(con, order, "ann")
    release(con, order, "dc-system")
    steps = history(con, order)
    assert steps["status"].to_list() == ["proposed", "approved", "released"]
    assert steps["seq"].to_list() == [1, 2, 3]
    assert steps["changed_by"].to_list() == ["nightly", "ann", "dc-system"]
    assert _status(con, order) == "released"


def test_an_override_changes_quantities_keeps_the_allocation_and_needs_a_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    order = _night(con, {"A": 4, "B": 2})
    with pytest.raises(TransferError, match="needs a reason"):
        override(con, order, {"A": 9}, "  ", "ann")
    with pytest.raises(TransferError, match="'Z' is not on this order"):
        override(con, order, {"Z": 1}, "promo", "ann")
    with pytest.raises(TransferError, match="must be an integer >= 0"):
        override(con, order, {"A": -1}, "promo", "ann")
    assert _status(con, order) == "proposed"  # refused changes change nothing
    override(con, order, {"A": 9}, "tyre promotion on Saturday", "ann")
    assert _quantities(con, order) == {"A": (4, 9), "B": (2, 2)}
    override(con, order, {"B": 0}, "wipers recalled", "bob")  # again, before release
    release(con, order, "dc-system")
    steps = history(con, order)
    assert steps["status"].to_list() == ["proposed", "overridden", "overridden", "released"]
    assert steps["reason"].to_list()[1:3] == ["tyre promotion on Saturday", "wipers recalled"]


@pytest.mark.parametrize(
    ("steps", "refused", "message"),
    [
        ((), release, "cannot go from proposed to released"),
        ((approve, release), approve, "cannot go from released to approved; allowed: nothing"),
    ],
)
def test_transitions_outside_the_workflow_are_refused(
    con: duckdb.DuckDBPyConnection,
    steps: tuple[Callable[[duckdb.DuckDBPyConnection, str, str], None], ...],
    refused: Callable[[duckdb.DuckDBPyConnection, str, str], None],
    message: str,
) -> None:
    order = _night(con, {"A": 1})
    for step in steps:
        step(con, order, "ann")
    with pytest.raises(TransferError, match=message):
        refused(con, order, "ann")


def test_unknown_orders_and_released_cancellations_are_refused(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(TransferError, match="unknown transfer order 'nope'"):
        approve(con, "nope", "ann")
    order = _night(con, {"A": 1})
    approve(con, order, "ann")
    release(con, order, "ann")
    with pytest.raises(TransferError, match="cannot go from released to cancelled"):
        cancel(con, order, "too late", "ann")


def test_overrides_and_releases_beyond_the_dcs_free_stock_are_refused(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first = _night(con, {"A": 15})
    approve(con, first, "ann")
    release(con, first, "ann")  # due tomorrow: still in the DC's count of today
    order = _night(con, {"A": 4, "B": 2})
    with pytest.raises(TransferError, match=r"'A': 6 asked, 5 free at DC01") as refused:
        override(con, order, {"A": 6}, "promotion", "ann")  # 22 − 2 reserved − 15 released
    assert "\n" not in str(refused.value)
    assert _status(con, order) == "proposed" and _quantities(con, order)["A"] == (4, 4)
    override(con, order, {"A": 5}, "promotion", "ann")
    con.execute(  # before this release, a planner releases an urgent order of two by hand
        "INSERT INTO transfer_orders VALUES "
        "('urgent', NULL, 'DC01', 'FW001', now(), ?, 'released', 'urgent')",
        [TOMORROW],
    )
    con.execute("INSERT INTO transfer_order_lines VALUES ('urgent', 1, 'A', 2, 2, 'urgent', NULL)")
    with pytest.raises(TransferError, match=r"'A': 5 asked, 3 free at DC01"):
        release(con, order, "ann")
    assert _status(con, order) == "overridden"
    override(con, order, {"A": 3}, "what the DC has", "ann")
    release(con, order, "ann")
    assert _status(con, order) == "released"


def test_a_new_night_supersedes_open_orders_but_not_released_ones(
    con: duckdb.DuckDBPyConnection,
) -> None:
    released = _night(con, {"A": 1})
    approve(con, released, "ann")
    release(con, released, "ann")
    approved = _night(con, {"A": 2})
    approve(con, approved, "ann")
    tonight = _night(con, {"A": 3})
    assert _status(con, released) == "released"
    assert _status(con, approved) == "cancelled"
    assert _status(con, tonight) == "proposed"
    last = history(con, approved).row(-1, named=True)
    assert last["reason"].startswith("superseded by run nightly-")


def test_a_new_night_leaves_orders_entered_by_hand_alone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "INSERT INTO transfer_orders VALUES "
        "('manual-1', NULL, 'DC01', 'FW001', now(), ?, 'approved', 'urgent')",
        [TOMORROW],
    )
    _night(con, {"A": 1})
    assert _status(con, "manual-1") == "approved"


def test_an_order_from_a_warehouse_to_itself_is_refused(con: duckdb.DuckDBPyConnection) -> None:
    run_id = runs.start_run(con, "nightly", AS_OF)
    headers = pl.DataFrame(
        [("loop", "FW001", "FW001", TOMORROW)], schema=TRANSFER_ORDERS, orient="row"
    )
    with pytest.raises(TransferError, match="from a warehouse to itself"):
        write_transfers(con, run_id, headers, TRANSFER_LINES.to_frame())


def test_stores_see_free_stock_now_and_released_transfers_on_the_way(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "INSERT INTO stock_levels VALUES ('FW001', 'A', $d, 5, 2, 0, 'f', now()),"
        " ('FW001', 'B', $d, 0, 0, 0, 'f', now())",
        {"d": AS_OF},
    )
    order = _night(con, {"A": 4, "B": 3})
    before = store_availability(con, "FW001")
    assert before.select("sku", "available_now", "arriving").rows() == [("A", 3, 0), ("B", 0, 0)]
    approve(con, order, "ann")
    release(con, order, "dc")
    after = store_availability(con, "FW001", skus=["B"])
    assert after.rows() == [("FW001", "B", AS_OF, 0, 3, TOMORROW)]


def test_upgrading_keeps_older_plans_and_transfer_orders(tmp_path: Path) -> None:
    path = tmp_path / "v3.duckdb"
    old = duckdb.connect(str(path))
    migrate(old, target=3)
    _master(old)
    old.execute(
        "INSERT INTO runs (run_id, kind, status, as_of, started_at, finished_at) "
        "VALUES ('r1', 'nightly', 'succeeded', ?, now(), now())",
        [AS_OF],
    )
    old.execute(
        "INSERT INTO replenishment_plan VALUES "
        "('r1', 'FW001', 'A', ?, 1, 0, 0, 1, 1, 0.4, 0.95, 2, 1, 1, 1, 'old reason')",
        [AS_OF],
    )
    old.execute(
        "INSERT INTO transfer_orders VALUES "
        "('t1', 'r1', 'DC01', 'FW001', now(), ?, 'proposed', NULL)",
        [TOMORROW],
    )
    old.execute("INSERT INTO transfer_order_lines VALUES ('t1', 1, 'A', 1, 1, 'old')")
    old.close()

    con = connect(path)
    plan = con.sql("FROM replenishment_plan").pl().row(0, named=True)
    assert (plan["order_up_to"], plan["proposed_quantity"], plan["reason"]) == (2, 1, "old reason")
    assert plan["target_kind"] == "cycle_service" and plan["allocated_quantity"] == 1
    approve(con, "t1", "ann")  # the rebuilt table takes status changes
    assert _status(con, "t1") == "approved"
    assert _quantities(con, "t1") == {"A": (None, 1)}
    con.close()
