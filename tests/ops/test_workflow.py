"""The planners' workflow in the store (ops.workflow), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from ops import audit, workflow
from ops.schema import source_stock
from ops.workflow import (
    OrderSet,
    Publication,
    UnknownOrderError,
    WorkflowConflictError,
    WorkflowInputError,
)

AS_OF = date(2026, 11, 20)


def _transfers(run: str, *lines: tuple[str, int], to: str = "FW01") -> OrderSet:
    transfer_id = f"TO-{run}-{to}"
    return OrderSet(
        headers=[
            {
                "transfer_id": transfer_id,
                "from_warehouse_id": "DC1",
                "to_warehouse_id": to,
                "needed_by": AS_OF + timedelta(days=1),
            }
        ],
        lines=[
            {
                "transfer_id": transfer_id,
                "line_no": n,
                "sku": sku,
                "proposed_quantity": q,
                "quantity": q,
                "allocated_quantity": q,
                "reason": f"plan of {sku}",
            }
            for n, (sku, q) in enumerate(lines, start=1)
        ],
    )


def _purchases(run: str) -> OrderSet:
    po_id = f"PO-{run}"
    return OrderSet(
        headers=[{"po_id": po_id, "supplier_id": "SUP1", "dc_id": "DC1", "expected_on": AS_OF}],
        lines=[
            {
                "po_id": po_id,
                "line_no": 1,
                "sku": "P1",
                "proposed_quantity": 24,
                "quantity": 24,
                "unit_cost": 2.5,
                "reason": "below s",
                "case_pack": 12,
                "moq": 24,
            }
        ],
    )


def _publish(
    engine: Engine,
    run: str,
    transfers: OrderSet,
    free: dict[str, int],
    basis_at: datetime | None = None,
) -> workflow.Published:
    with engine.begin() as conn:
        return workflow.publish_orders(
            conn,
            Publication(run, AS_OF, basis_at or datetime.now(UTC)),
            transfers,
            _purchases(run),
            [("DC1", sku, units) for sku, units in free.items()],
        )


def test_a_night_is_published_once_and_supersedes_the_open_orders_of_earlier_nights(
    engine: Engine,
) -> None:
    first = _publish(engine, "r1", _transfers("r1", ("P1", 5)), {"P1": 10})
    assert (first.transfers, first.purchases, first.superseded, first.already) == (1, 1, 0, False)
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r1-FW01", by="ann")
    again = _publish(engine, "r1", _transfers("r1", ("P1", 5)), {"P1": 10})
    assert again.already
    second = _publish(engine, "r2", _transfers("r2", ("P1", 3)), {"P1": 10})
    assert second.superseded == 2  # r1's approved transfer and its proposed purchase order
    with engine.connect() as conn:
        old = workflow.get_order(conn, "transfer", "TO-r1-FW01")
        assert old.status == "cancelled"
        assert old.header["status_reason"] == "superseded by run r2"
        assert [s.status for s in old.history] == ["proposed", "approved", "cancelled"]
        assert workflow.get_order(conn, "transfer", "TO-r2-FW01").status == "proposed"
        kept = conn.execute(select(source_stock.c.run_id).distinct()).scalars().all()
        assert kept == ["r2"]  # only the latest night's figures are checked against


def test_the_workflow_steps_and_refusals(engine: Engine) -> None:
    _publish(engine, "r1", _transfers("r1", ("P1", 5), ("P2", 2)), {"P1": 10, "P2": 10})
    with (
        pytest.raises(WorkflowConflictError, match="cannot go from proposed to released"),
        engine.begin() as conn,
    ):
        workflow.release(conn, "transfer", "TO-r1-FW01", by="ann")
    with engine.begin() as conn:
        with pytest.raises(WorkflowInputError, match="needs a reason"):
            workflow.override(conn, "transfer", "TO-r1-FW01", {"P1": 4}, reason=" ", by="ann")
        with pytest.raises(WorkflowInputError, match="'P9' is not on this order"):
            workflow.override(conn, "transfer", "TO-r1-FW01", {"P9": 4}, reason="x", by="ann")
        with pytest.raises(WorkflowInputError, match="must be in 0-"):
            workflow.override(conn, "transfer", "TO-r1-FW01", {"P1": -1}, reason="x", by="ann")
        with pytest.raises(UnknownOrderError):
            workflow.approve(conn, "transfer", "TO-nope", by="ann")
    with engine.begin() as conn:
        order = workflow.override(
            conn, "transfer", "TO-r1-FW01", {"P1": 7}, reason="promo at FW01", by="ann"
        )
    assert order.status == "overridden"
    assert {line["sku"]: line["quantity"] for line in order.lines} == {"P1": 7, "P2": 2}
    assert order.lines[0]["proposed_quantity"] == 5
    with engine.begin() as conn:
        released = workflow.release(conn, "transfer", "TO-r1-FW01", by="bob")
        assert released.status == "released"
        with pytest.raises(WorkflowConflictError, match="allowed: nothing"):
            workflow.cancel(conn, "transfer", "TO-r1-FW01", reason="too late", by="bob")
        trail = audit.history(conn, "transfer_order", "TO-r1-FW01")
    assert [(e.action, e.who) for e in trail] == [("override", "ann"), ("release", "bob")]
    assert trail[0].before == {"quantities": {"P1": 5}}
    assert trail[0].after == {"status": "overridden", "quantities": {"P1": 7}}
    assert trail[0].why == "promo at FW01"


def test_a_release_never_takes_more_than_the_source_has_free(engine: Engine) -> None:
    two = OrderSet(
        headers=[
            *_transfers("r1", ("P1", 6)).headers,
            *_transfers("r1", ("P1", 6), to="FW02").headers,
        ],
        lines=[*_transfers("r1", ("P1", 6)).lines, *_transfers("r1", ("P1", 6), to="FW02").lines],
    )
    _publish(engine, "r1", two, {"P1": 10})
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r1-FW01", by="ann")
        workflow.approve(conn, "transfer", "TO-r1-FW02", by="ann")
        workflow.release(conn, "transfer", "TO-r1-FW01", by="ann")
    with (
        pytest.raises(WorkflowConflictError, match="'P1': 6 asked, 4 free at DC1"),
        engine.begin() as conn,
    ):
        workflow.release(conn, "transfer", "TO-r1-FW02", by="ann")
    with engine.connect() as conn:  # the refusal rolled the status step back with it
        assert workflow.get_order(conn, "transfer", "TO-r1-FW02").status == "approved"
    with engine.begin() as conn:
        workflow.override(
            conn, "transfer", "TO-r1-FW02", {"P1": 4}, reason="what is left", by="ann"
        )
        assert workflow.release(conn, "transfer", "TO-r1-FW02", by="ann").status == "released"


def test_releases_before_the_nights_basis_are_in_its_figure_already(engine: Engine) -> None:
    """An order released before the night read the store is in the night's free figure."""
    _publish(engine, "r1", _transfers("r1", ("P1", 6)), {"P1": 10})
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r1-FW01", by="ann")
        workflow.release(conn, "transfer", "TO-r1-FW01", by="ann")
    # r2 read the store after that release: its 4 free already exclude r1's 6 units.
    _publish(engine, "r2", _transfers("r2", ("P1", 4), to="FW02"), {"P1": 4})
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r2-FW02", by="ann")
        assert workflow.release(conn, "transfer", "TO-r2-FW02", by="ann").status == "released"


