"""The status workflow transfer orders and purchase orders share (warehouse.workflow)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ops.workflow import OPEN_STATUSES, TRANSITIONS
from optimization.replenishment.purchasing import PURCHASE_LINES, PURCHASE_ORDERS
from warehouse import runs, workflow
from warehouse.frames import transaction
from warehouse.purchasing import PURCHASES, PurchaseOrderError
from warehouse.schema import connect
from warehouse.transfers import TRANSFERS, TransferError
from warehouse.workflow import WorkflowError

AS_OF = date(2026, 11, 18)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DC, one SKU and one supplier: enough for purchase orders to exist."""
    connection = connect(tmp_path / "w.duckdb")
    connection.execute(
        "INSERT INTO warehouses VALUES ('DC01', 'dc', 'dc', 31.0, 121.0, 1000, NULL, '2020-01-01')"
    )
    connection.execute(
        "INSERT INTO skus VALUES ('A', 'a', 'tyres', 't', 'b', 1, 1.0, 1, 2, 0, false, false)"
    )
    connection.execute("INSERT INTO suppliers VALUES ('S1', 's', 5, 7)")
    yield connection
    connection.close()


def _propose(con: duckdb.DuckDBPyConnection, po_id: str, run_id: str | None = None) -> str:
    """Write one purchase order of one line as the nightly would (its own run unless given)."""
    run_id = run_id or runs.start_run(con, "nightly", AS_OF)
    headers = pl.DataFrame([(po_id, "S1", "DC01", AS_OF)], schema=PURCHASE_ORDERS, orient="row")
    lines = pl.DataFrame([(po_id, 1, "A", 4, 4, 1.0, "why")], schema=PURCHASE_LINES, orient="row")
    with transaction(con):
        workflow.insert_proposed(con, PURCHASES, run_id, (headers, lines), "nightly", _now())
    return run_id


def _now() -> datetime:
    return datetime.now(UTC)


def _status(con: duckdb.DuckDBPyConnection, po_id: str) -> str:
    rows = con.execute("SELECT status FROM purchase_orders WHERE po_id = ?", [po_id]).fetchall()
    return str(rows[0][0])


def test_open_statuses_can_be_cancelled_and_final_ones_go_nowhere() -> None:
    assert set(OPEN_STATUSES) == {status for status, to in TRANSITIONS.items() if to}
    assert all("cancelled" in TRANSITIONS[status] for status in OPEN_STATUSES)
    assert TRANSITIONS["released"] == TRANSITIONS["cancelled"] == frozenset()
    assert "released" not in TRANSITIONS["proposed"]  # approve or override first


def test_a_proposal_starts_its_history_with_the_run_that_made_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run_id = _propose(con, "P1")
    steps = workflow.history(con, PURCHASES, "P1")
    assert steps.select("seq", "status", "reason", "changed_by").rows() == [
        (1, "proposed", f"nightly plan {run_id}", "nightly")
    ]
    assert _status(con, "P1") == "proposed"


