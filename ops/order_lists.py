"""Reading many part orders at once: a store's orders page by page, and each warehouse's load.

:mod:`ops.orders` places and changes one order; the API also lists a store's
orders newest first (``GET /v1/stores/{store_id}/orders``) and, for the
delivery promise, needs how many orders each forward warehouse has taken in
the last minutes. Both are reads of many rows, in a few statements whatever
the page size (a page's lines and histories are fetched together, not per
order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select

from ops.orders import PartOrder, with_lines
from ops.schema import part_order_lines, part_orders

#: The most orders one page may hold.
MAX_PAGE = 500


@dataclass(frozen=True)
class OrderPosition:
    """Where a page ends in the newest-first order: the last order's time and id."""

    created_at: datetime
    order_id: str

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError(f"a page position needs a time zone, got {self.created_at}")


@dataclass(frozen=True)
class OrderPage:
    """Orders newest first; ``next_after`` is where the next page starts (None: last page)."""

    orders: tuple[PartOrder, ...]
    next_after: OrderPosition | None


def list_orders(
    conn: Connection, store_id: str, *, limit: int = 100, after: OrderPosition | None = None
) -> OrderPage:
    """A page of the store's orders, newest first (ties: the larger id first).

    Keyset paging on (``created_at``, ``order_id``): an order placed while a
    client pages never shifts or repeats the pages it has not read yet.

    Parameters
    ----------
    store_id
        Only this store's orders (another store's are never seen).
    limit
        Orders per page, 1 to :data:`MAX_PAGE`.
    after
        The previous page's ``next_after``; None for the first page.

    Raises
    ------
    ValueError
        ``limit`` outside 1 to :data:`MAX_PAGE`.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be in 1-{MAX_PAGE}, got {limit}")
    orders = part_orders.c
    query = select(part_orders).where(orders.store_id == store_id)
    if after is not None:
        query = query.where(
            or_(
                orders.created_at < after.created_at,
                and_(orders.created_at == after.created_at, orders.order_id < after.order_id),
            )
        )
    rows = conn.execute(
        query.order_by(orders.created_at.desc(), orders.order_id.desc()).limit(limit + 1)
    ).all()
    more, rows = len(rows) > limit, rows[:limit]
    page = with_lines(conn, rows)
    last = page[-1] if more else None
    return OrderPage(page, OrderPosition(last.created_at, last.order_id) if last else None)


def confirmed_since(conn: Connection, since: datetime) -> dict[str, int]:
    """Per warehouse: the orders still ``confirmed`` (not dispatched) placed at or after ``since``.

    The delivery promise's measure of a warehouse's current load: orders its
    riders have yet to take out. An order with lines from two warehouses counts
    at each. Warehouses with none are absent.
    """
    if since.tzinfo is None:
        raise ValueError(f"since needs a time zone, got {since}")
    orders, lines = part_orders.c, part_order_lines.c
    rows = conn.execute(
        select(lines.warehouse_id, func.count(func.distinct(orders.order_id)))
        .select_from(part_orders.join(part_order_lines))
        .where(orders.status == "confirmed", orders.created_at >= since)
        .group_by(lines.warehouse_id)
    )
    return {warehouse_id: int(count) for warehouse_id, count in rows}