def test_purchase_orders_keep_to_the_suppliers_terms(engine: Engine) -> None:
    _publish(engine, "r1", _transfers("r1", ("P1", 1)), {"P1": 10})
    with (
        pytest.raises(WorkflowConflictError, match="not 0 or whole cases of 12 from the MOQ 24"),
        engine.begin() as conn,
    ):
        workflow.override(conn, "purchase", "PO-r1", {"P1": 30}, reason="more", by="ann")
    with engine.begin() as conn:
        workflow.override(conn, "purchase", "PO-r1", {"P1": 0}, reason="not now", by="ann")
    with pytest.raises(WorkflowConflictError, match="nothing to release"), engine.begin() as conn:
        workflow.release(conn, "purchase", "PO-r1", by="ann")
    with engine.begin() as conn:
        workflow.override(conn, "purchase", "PO-r1", {"P1": 36}, reason="three cases", by="ann")
        order = workflow.release(conn, "purchase", "PO-r1", by="ann")
    assert order.status == "released"
    assert order.lines[0]["unit_cost"] == 2.5


def test_lists_page_by_id_with_their_totals(engine: Engine) -> None:
    many = OrderSet(
        headers=[
            h for to in ("FW01", "FW02", "FW03") for h in _transfers("r1", ("P1", 2), to=to).headers
        ],
        lines=[
            line
            for to in ("FW01", "FW02", "FW03")
            for line in _transfers("r1", ("P1", 2), to=to).lines
        ],
    )
    _publish(engine, "r1", many, {"P1": 10})
    with engine.connect() as conn:
        first = workflow.list_orders(conn, "transfer", limit=2)
        assert [o["transfer_id"] for o in first.items] == ["TO-r1-FW01", "TO-r1-FW02"]
        assert first.items[0]["units"] == 2 and first.items[0]["lines"] == 1
        rest = workflow.list_orders(conn, "transfer", limit=2, after=first.next_after)
        assert [o["transfer_id"] for o in rest.items] == ["TO-r1-FW03"] and rest.next_after is None
        only = workflow.list_orders(conn, "transfer", warehouse_id="FW02", status="proposed")
        assert [o["transfer_id"] for o in only.items] == ["TO-r1-FW02"]
        purchases = workflow.list_orders(conn, "purchase", warehouse_id="DC1")
        assert purchases.items[0]["value"] == pytest.approx(60.0)