def test_each_kind_of_order_raises_its_own_error_with_the_same_words(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for book, error, noun in (
        (PURCHASES, PurchaseOrderError, "purchase order"),
        (TRANSFERS, TransferError, "transfer order"),
    ):
        with pytest.raises(error, match=f"unknown {noun} 'nope'") as raised:
            workflow.approve(con, book, "nope", "ann")
        assert isinstance(raised.value, WorkflowError)


def test_a_refused_check_rolls_the_status_change_back(con: duckdb.DuckDBPyConnection) -> None:
    _propose(con, "P1")
    seen: list[Mapping[str, int]] = []

    def refuse(_: duckdb.DuckDBPyConnection, po_id: str, quantities: Mapping[str, int]) -> None:
        seen.append(dict(quantities))
        raise PurchaseOrderError(f"{po_id}: not today")

    with pytest.raises(PurchaseOrderError, match="P1: not today"):
        workflow.override(con, PURCHASES, "P1", {"A": 8}, "promo", "ann", check=refuse)
    assert seen == [{"A": 8}]
    assert _status(con, "P1") == "proposed"
    assert workflow.history(con, PURCHASES, "P1").height == 1
    qty = con.execute("SELECT quantity FROM purchase_order_lines WHERE po_id = 'P1'").fetchall()
    assert qty == [(4,)]


def test_a_wrong_status_is_reported_before_the_check_runs(con: duckdb.DuckDBPyConnection) -> None:
    _propose(con, "P1")

    def never(*_: object) -> None:
        raise AssertionError("the check ran for a step the workflow refuses")

    with pytest.raises(PurchaseOrderError, match="cannot go from proposed to released"):
        workflow.release(con, PURCHASES, "P1", "ann", check=never)


def test_earlier_runs_open_orders_are_superseded_with_the_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    old_run = _propose(con, "old")
    _propose(con, "done", old_run)
    workflow.approve(con, PURCHASES, "done", "ann")
    workflow.release(con, PURCHASES, "done", "ann")
    con.execute(
        "INSERT INTO purchase_orders VALUES "
        "('by-hand', NULL, 'S1', 'DC01', now(), '2026-11-30', 'proposed', NULL)"
    )
    tonight = _propose(con, "new")
    earlier = workflow.open_of_earlier_runs(con, PURCHASES, tonight)
    assert earlier == ["old"]  # not released, not entered by hand, not tonight's
    with transaction(con):
        assert workflow.supersede(con, PURCHASES, earlier, tonight, "nightly", _now()) == 1
    last = workflow.history(con, PURCHASES, "old").row(-1, named=True)
    assert (last["status"], last["reason"]) == ("cancelled", f"superseded by run {tonight}")


def test_the_copy_from_the_store_takes_its_statuses_lines_and_histories(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The store's rows win: a status, a line's quantity, a history the database told
    otherwise (its own supersede the store never saw) all become the store's."""
    run_id = _propose(con, "PO1")
    with transaction(con):  # the database cancelled it; the store released it meanwhile
        workflow.supersede(con, PURCHASES, ["PO1"], "later", "nightly", _now())
    at = _now()
    headers = pl.DataFrame(
        [{"po_id": "PO1", "run_id": run_id, "supplier_id": "S1", "dc_id": "DC01",
          "created_at": at, "expected_on": AS_OF, "status": "released", "status_reason": None}]
    )  # fmt: skip
    lines = pl.DataFrame(
        [{"po_id": "PO1", "line_no": 1, "sku": "A", "proposed_quantity": 4, "quantity": 6,
          "unit_cost": 1.0, "reason": "why", "case_pack": 2, "moq": 2}]
    )  # fmt: skip
    history = pl.DataFrame(
        [
            {"po_id": "PO1", "seq": 1, "status": "proposed", "reason": None,
             "changed_by": "nightly", "changed_at": at},
            {"po_id": "PO1", "seq": 2, "status": "released", "reason": None,
             "changed_by": "ann", "changed_at": at},
        ]
    )  # fmt: skip
    with transaction(con):
        assert workflow.copy_from_store(con, PURCHASES, headers, lines, history) == 1
    assert _status(con, "PO1") == "released"
    assert con.execute("SELECT quantity FROM purchase_order_lines").fetchall() == [(6,)]
    steps = con.execute(
        "SELECT seq, status, changed_by FROM purchase_order_status_history ORDER BY seq"
    ).fetchall()
    assert steps == [(1, "proposed", "nightly"), (2, "released", "ann")]
    with transaction(con):  # nothing changed: nothing to copy
        empty = pl.DataFrame()
        assert workflow.copy_from_store(con, PURCHASES, empty, empty, empty) == 0


def test_orders_of_runs_the_database_does_not_know_are_not_copied(
    con: duckdb.DuckDBPyConnection,
) -> None:
    at = _now()
    headers = pl.DataFrame(
        [{"po_id": "PO9", "run_id": "a-run-of-another-database", "supplier_id": "S1",
          "dc_id": "DC01", "created_at": at, "expected_on": AS_OF, "status": "proposed",
          "status_reason": None}]
    )  # fmt: skip
    lines = pl.DataFrame(
        [{"po_id": "PO9", "line_no": 1, "sku": "A", "proposed_quantity": 4, "quantity": 4,
          "unit_cost": 1.0, "reason": "why"}]
    )  # fmt: skip
    history = pl.DataFrame(
        [{"po_id": "PO9", "seq": 1, "status": "proposed", "reason": None,
          "changed_by": "nightly", "changed_at": at}]
    )  # fmt: skip
    with transaction(con):
        assert workflow.copy_from_store(con, PURCHASES, headers, lines, history) == 0
    assert con.execute("SELECT count(*) FROM purchase_orders").fetchall() == [(0,)]
