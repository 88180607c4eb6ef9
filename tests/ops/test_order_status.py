"""An order's status workflow (ops.order_status): cancel, dispatch, deliver, each when it may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from ops.audit import history
from ops.order_status import (
    CLOCK_SKEW,
    OrderStatusError,
    OrderTimeError,
    advance_order,
    cancel_order,
)
from ops.orders import OrderNotFoundError, PartOrder, get_order, order_json, place_order
from ops.reservations import free_stock
from tests.ops._store import STORE, order, stock

SHANGHAI = timezone(timedelta(hours=8))


def _placed(engine: Engine, quantity: int = 1) -> PartOrder:
    stock(engine, {("FW01", "A"): 5})
    with engine.begin() as conn:
        return place_order(conn, order(("A", quantity)), by="s")


def test_a_dispatched_order_cannot_be_cancelled(engine: Engine) -> None:
    placed = _placed(engine)
    with engine.begin() as conn:
        advance_order(conn, STORE, placed.order_id, "dispatched", by="fw01")
    refused = "is dispatched: it cannot become cancelled"
    with pytest.raises(OrderStatusError, match=refused), engine.begin() as conn:
        cancel_order(conn, STORE, placed.order_id, by="s")
    with engine.begin() as conn:
        delivered = advance_order(conn, STORE, placed.order_id, "delivered", by="fw01")
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 4}
    assert [c.status for c in delivered.history] == ["confirmed", "dispatched", "delivered"]


def test_a_cancelled_order_is_cancelled_once(engine: Engine) -> None:
    placed = _placed(engine, quantity=2)
    with engine.begin() as conn:
        cancelled = cancel_order(conn, STORE, placed.order_id, by="s", reason="car left")
        again = "is cancelled: it cannot become cancelled again"
        with pytest.raises(OrderStatusError, match=again):
            cancel_order(conn, STORE, placed.order_id, by="s")
        assert free_stock(conn, [("FW01", "A")]) == {("FW01", "A"): 5}
        changes = history(conn, "part_order", placed.order_id)
    assert cancelled.history[-1].reason == "car left"
    assert [(e.action, e.before, e.after, e.why) for e in changes[1:]] == [
        ("cancelled", {"status": "confirmed"}, {"status": "cancelled"}, "car left")
    ]
    assert changes[0].after == order_json(placed)


@pytest.mark.parametrize(
    ("steps", "step", "current", "why"),
    [
        ((), "delivered", "confirmed", "cannot become delivered before it is dispatched"),
        (("dispatched",), "dispatched", "dispatched", "cannot become dispatched again"),
        (("dispatched", "delivered"), "delivered", "delivered", "cannot become delivered again"),
        (("cancelled",), "dispatched", "cancelled", "is cancelled: it cannot become dispatched"),
    ],
)
def test_a_step_the_workflow_does_not_allow_names_the_current_status(
    engine: Engine, steps: tuple[str, ...], step: str, current: str, why: str
) -> None:
    placed = _placed(engine)
    with engine.begin() as conn:
        for done in steps:
            if done == "cancelled":
                cancel_order(conn, STORE, placed.order_id, by="s")
            else:
                advance_order(conn, STORE, placed.order_id, done, by="fw01")
    for at in (None, datetime.now(UTC)):  # checked before the time is
        with pytest.raises(OrderStatusError, match=why) as refused, engine.begin() as conn:
            advance_order(conn, STORE, placed.order_id, step, by="fw01", at=at)
        assert refused.value.current == current


def test_a_reported_time_is_kept_in_the_history_and_the_audit_log(engine: Engine) -> None:
    placed = _placed(engine)
    left = placed.created_at + timedelta(seconds=20)  # ahead of now, within the skew
    handed = (left + timedelta(seconds=40)).astimezone(SHANGHAI)  # any offset will do
    with engine.begin() as conn:
        advance_order(conn, STORE, placed.order_id, "dispatched", by="fw01", at=left)
        delivered = advance_order(
            conn, STORE, placed.order_id, "delivered", by="fw01", reason="bay 3", at=handed
        )
        changes = history(conn, "part_order", placed.order_id)
    assert [(c.status, c.changed_at, c.reason) for c in delivered.history[1:]] == [
        ("dispatched", left, None),
        ("delivered", handed, "bay 3"),
    ]
    assert delivered.history[-1].changed_at.utcoffset() == timedelta(0)  # stored in UTC
    assert changes[-1].after == {"status": "delivered", "at": handed.astimezone(UTC).isoformat()}


def test_a_time_before_the_previous_step_or_in_the_future_is_refused(engine: Engine) -> None:
    placed = _placed(engine)
    early = placed.created_at - timedelta(seconds=1)
    with pytest.raises(OrderTimeError, match="became confirmed"), engine.begin() as conn:
        advance_order(conn, STORE, placed.order_id, "dispatched", by="fw01", at=early)
    ahead = datetime.now(UTC) + CLOCK_SKEW + timedelta(minutes=1)
    with pytest.raises(OrderTimeError, match="in the future"), engine.begin() as conn:
        advance_order(conn, STORE, placed.order_id, "dispatched", by="fw01", at=ahead)
    with pytest.raises(OrderTimeError, match="needs a time zone"), engine.begin() as conn:
        naive = datetime.now(UTC).replace(tzinfo=None)
        advance_order(conn, STORE, placed.order_id, "dispatched", by="fw01", at=naive)
    with engine.connect() as conn:
        still = get_order(conn, STORE, placed.order_id)
    assert still is not None and still.status == "confirmed"
    # A little ahead (another system's clock) is taken as given.
    slightly = datetime.now(UTC) + timedelta(minutes=1)
    with engine.begin() as conn:
        dispatched = advance_order(
            conn, STORE, placed.order_id, "dispatched", by="fw01", at=slightly
        )
    assert dispatched.history[-1].changed_at == slightly


def test_another_stores_order_is_not_found(engine: Engine) -> None:
    placed = _placed(engine)
    not_found = f"no order {placed.order_id} at store S0002"
    with pytest.raises(OrderNotFoundError, match=not_found), engine.begin() as conn:
        cancel_order(conn, "S0002", placed.order_id, by="s")
    for at in (None, datetime.now(UTC)):
        with pytest.raises(OrderNotFoundError, match=not_found), engine.begin() as conn:
            advance_order(conn, "S0002", placed.order_id, "dispatched", by="fw01", at=at)


def test_an_order_advances_only_to_dispatched_or_delivered(engine: Engine) -> None:
    placed = _placed(engine)
    with pytest.raises(ValueError, match="not 'cancelled'"), engine.begin() as conn:
        advance_order(conn, STORE, placed.order_id, "cancelled", by="fw01")