def test_the_night_reads_back_what_changed_since_it_last_looked(engine: Engine) -> None:
    _publish(engine, "r1", _transfers("r1", ("P1", 5)), {"P1": 10})
    with engine.connect() as conn:
        headers, lines, history = workflow.changes_since(conn, "transfer", None)
    assert [h["transfer_id"] for h in headers] == ["TO-r1-FW01"] and len(lines) == 1
    mark = history[-1]["changed_at"]
    with engine.connect() as conn:
        assert workflow.changes_since(conn, "transfer", mark + timedelta(seconds=1))[0] == []
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r1-FW01", by="ann")
    with engine.connect() as conn:
        headers, lines, history = workflow.changes_since(
            conn, "transfer", mark + timedelta(microseconds=1)
        )
    assert headers[0]["status"] == "approved"
    assert [h["seq"] for h in history] == [1, 2]  # the whole history of what changed


def test_two_planners_releasing_the_last_units_at_once_release_them_once(engine: Engine) -> None:
    two = OrderSet(
        headers=[
            *_transfers("r1", ("P1", 6)).headers,
            *_transfers("r1", ("P1", 6), to="FW02").headers,
        ],
        lines=[*_transfers("r1", ("P1", 6)).lines, *_transfers("r1", ("P1", 6), to="FW02").lines],
    )
    _publish(engine, "r1", two, {"P1": 10})
    with engine.begin() as conn:
        workflow.approve(conn, "transfer", "TO-r1-FW01", by="ann")
        workflow.approve(conn, "transfer", "TO-r1-FW02", by="ann")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def release(order_id: str) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                workflow.release(conn, "transfer", order_id, by="ann")
            outcomes.append("released")
        except WorkflowConflictError:
            outcomes.append("refused")

    threads = [threading.Thread(target=release, args=(o,)) for o in ("TO-r1-FW01", "TO-r1-FW02")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "released"]


def test_lists_keep_one_nights_orders_when_asked(engine: Engine) -> None:
    _publish(engine, "r1", _transfers("r1", ("P1", 2)), {"P1": 10})
    _publish(engine, "r2", _transfers("r2", ("P1", 2)), {"P1": 10})
    with engine.connect() as conn:
        everything = workflow.list_orders(conn, "transfer")
        tonight = workflow.list_orders(conn, "transfer", run_id="r2")
        purchases = workflow.list_orders(conn, "purchase", run_id="r1")
    assert [o["transfer_id"] for o in everything.items] == ["TO-r1-FW01", "TO-r2-FW01"]
    assert [o["transfer_id"] for o in tonight.items] == ["TO-r2-FW01"]
    assert [(o["po_id"], o["status"]) for o in purchases.items] == [("PO-r1", "cancelled")]
