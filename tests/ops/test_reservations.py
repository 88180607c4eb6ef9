"""Stock counters (ops.reservations): loading a snapshot's bases, free stock, switching runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ops.order_status import cancel_order
from ops.orders import place_order
from ops.reservations import NoStockLoadedError, StockBase, active_run, free_stock, load_bases
from tests.ops._store import STORE, an_hour_ago, order, stock


def test_free_stock_is_the_loaded_base(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5, ("FW02", "A"): 2})
    with engine.connect() as conn:
        assert active_run(conn) == "run-1"
        free = free_stock(conn, [("FW01", "A"), ("FW02", "A"), ("FW01", "UNSTOCKED")])
    assert free == {("FW01", "A"): 5, ("FW02", "A"): 2, ("FW01", "UNSTOCKED"): 0}


def test_an_order_reserves_and_a_cancellation_frees(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        placed = place_order(conn, order(("A", 3)), by="store S0001")
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 2}
        cancel_order(conn, STORE, placed.order_id, by="store S0001")
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 5}


def test_a_new_snapshot_keeps_the_orders_placed_since_its_count(engine: Engine) -> None:
    """Orders after the new count stay reserved; those before it are in the count already."""
    stock(engine, {("FW01", "A"): 10}, counted_at=datetime.now(UTC) - timedelta(days=1))
    with engine.begin() as conn:
        before = place_order(conn, order(("A", 2)), by="s")
    count = datetime.now(UTC)
    with engine.begin() as conn:
        after = place_order(conn, order(("A", 3)), by="s")
        cancelled = place_order(conn, order(("A", 4)), by="s")
        cancel_order(conn, STORE, cancelled.order_id, by="s")
    stock(engine, {("FW01", "A"): 8}, run="run-2", counted_at=count)
    with engine.begin() as conn:
        assert active_run(conn) == "run-2"
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 8 - 3}
        cancel_order(conn, STORE, before.order_id, by="s")  # counted already: frees nothing
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 5}
        cancel_order(conn, STORE, after.order_id, by="s")
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 8}


def test_a_count_below_what_was_sold_since_leaves_nothing_free(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5}, counted_at=an_hour_ago() - timedelta(hours=1))
    with engine.begin() as conn:
        place_order(conn, order(("A", 4)), by="s")
    stock(engine, {("FW01", "A"): 1}, run="run-2")
    with engine.connect() as conn:
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 0}


def test_nothing_is_reserved_before_a_snapshot_is_loaded(engine: Engine) -> None:
    with pytest.raises(NoStockLoadedError, match="no published stock"), engine.begin() as conn:
        place_order(conn, order(("A", 1)), by="s")


def test_a_pair_given_twice_is_refused(engine: Engine) -> None:
    rows = [StockBase("FW01", "A", 1, an_hour_ago()), StockBase("FW01", "A", 2, an_hour_ago())]
    with pytest.raises(ValueError, match="A at FW01 given twice"), engine.begin() as conn:
        load_bases(conn, "run-1", rows)


def test_a_count_from_the_future_is_refused(engine: Engine) -> None:
    rows = [StockBase("FW01", "A", 1, datetime.now(UTC) + timedelta(hours=1))]
    with pytest.raises(ValueError, match="in the future"), engine.begin() as conn:
        load_bases(conn, "run-1", rows)


@pytest.mark.parametrize("base", [-1, 1.5, True])
def test_a_base_is_a_whole_number_of_units(base: object) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 0"):
        StockBase("FW01", "A", base, an_hour_ago())  # type: ignore[arg-type]
