"""Returns (ops.returns): only delivered orders, within 90 days, never more than was bought."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from ops.audit import history
from ops.order_status import advance_order, cancel_order
from ops.orders import OrderNotFoundError, place_order
from ops.returns import (
    RETURN_WINDOW,
    ReturnRefusedError,
    ReturnRequest,
    order_returns,
    place_return,
    return_json,
)
from tests.ops._store import STORE, order, stock


def _delivered(engine: Engine, *lines: tuple[str, int]) -> str:
    """An order of ``lines`` taken all the way to delivered; its id."""
    stock(engine, {("FW01", sku): 10 for sku, _ in lines})
    with engine.begin() as conn:
        order_id = place_order(conn, order(*lines), by="s").order_id
        advance_order(conn, STORE, order_id, "dispatched", by="rider")
        advance_order(conn, STORE, order_id, "delivered", by="rider")
    return order_id


def _return(
    engine: Engine,
    order_id: str,
    sku: str,
    quantity: int,
    store: str = STORE,
    now: datetime | None = None,
) -> dict[str, object]:
    with engine.begin() as conn:
        record = place_return(
            conn, ReturnRequest(store, order_id, sku, quantity, "wrong part"), by="s", now=now
        )
    return return_json(record)


def test_a_return_is_stored_and_audited(engine: Engine) -> None:
    order_id = _delivered(engine, ("A", 3))
    body = _return(engine, order_id, "A", 2)
    assert str(body["return_id"]).startswith("RET-")
    assert (body["order_id"], body["store_id"], body["sku"], body["quantity"]) == (
        order_id,
        STORE,
        "A",
        2,
    )
    with engine.connect() as conn:
        stored = order_returns(conn, STORE, order_id)
        logged = history(conn, "return", str(body["return_id"]))
    assert [return_json(r) for r in stored] == [body]
    assert [(e.action, e.why) for e in logged] == [("create", "wrong part")]


def test_returns_never_take_back_more_than_was_bought(engine: Engine) -> None:
    order_id = _delivered(engine, ("A", 2), ("A", 1), ("B", 1))
    _return(engine, order_id, "A", 2)
    with pytest.raises(ReturnRefusedError, match="bought 3 and 2 went back already") as refused:
        _return(engine, order_id, "A", 2)
    assert refused.value.field == "quantity"
    _return(engine, order_id, "A", 1)
    with pytest.raises(ReturnRefusedError, match="C is not on order") as refused:
        _return(engine, order_id, "C", 1)
    assert refused.value.field == "sku"


def test_the_window_closes_90_days_after_delivery(engine: Engine) -> None:
    order_id = _delivered(engine, ("A", 3))
    delivered = datetime.now(UTC)
    _return(engine, order_id, "A", 1, now=delivered + RETURN_WINDOW - timedelta(minutes=1))
    with pytest.raises(ReturnRefusedError, match="returns close 90 days after delivery") as late:
        _return(engine, order_id, "A", 1, now=delivered + RETURN_WINDOW + timedelta(minutes=1))
    assert late.value.field == "order_id"


@pytest.mark.parametrize(
    ("steps", "why"),
    [
        ((), "not delivered yet: cancel it instead"),
        (("dispatched",), "on its way"),
        (("cancelled",), "was cancelled"),
    ],
)
def test_only_a_delivered_order_can_be_returned(
    engine: Engine, steps: tuple[str, ...], why: str
) -> None:
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        order_id = place_order(conn, order(("A", 1)), by="s").order_id
        for step in steps:
            if step == "cancelled":
                cancel_order(conn, STORE, order_id, by="s")
            else:
                advance_order(conn, STORE, order_id, step, by="s")
    with pytest.raises(ReturnRefusedError, match=why):
        _return(engine, order_id, "A", 1)


def test_another_stores_order_is_not_found(engine: Engine) -> None:
    order_id = _delivered(engine, ("A", 1))
    with pytest.raises(OrderNotFoundError):
        _return(engine, order_id, "A", 1, store="S0002")
    with engine.connect() as conn:
        assert order_returns(conn, "S0002", order_id) == []


def test_concurrent_returns_of_the_last_units_take_them_back_once(engine: Engine) -> None:
    order_id = _delivered(engine, ("A", 3))
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            _return(engine, order_id, "A", 1)
            outcomes.append("ok")
        except ReturnRefusedError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    with engine.connect() as conn:
        assert sum(r.quantity for r in order_returns(conn, STORE, order_id)) == 3


def test_a_request_checks_itself() -> None:
    with pytest.raises(ValueError, match="quantity must be in 1-999"):
        ReturnRequest(STORE, "o", "A", 0, "r")
    with pytest.raises(ValueError, match="needs a reason"):
        ReturnRequest(STORE, "o", "A", 1, " ")
