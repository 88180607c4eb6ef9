"""Returns of delivered parts: checked against the order, stored once, audited.

A store system returns units of one SKU of one of its own orders. The rules
(the API answers a refusal with 422 naming the field):

* Only a **delivered** order has anything to return. A confirmed order is
  cancelled instead (that frees its reservation); a dispatched one can be
  returned once delivered; a cancelled one had nothing delivered.
* The window is :data:`RETURN_WINDOW` (90 days) from the moment the order
  was marked delivered (its status history), not from when it was placed: a
  part delivered late gets its full window.
* At most what was bought of the SKU on that order, less what earlier returns
  of it took back.

The checks and the insert run in the caller's transaction with the order's
row locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` already serialises writers), so two concurrent returns of the
last units cannot both pass. Returned units do not go back on the shelf here:
the next stock count sees them, as it sees dispatched units gone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ops import audit
from ops.orders import MAX_QUANTITY, OrderNotFoundError
from ops.schema import part_order_lines, part_order_status_history, part_orders, returns

#: How long after delivery a part may be returned.
RETURN_WINDOW = timedelta(days=90)
MAX_REASON = 500

_NOT_DELIVERED = {
    "confirmed": "is not delivered yet: cancel it instead, which frees its units",
    "dispatched": "is on its way: it can be returned once delivered",
    "cancelled": "was cancelled: nothing was delivered",
}


class ReturnRefusedError(ValueError):
    """The return breaks a rule (the API's 422); ``field`` names the request field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReturnRequest:
    """Units of one SKU of one order, sent back for ``reason``."""

    store_id: str
    order_id: str
    sku: str
    quantity: int
    reason: str

    def __post_init__(self) -> None:
        if not self.store_id or not self.order_id or not self.sku:
            raise ValueError("a return needs a store_id, an order_id and a sku")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValueError(f"quantity must be an integer, got {self.quantity!r}")
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise ValueError(f"quantity must be in 1-{MAX_QUANTITY}, got {self.quantity}")
        if not self.reason.strip() or len(self.reason) > MAX_REASON:
            raise ValueError(f"a return needs a reason of 1-{MAX_REASON} characters")


@dataclass(frozen=True)
class PartReturn:
    """A stored return."""

    return_id: str
    order_id: str
    store_id: str
    sku: str
    quantity: int
    reason: str
    created_at: datetime


def place_return(
    conn: Connection, request: ReturnRequest, *, by: str, now: datetime | None = None
) -> PartReturn:
    """Check the return against its order and store it, in the caller's transaction.

    Parameters
    ----------
    conn
        A connection inside a write transaction.
    request
        What is returned.
    by
        Who returns it (the API key's name), for the audit log.
    now
        The time of the return (default: now); the 90-day window is measured to it.

    Raises
    ------
    OrderNotFoundError
        The store has no such order (another store's order included: ids do not leak).
    ReturnRefusedError
        The order is not delivered, was delivered more than 90 days ago, or the
        quantity is more than was bought less what was returned already.
    """
    now = now or datetime.now(UTC)
    status = conn.execute(
        select(part_orders.c.status)
        .where(
            part_orders.c.order_id == request.order_id,
            part_orders.c.store_id == request.store_id,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if status is None:
        raise OrderNotFoundError(f"no order {request.order_id} at store {request.store_id}")
    if status != "delivered":
        raise ReturnRefusedError("order_id", f"order {request.order_id} {_NOT_DELIVERED[status]}")
    _check_window(conn, request.order_id, now)
    _check_quantity(conn, request)
    record = PartReturn(
        return_id=f"RET-{secrets.token_hex(8).upper()}",
        order_id=request.order_id,
        store_id=request.store_id,
        sku=request.sku,
        quantity=request.quantity,
        reason=request.reason,
        created_at=now,
    )
    conn.execute(insert(returns).values(**record.__dict__))
    audit.record(
        conn,
        audit.AuditEntry(
            by, now, "create", "return", record.return_id, None, return_json(record), record.reason
        ),
    )
    return record


def order_returns(conn: Connection, store_id: str, order_id: str) -> list[PartReturn]:
    """The returns of one of the store's orders, oldest first (none for another store's)."""
    rows = conn.execute(
        select(returns)
        .where(returns.c.order_id == order_id, returns.c.store_id == store_id)
        .order_by(returns.c.created_at, returns.c.return_id)
    ).mappings()
    return [PartReturn(**row) for row in rows]


def return_json(record: PartReturn) -> dict[str, Any]:
    """The return as the API answers it (ISO 8601 time with offset)."""
    return {
        "return_id": record.return_id,
        "order_id": record.order_id,
        "store_id": record.store_id,
        "sku": record.sku,
        "quantity": record.quantity,
        "reason": record.reason,
        "created_at": record.created_at.isoformat(),
    }


def _check_window(conn: Connection, order_id: str, now: datetime) -> None:
    history = part_order_status_history.c
    delivered_at: datetime = conn.execute(
        select(func.max(history.changed_at)).where(
            history.order_id == order_id, history.status == "delivered"
        )
    ).scalar_one()
    closes = delivered_at + RETURN_WINDOW
    if now > closes:
        raise ReturnRefusedError(
            "order_id",
            f"order {order_id} was delivered on {delivered_at.date().isoformat()}: returns "
            f"close {RETURN_WINDOW.days} days after delivery ({closes.date().isoformat()})",
        )


def _check_quantity(conn: Connection, request: ReturnRequest) -> None:
    bought = conn.execute(
        select(func.coalesce(func.sum(part_order_lines.c.quantity), 0)).where(
            part_order_lines.c.order_id == request.order_id,
            part_order_lines.c.sku == request.sku,
        )
    ).scalar_one()
    if not bought:
        raise ReturnRefusedError("sku", f"{request.sku} is not on order {request.order_id}")
    returned = conn.execute(
        select(func.coalesce(func.sum(returns.c.quantity), 0)).where(
            returns.c.order_id == request.order_id, returns.c.sku == request.sku
        )
    ).scalar_one()
    if request.quantity > bought - returned:
        raise ReturnRefusedError(
            "quantity",
            f"{request.quantity} of {request.sku} to return, but order {request.order_id} "
            f"bought {bought} and {returned} went back already: at most {bought - returned}",
        )
