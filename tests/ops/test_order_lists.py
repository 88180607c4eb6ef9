"""A store's orders page by page, and each warehouse's orders in hand (ops.order_lists)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ops import cancel_order, confirmed_since, list_orders, place_order, reading
from tests.ops._store import order, stock


def test_orders_page_newest_first_without_repeats(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10})
    with engine.begin() as conn:
        placed = [place_order(conn, order(("A", 1)), by="t").order_id for _ in range(5)]
        other = place_order(conn, order(("A", 1), store="S0002"), by="t").order_id
    seen, after = [], None
    with reading(engine) as conn:
        while True:
            page = list_orders(conn, "S0001", limit=2, after=after)
            assert all(o.lines and o.history for o in page.orders)
            seen += [o.order_id for o in page.orders]
            if page.next_after is None:
                break
            after = page.next_after
    assert len(set(seen)) == len(seen) == 5  # every order once, in pages of 2
    assert set(seen) == set(placed) and other not in seen
    assert seen[0] == placed[-1]  # newest first
    with pytest.raises(ValueError, match="limit"), reading(engine) as conn:
        list_orders(conn, "S0001", limit=0)


def test_orders_in_hand_count_confirmed_orders_since_a_time(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10, ("FW02", "A"): 10})
    since = datetime.now(UTC) - timedelta(minutes=1)
    with engine.begin() as conn:
        place_order(conn, order(("A", 1)), by="t")
        place_order(conn, order(("A", 1), warehouse="FW02"), by="t")
        gone = place_order(conn, order(("A", 1)), by="t")
        cancel_order(conn, "S0001", gone.order_id, by="t")
    with reading(engine) as conn:
        assert confirmed_since(conn, since) == {"FW01": 1, "FW02": 1}
        assert confirmed_since(conn, datetime.now(UTC) + timedelta(minutes=1)) == {}
