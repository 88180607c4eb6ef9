"""An order's status workflow: cancelled by its store, dispatched and delivered by the warehouse.

Every change is a row of ``part_order_status_history`` and an audit entry::

    confirmed ──dispatch──▶ dispatched ──deliver──▶ delivered
        └──cancel──▶ cancelled

A status changes by a conditional ``UPDATE ... WHERE status IN (allowed)``,
never by reading then writing: of two concurrent cancellations (or
dispatches) one wins and the other is refused, so an order's units are freed
once. A dispatch or a delivery may say when it happened (``at``, e.g. a
rider's scan sent late); the history then still reads forwards in time, and a
delivery's time starts the return window (:mod:`ops.returns`).

Every function runs in the caller's transaction and is scoped to a store: an
order of another store is not found (the API's 404).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select, update

from ops import audit
from ops.orders import OrderNotFoundError, PartOrder, add_history, load_order
from ops.reservations import StockKey, release
from ops.schema import part_order_status_history, part_orders

#: Status → the statuses it may move to.
TRANSITIONS = {
    "confirmed": frozenset({"cancelled", "dispatched"}),
    "dispatched": frozenset({"delivered"}),
    "delivered": frozenset[str](),
    "cancelled": frozenset[str](),
}

#: How far a reported ``at`` may run ahead of this clock (another system's clock drifts);
#: further is a mistake, such as local time sent with a ``+00:00`` offset.
CLOCK_SKEW = timedelta(minutes=5)


class OrderStatusError(ValueError):
    """The workflow does not allow this change from the order's status (the API's 409).

    ``current`` is the order's status, so a caller retrying a step can tell
    "already done" from "not allowed".
    """

    def __init__(self, order_id: str, current: str, wanted: str) -> None:
        self.current = current
        if current == wanted:
            why = f"it cannot become {wanted} again"
        elif (current, wanted) == ("confirmed", "delivered"):
            why = "it cannot become delivered before it is dispatched"
        else:
            why = f"it cannot become {wanted}"
        super().__init__(f"order {order_id} is {current}: {why}")


class OrderTimeError(ValueError):
    """A reported time of a status change is before the previous change or in the future
    (the API's 422 naming ``at``)."""


def cancel_order(
    conn: Connection, store_id: str, order_id: str, *, by: str, reason: str | None = None
) -> PartOrder:
    """Cancel a confirmed order and free its units.

    Raises
    ------
    OrderNotFoundError
        No such order at this store.
    OrderStatusError
        The order is dispatched, delivered or already cancelled.
    """
    order = _change_status(conn, store_id, order_id, "cancelled", by, reason)
    units: Counter[StockKey] = Counter()
    for line in order.lines:
        units[line.warehouse_id, line.sku] += line.quantity
    release(conn, order.created_at, units)
    return order


def advance_order(
    conn: Connection,
    store_id: str,
    order_id: str,
    status: str,
    *,
    by: str,
    reason: str | None = None,
    at: datetime | None = None,
) -> PartOrder:
    """Move an order on: ``dispatched`` (left the warehouse), then ``delivered``.

    The units stay reserved: they left the shelf after the count, so free
    stock is right until the next count sees them gone. A delivery's time
    starts the order's return window (:mod:`ops.returns`).

    Parameters
    ----------
    status
        ``dispatched`` (from ``confirmed``) or ``delivered`` (from ``dispatched``).
    by
        Who reports it (the API key's name), for the history and the audit log.
    reason
        Kept in the status history.
    at
        When it happened (default: now), with a time zone; not before the
        order's previous status change and at most :data:`CLOCK_SKEW` ahead
        of now. The history keeps it; the audit entry is stamped now.

    Raises
    ------
    OrderNotFoundError
        No such order at this store.
    OrderStatusError
        The order is not in the status this step comes from.
    OrderTimeError
        ``at`` is before the previous change or in the future.
    """
    if status not in ("dispatched", "delivered"):
        raise ValueError(f"an order advances to dispatched or delivered, not {status!r}")
    if at is not None and at.tzinfo is None:
        raise OrderTimeError(f"the time of {status} needs a time zone, got {at}")
    return _change_status(conn, store_id, order_id, status, by, reason, at)


def _change_status(
    conn: Connection,
    store_id: str,
    order_id: str,
    status: str,
    by: str,
    reason: str | None,
    at: datetime | None = None,
) -> PartOrder:
    allowed_from = [old for old, targets in TRANSITIONS.items() if status in targets]
    now = datetime.now(UTC)
    if at is not None:
        at = at.astimezone(UTC)
        _check_time(conn, store_id, order_id, status, at, now)
    table = part_orders.c
    changed = conn.execute(
        update(part_orders)
        .where(
            table.order_id == order_id,
            table.store_id == store_id,
            table.status.in_(allowed_from),
        )
        .values(status=status, updated_at=now)
    ).rowcount
    if not changed:
        current = load_order(conn, store_id, order_id)  # raises OrderNotFoundError
        raise OrderStatusError(order_id, current.status, status)
    add_history(conn, order_id, status, reason, by, at or now)
    order = load_order(conn, store_id, order_id)
    before = order.history[-2].status
    after = {"status": status, **({"at": at.isoformat()} if at else {})}
    entry = audit.AuditEntry(
        by, now, status, "part_order", order_id, {"status": before}, after, reason
    )
    audit.record(conn, entry)
    return order


def _check_time(
    conn: Connection, store_id: str, order_id: str, status: str, at: datetime, now: datetime
) -> None:
    """Refuse a reported time that would make the history run backwards or into the future.

    The status is checked first (a step the workflow refuses is a 409
    whatever its time); the conditional update that follows still guards a
    concurrent change.
    """
    current = conn.execute(
        select(part_orders.c.status).where(
            part_orders.c.order_id == order_id, part_orders.c.store_id == store_id
        )
    ).scalar_one_or_none()
    if current is None:
        raise OrderNotFoundError(f"no order {order_id} at store {store_id}")
    if status not in TRANSITIONS[current]:
        raise OrderStatusError(order_id, current, status)
    history = part_order_status_history.c
    since: datetime = conn.execute(
        select(func.max(history.changed_at)).where(history.order_id == order_id)
    ).scalar_one()
    if at < since:
        raise OrderTimeError(
            f"{status} at {at.isoformat()} is before order {order_id} became {current} "
            f"({since.isoformat()})"
        )
    if at > now + CLOCK_SKEW:
        raise OrderTimeError(
            f"{status} at {at.isoformat()} is in the future (now {now.isoformat()}); "
            "is the offset right?"
        )
