"""Part orders from store systems: placed all or nothing, read back with their history.

An order is placed ``confirmed``; :mod:`ops.order_status` moves it on
(cancelled, dispatched, delivered). Every function runs in the caller's
transaction (``engine.begin()``, or the one :func:`ops.idempotency.run_once`
gives) and is scoped to a store: an order of another store is not found,
which the API answers with 404.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from ops import audit
from ops.reservations import Short, StockKey, reserve
from ops.schema import part_order_lines, part_order_status_history, part_orders

MAX_LINES = 50
MAX_QUANTITY = 999


class OutOfStockError(Exception):
    """Some lines could not be reserved; nothing was (the API's 409)."""

    def __init__(self, short: list[Short]) -> None:
        self.short = short
        named = ", ".join(
            f"{s.sku} at {s.warehouse_id} (asked {s.requested}, {s.available} free)" for s in short
        )
        super().__init__(f"not enough stock for {named}")


class OrderNotFoundError(LookupError):
    """No order with this id at this store (the API's 404)."""


@dataclass(frozen=True)
class LineRequest:
    """A line as the API decided it: the SKU, how many, from where and by when."""

    sku: str
    quantity: int
    warehouse_id: str
    deliver_by: datetime

    def __post_init__(self) -> None:
        if not self.sku or not self.warehouse_id:
            raise ValueError("an order line needs a sku and a warehouse_id")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise ValueError(f"quantity of {self.sku} must be an integer, got {self.quantity!r}")
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise ValueError(
                f"quantity of {self.sku} must be in 1-{MAX_QUANTITY}, got {self.quantity}"
            )
        if self.deliver_by.tzinfo is None:
            raise ValueError(f"deliver_by of {self.sku} needs a time zone")


@dataclass(frozen=True)
class OrderRequest:
    """An order to place for one store."""

    store_id: str
    lines: tuple[LineRequest, ...]
    vehicle_model_id: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if not self.store_id:
            raise ValueError("an order needs a store_id")
        if not 1 <= len(self.lines) <= MAX_LINES:
            raise ValueError(f"an order has 1-{MAX_LINES} lines, got {len(self.lines)}")


@dataclass(frozen=True)
class OrderLine:
    """A stored line: numbered from 1 in the order the request listed them."""

    line_no: int
    sku: str
    quantity: int
    warehouse_id: str
    deliver_by: datetime


@dataclass(frozen=True)
class StatusChange:
    """One row of an order's status history (seq 1 = confirmed when placed)."""

    seq: int
    status: str
    reason: str | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class PartOrder:
    """An order as stored, with its lines and status history."""

    order_id: str
    store_id: str
    status: str
    plan_run_id: str
    vehicle_model_id: str | None
    reference: str | None
    created_at: datetime
    updated_at: datetime
    lines: tuple[OrderLine, ...]
    history: tuple[StatusChange, ...]


def place_order(conn: Connection, request: OrderRequest, *, by: str) -> PartOrder:
    """Reserve every line and store the order, or reserve nothing.

    The reservations are all or nothing (:func:`ops.reservations.reserve`): if
    any (warehouse, SKU) is short, none is kept and :class:`OutOfStockError`
    names every short SKU, leaving the caller's transaction as it was.

    Raises
    ------
    OutOfStockError
        At least one line cannot be reserved.
    NoStockLoadedError
        No snapshot's stock is loaded yet.
    """
    wanted: Counter[StockKey] = Counter()
    for line in request.lines:
        wanted[line.warehouse_id, line.sku] += line.quantity
    plan_run_id, short = reserve(conn, wanted)
    if short:
        raise OutOfStockError(short)
    now = datetime.now(UTC)
    order_id = f"ORD-{secrets.token_hex(8).upper()}"
    conn.execute(
        _INSERT_ORDER,
        {
            "order_id": order_id,
            "store_id": request.store_id,
            "status": "confirmed",
            "vehicle_model_id": request.vehicle_model_id,
            "reference": request.reference,
            "plan_run_id": plan_run_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    conn.execute(
        _INSERT_LINES,
        [
            {
                "order_id": order_id,
                "line_no": line_no,
                "sku": line.sku,
                "quantity": line.quantity,
                "warehouse_id": line.warehouse_id,
                "deliver_by": line.deliver_by,
            }
            for line_no, line in enumerate(request.lines, start=1)
        ],
    )
    conn.execute(
        _INSERT_HISTORY,
        {
            "order_id": order_id,
            "seq": 1,
            "status": "confirmed",
            "reason": None,
            "changed_by": by,
            "changed_at": now,
        },
    )
    # Built from what was inserted (UtcDateTime reads every time back in UTC), not read back:
    # on SQLite every statement here is time under the one write lock.
    order = PartOrder(
        order_id=order_id,
        store_id=request.store_id,
        status="confirmed",
        plan_run_id=plan_run_id,
        vehicle_model_id=request.vehicle_model_id,
        reference=request.reference,
        created_at=now,
        updated_at=now,
        lines=tuple(
            OrderLine(
                n, line.sku, line.quantity, line.warehouse_id, line.deliver_by.astimezone(UTC)
            )
            for n, line in enumerate(request.lines, start=1)
        ),
        history=(StatusChange(1, "confirmed", None, by, now),),
    )
    audit.record(
        conn,
        audit.AuditEntry(by, now, "create", "part_order", order_id, None, order_json(order)),
    )
    return order


# Built once, given their rows as parameters: on SQLite an order's statements all run under
# the one write lock, where building each anew (values() per call) cost more than running it.
_INSERT_ORDER = insert(part_orders)
_INSERT_LINES = insert(part_order_lines)
_INSERT_HISTORY = insert(part_order_status_history)


def get_order(conn: Connection, store_id: str, order_id: str) -> PartOrder | None:
    """The order with its lines and history, or ``None`` if this store has no such order."""
    try:
        return load_order(conn, store_id, order_id)
    except OrderNotFoundError:
        return None


def order_json(order: PartOrder) -> dict[str, Any]:
    """The order as the API answers it (API.md): ISO 8601 times, integer quantities."""
    return {
        "order_id": order.order_id,
        "store_id": order.store_id,
        "status": order.status,
        "created_at": order.created_at.isoformat(),
        "vehicle_model_id": order.vehicle_model_id,
        "reference": order.reference,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "quantity": line.quantity,
                "warehouse_id": line.warehouse_id,
                "deliver_by": line.deliver_by.isoformat(),
            }
            for line in order.lines
        ],
    }


def add_history(
    conn: Connection, order_id: str, status: str, reason: str | None, by: str, at: datetime
) -> None:
    """Append a step to the order's status history (``seq`` one past the last)."""
    history = part_order_status_history.c
    seq = conn.execute(
        select(func.coalesce(func.max(history.seq), 0) + 1).where(history.order_id == order_id)
    ).scalar_one()
    conn.execute(
        insert(part_order_status_history).values(
            order_id=order_id, seq=seq, status=status, reason=reason, changed_by=by, changed_at=at
        )
    )


def load_order(conn: Connection, store_id: str, order_id: str) -> PartOrder:
    """The store's order with its lines and history.

    Raises
    ------
    OrderNotFoundError
        This store has no such order.
    """
    row = conn.execute(
        select(part_orders).where(
            part_orders.c.order_id == order_id, part_orders.c.store_id == store_id
        )
    ).one_or_none()
    if row is None:
        raise OrderNotFoundError(f"no order {order_id} at store {store_id}")
    return with_lines(conn, [row])[0]


def with_lines(conn: Connection, rows: Sequence[Row[Any]]) -> tuple[PartOrder, ...]:
    """``part_orders`` rows as :class:`PartOrder` s, in their order, with their lines and
    status history (two queries for all of them)."""
    ids = [row.order_id for row in rows]
    lines: defaultdict[str, list[OrderLine]] = defaultdict(list)
    history: defaultdict[str, list[StatusChange]] = defaultdict(list)
    if ids:
        for r in conn.execute(
            select(part_order_lines)
            .where(part_order_lines.c.order_id.in_(ids))
            .order_by(part_order_lines.c.order_id, part_order_lines.c.line_no)
        ):
            lines[r.order_id].append(
                OrderLine(r.line_no, r.sku, r.quantity, r.warehouse_id, r.deliver_by)
            )
        for r in conn.execute(
            select(part_order_status_history)
            .where(part_order_status_history.c.order_id.in_(ids))
            .order_by(part_order_status_history.c.order_id, part_order_status_history.c.seq)
        ):
            history[r.order_id].append(
                StatusChange(r.seq, r.status, r.reason, r.changed_by, r.changed_at)
            )
    return tuple(
        PartOrder(
            order_id=row.order_id,
            store_id=row.store_id,
            status=row.status,
            plan_run_id=row.plan_run_id,
            vehicle_model_id=row.vehicle_model_id,
            reference=row.reference,
            created_at=row.created_at,
            updated_at=row.updated_at,
            lines=tuple(lines[row.order_id]),
            history=tuple(history[row.order_id]),
        )
        for row in rows
    )
