"""Part orders (ops.orders): all or nothing, read back with their lines, scoped to a store."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from ops.orders import (
    LineRequest,
    OrderRequest,
    OutOfStockError,
    get_order,
    order_json,
    place_order,
)
from ops.reservations import Short, free_stock
from ops.schema import part_orders
from tests.ops._store import DELIVER_BY, STORE, order, stock


def test_an_order_is_confirmed_with_numbered_lines(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5, ("FW01", "B"): 5})
    with engine.begin() as conn:
        placed = place_order(conn, order(("A", 2), ("B", 1)), by="store S0001")
    body = order_json(placed)
    assert body["status"] == "confirmed"
    assert body["store_id"] == STORE
    assert body["order_id"].startswith("ORD-")
    assert body["lines"] == [
        {
            "line_no": 1,
            "sku": "A",
            "quantity": 2,
            "warehouse_id": "FW01",
            "deliver_by": DELIVER_BY.isoformat(),
        },
        {
            "line_no": 2,
            "sku": "B",
            "quantity": 1,
            "warehouse_id": "FW01",
            "deliver_by": DELIVER_BY.isoformat(),
        },
    ]
    assert placed.plan_run_id == "run-1"
    assert [(c.seq, c.status, c.changed_by) for c in placed.history] == [
        (1, "confirmed", "store S0001")
    ]


def test_the_order_placed_is_the_order_stored(engine: Engine) -> None:
    """place_order builds its answer from what it inserted, not by reading it back."""
    stock(engine, {("FW01", "A"): 5, ("FW01", "B"): 5})
    with engine.begin() as conn:
        placed = place_order(conn, order(("A", 2), ("B", 1)), by="store S0001")
    with engine.begin() as conn:
        assert get_order(conn, STORE, placed.order_id) == placed


def test_a_short_line_reserves_nothing_and_names_every_short_sku(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5, ("FW01", "B"): 1, ("FW01", "C"): 2})
    with engine.begin() as conn:
        with pytest.raises(OutOfStockError, match="not enough stock for B at FW01") as raised:
            place_order(conn, order(("A", 2), ("B", 3), ("C", 1), ("D", 1)), by="s")
        assert raised.value.short == [Short("FW01", "B", 3, 1), Short("FW01", "D", 1, 0)]
        # The caller's transaction goes on; the failed order left nothing in it.
        free = free_stock(conn, [("FW01", "A"), ("FW01", "B"), ("FW01", "C")])
        assert free == {("FW01", "A"): 5, ("FW01", "B"): 1, ("FW01", "C"): 2}
        assert conn.execute(select(func.count()).select_from(part_orders)).scalar() == 0


def test_two_lines_of_one_sku_are_reserved_together(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 3})
    with engine.begin() as conn, pytest.raises(OutOfStockError) as raised:
        place_order(conn, order(("A", 2), ("A", 2)), by="s")
    assert raised.value.short == [Short("FW01", "A", 4, 3)]


def test_another_stores_order_is_not_found(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        placed = place_order(conn, order(("A", 1)), by="s")
        assert get_order(conn, "S0002", placed.order_id) is None
        assert get_order(conn, STORE, placed.order_id) == placed


@pytest.mark.parametrize(
    ("lines", "problem"),
    [((), "1-50 lines"), (tuple([LineRequest("A", 1, "FW01", DELIVER_BY)] * 51), "1-50 lines")],
)
def test_an_order_has_one_to_fifty_lines(lines: tuple[LineRequest, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        OrderRequest(STORE, lines)


@pytest.mark.parametrize("quantity", [0, 1000, 2.0])
def test_a_quantity_is_a_whole_number_from_1_to_999(quantity: object) -> None:
    with pytest.raises(ValueError, match="quantity of A must be"):
        LineRequest("A", quantity, "FW01", DELIVER_BY)  # type: ignore[arg-type]
