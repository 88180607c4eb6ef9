"""The planners' transfer and purchase orders: the one place their status changes.

API.md: the workflow lives in the operational store only; ``partsflow
transfer|purchase ...``, the planner endpoints and the dashboard change it
through these functions, and the nightly writes its proposals here when it
publishes (:func:`publish_orders`) and reads back what changed
(:func:`changes_since`). Every change is a row of the order's status history
and an audit entry, in the caller's transaction::

    proposed ──approve──▶ approved ──release──▶ released
        │                    │                     ▲
        └──override──▶ overridden ─────release─────┘
    proposed / approved / overridden ──cancel──▶ cancelled

* **override** sets line quantities and needs a reason; an overridden order
  can be overridden again before release.
* **release** hands the order over (to the DC, to the supplier); nothing
  changes after it. **cancel** needs a reason.
* A new night **supersedes** the open orders of earlier nights (cancelled,
  reason ``superseded by run R``): its plan was computed from stock they did
  not move. Orders entered by hand (no run) are left alone.

What each kind checks on an override or a release (after the status step, so
a wrong status is reported first, and a refusal rolls both back):

* **transfer**: no line asks for more than its source has free, which is the
  figure the latest published night saw (:data:`ops.schema.source_stock`:
  latest count − reserved − released orders not yet shipped) less the lines
  of orders released since that night read the store (``basis_at``). The
  check locks the publication's row, so two releases racing for the same
  units on PostgreSQL queue (SQLite's writers queue anyway).
* **purchase**: each line is 0 or whole cases of the supplier's case pack
  from the MOQ up (the terms the line was planned under), and a release
  orders something.

A status changes by a conditional ``UPDATE ... WHERE status IN (allowed)``:
of two planners releasing the same order at once, one wins and the other is
told the order's status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from ops import audit
from ops.schema import (
    plan_publications,
    purchase_order_lines,
    purchase_order_status_history,
    purchase_orders,
    source_stock,
    transfer_order_lines,
    transfer_order_status_history,
    transfer_orders,
)

Kind = Literal["transfer", "purchase"]

#: Status → the statuses it may move to.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "overridden", "cancelled"}),
    "approved": frozenset({"released", "overridden", "cancelled"}),
    "overridden": frozenset({"released", "overridden", "cancelled"}),
    "released": frozenset(),
    "cancelled": frozenset(),
}
#: Statuses a new night's plan supersedes.
OPEN_STATUSES = ("proposed", "approved", "overridden")
#: The most lines one override may change, and the largest quantity of a line.
MAX_OVERRIDE_LINES = 1_000
MAX_LINE_QUANTITY = 1_000_000


class WorkflowError(ValueError):
    """An order change that is not allowed."""


class UnknownOrderError(WorkflowError, LookupError):
    """No such order (the API's 404)."""


class WorkflowInputError(WorkflowError):
    """The change itself is malformed: no reason, a SKU not on the order, a bad quantity (422)."""


class WorkflowConflictError(WorkflowError):
    """The order's status or the stock does not allow the change now (409)."""


@dataclass(frozen=True)
class Book:
    """One kind of order: its tables and key."""

    kind: Kind
    noun: str
    orders: Table
    lines: Table
    history: Table
    key: str


BOOKS: Mapping[Kind, Book] = {
    "transfer": Book(
        "transfer",
        "transfer order",
        transfer_orders,
        transfer_order_lines,
        transfer_order_status_history,
        "transfer_id",
    ),
    "purchase": Book(
        "purchase",
        "purchase order",
        purchase_orders,
        purchase_order_lines,
        purchase_order_status_history,
        "po_id",
    ),
}


@dataclass(frozen=True)
class StatusStep:
    """One row of an order's status history."""

    seq: int
    status: str
    reason: str | None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class WorkflowOrder:
    """An order as stored: the header's columns, its lines (by line number) and history."""

    kind: Kind
    order_id: str
    status: str
    header: Mapping[str, Any]
    lines: tuple[Mapping[str, Any], ...]
    history: tuple[StatusStep, ...]


@dataclass(frozen=True)
class OrderSet:
    """A night's orders of one kind, as rows of the store's columns (lines numbered)."""

    headers: Sequence[Mapping[str, Any]]
    lines: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Publication:
    """A published night: its run, as-of day, and when it read the store's workflow."""

    run_id: str
    as_of: date
    basis_at: datetime

    def __post_init__(self) -> None:
        if self.basis_at.tzinfo is None:
            raise ValueError(f"basis_at needs a time zone, got {self.basis_at}")


@dataclass(frozen=True)
class Published:
    """What :func:`publish_orders` did (``already``: the run was published before; nothing)."""

    transfers: int
    purchases: int
    superseded: int
    already: bool


# ---- the nightly's side ------------------------------------------------------------------


def publish_orders(
    conn: Connection,
    publication: Publication,
    transfers: OrderSet,
    purchases: OrderSet,
    free_at_source: Iterable[tuple[str, str, int]],
    *,
    by: str = "nightly",
    now: datetime | None = None,
) -> Published:
    """Write a night's proposals, superseding earlier nights' open orders; once per run.

    ``free_at_source`` is ``(warehouse_id, sku, free)`` for every transfer
    source and SKU the night counted (module docstring). Call in one
    transaction: planners see the whole night or none of it. A run published
    before (a repair that publishes again) changes nothing.
    """
    now = now or datetime.now(UTC)
    run_id = publication.run_id
    known = conn.execute(
        select(plan_publications.c.run_id).where(plan_publications.c.run_id == run_id)
    ).first()
    if known is not None:
        return Published(0, 0, 0, already=True)
    superseded = 0
    for book in BOOKS.values():
        key = book.orders.c[book.key]
        stale = conn.execute(
            select(key)
            .where(
                book.orders.c.status.in_(OPEN_STATUSES),
                book.orders.c.run_id.is_not(None),
                book.orders.c.run_id != run_id,
            )
            .order_by(key)
        ).scalars()
        for order_id in list(stale):
            _step(
                conn, book, order_id, _Change("cancelled", f"superseded by run {run_id}", by, now)
            )
            superseded += 1
    for book, orders in ((BOOKS["transfer"], transfers), (BOOKS["purchase"], purchases)):
        _insert_proposed(conn, book, run_id, orders, by, now)
    conn.execute(
        insert(plan_publications).values(
            run_id=run_id, as_of=publication.as_of, basis_at=publication.basis_at, published_at=now
        )
    )
    # Only the latest night's figures are ever checked against: keep the table small.
    conn.execute(delete(source_stock).where(source_stock.c.run_id != run_id))
    rows = [
        {"run_id": run_id, "warehouse_id": w, "sku": s, "free": max(0, int(free))}
        for w, s, free in free_at_source
    ]
    if rows:
        conn.execute(insert(source_stock), rows)
    return Published(len(transfers.headers), len(purchases.headers), superseded, already=False)


def latest_publication(conn: Connection, *, lock: bool = False) -> Publication | None:
    """The newest night written into the store (by publishing time), or None.

    With ``lock`` its row is held (``FOR UPDATE`` on PostgreSQL) until the
    transaction ends: the transfer check's queue for the same units.
    """
    query = (
        select(plan_publications.c.run_id, plan_publications.c.as_of, plan_publications.c.basis_at)
        .order_by(plan_publications.c.published_at.desc(), plan_publications.c.run_id.desc())
        .limit(1)
    )
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else Publication(row.run_id, row.as_of, row.basis_at)


def changes_since(
    conn: Connection, kind: Kind, since: datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Every order with a status step at or after ``since`` (all orders for None).

    Returns the orders' headers, all their lines and their whole histories, as
    rows of the store's columns: what the nightly copies into its history.
    Every change (overrides included) adds a history row, so nothing changed
    is missed.
    """
    book = BOOKS[kind]
    key = book.history.c[book.key]
    changed = select(key).distinct()
    if since is not None:
        changed = changed.where(book.history.c.changed_at >= since)
    ids = changed.scalar_subquery()
    order_key, line_key = book.orders.c[book.key], book.lines.c[book.key]
    headers = [
        dict(r._mapping)
        for r in conn.execute(select(book.orders).where(order_key.in_(ids)).order_by(order_key))
    ]
    lines = [
        dict(r._mapping)
        for r in conn.execute(
            select(book.lines).where(line_key.in_(ids)).order_by(line_key, book.lines.c.line_no)
        )
    ]
    history = [
        dict(r._mapping)
        for r in conn.execute(
            select(book.history).where(key.in_(ids)).order_by(key, book.history.c.seq)
        )
    ]
    return headers, lines, history


def adopt(
    conn: Connection,
    kind: Kind,
    headers: Sequence[Mapping[str, Any]],
    lines: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
) -> int:
    """Take over orders kept before the store existed (rows of the same columns), verbatim.

    Only into a store that holds no order of this kind yet: the first night
    with a store adopts the database's workflow once (flows/store.py), and
    never again. Returns the number of orders adopted (0 when the store had some).
    """
    book = BOOKS[kind]
    if conn.execute(select(book.orders.c[book.key]).limit(1)).first() is not None:
        return 0
    for table, rows in ((book.orders, headers), (book.lines, lines), (book.history, history)):
        if rows:
            conn.execute(insert(table), [dict(row) for row in rows])
    return len(headers)


def publication(conn: Connection, run_id: str) -> Publication | None:
    """The night ``run_id`` as written into the store, or None (not published here)."""
    row = conn.execute(
        select(plan_publications.c.as_of, plan_publications.c.basis_at).where(
            plan_publications.c.run_id == run_id
        )
    ).first()
    return None if row is None else Publication(run_id, row.as_of, row.basis_at)


@dataclass(frozen=True)
class ReleasedLine:
    """A line of a released transfer order: stock on its way to ``to_warehouse_id``."""

    transfer_id: str
    to_warehouse_id: str
    sku: str
    needed_by: date
    quantity: int


def released_since(conn: Connection, since: datetime) -> list[ReleasedLine]:
    """Lines (quantity > 0) of transfer orders released at or after ``since``.

    What a snapshot published before cannot list: the API adds them to the
    stock a forward warehouse can sell once they are due.
    """
    history = transfer_order_status_history.c
    released = (
        select(history.transfer_id)
        .where(history.status == "released", history.changed_at >= since)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            transfer_orders.c.transfer_id,
            transfer_orders.c.to_warehouse_id,
            transfer_order_lines.c.sku,
            transfer_orders.c.needed_by,
            transfer_order_lines.c.quantity,
        )
        .join(
            transfer_order_lines,
            transfer_order_lines.c.transfer_id == transfer_orders.c.transfer_id,
        )
        .where(
            transfer_orders.c.status == "released",
            transfer_orders.c.transfer_id.in_(released),
            transfer_order_lines.c.quantity > 0,
        )
        .order_by(transfer_orders.c.transfer_id, transfer_order_lines.c.line_no)
    ).all()
    return [ReleasedLine(*row) for row in rows]


def last_release(conn: Connection) -> datetime | None:
    """When a transfer order was last released (None: never)."""
    history = transfer_order_status_history.c
    found: datetime | None = conn.execute(
        select(func.max(history.changed_at)).where(history.status == "released")
    ).scalar()
    return found


# ---- the planner's side ------------------------------------------------------------------


def approve(
    conn: Connection, kind: Kind, order_id: str, *, by: str, reason: str | None = None
) -> WorkflowOrder:
    """Approve a proposed order as it stands."""
    book = BOOKS[kind]
    _step(conn, book, order_id, _Change("approved", _optional(reason), by, datetime.now(UTC)))
    return get_order(conn, kind, order_id)


def override(
    conn: Connection,
    kind: Kind,
    order_id: str,
    quantities: Mapping[str, int],
    *,
    reason: str,
    by: str,
) -> WorkflowOrder:
    """Set the quantity of some lines (by SKU) and mark the order overridden.

    Raises
    ------
    WorkflowInputError
        No reason, no lines, too many, a SKU not on the order, a quantity that
        is not an integer in 0 to :data:`MAX_LINE_QUANTITY`.
    WorkflowConflictError
        The order can no longer change, or the kind's check refuses (module docstring).
    UnknownOrderError
        No such order.
    """
    book = BOOKS[kind]
    why = (reason or "").strip()
    if not why:
        raise WorkflowInputError(f"{order_id}: an override needs a reason")
    if not quantities:
        raise WorkflowInputError(f"{order_id}: an override needs at least one line")
    if len(quantities) > MAX_OVERRIDE_LINES:
        raise WorkflowInputError(
            f"{order_id}: at most {MAX_OVERRIDE_LINES} lines per override, got {len(quantities)}"
        )
    for sku, quantity in quantities.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise WorkflowInputError(
                f"{order_id}: quantity for {sku!r} must be an integer, got {quantity!r}"
            )
        if not 0 <= quantity <= MAX_LINE_QUANTITY:
            raise WorkflowInputError(
                f"{order_id}: quantity for {sku!r} must be in 0-{MAX_LINE_QUANTITY}, got {quantity}"
            )
    before = _quantities(conn, book, order_id)
    if not before and _status(conn, book, order_id) is None:
        raise UnknownOrderError(f"unknown {book.noun} {order_id!r}")
    missing = sorted(set(quantities) - set(before))
    if missing:
        raise WorkflowInputError(f"{order_id}: sku {missing[0]!r} is not on this order")
    now = datetime.now(UTC)
    _step(conn, book, order_id, _Change("overridden", why, by, now), record=False)
    after = {**before, **quantities}
    _CHECKS[kind](conn, book, order_id, after, releasing=False)
    line_key = book.lines.c[book.key]
    for sku, quantity in sorted(quantities.items()):
        conn.execute(
            update(book.lines)
            .where(line_key == order_id, book.lines.c.sku == sku)
            .values(quantity=quantity)
        )
    changed = {sku: q for sku, q in sorted(quantities.items()) if before[sku] != q}
    audit.record(
        conn,
        audit.AuditEntry(
            by,
            now,
            "override",
            book.orders.name.removesuffix("s"),
            order_id,
            {"quantities": {sku: before[sku] for sku in changed}},
            {"status": "overridden", "quantities": changed},
            why,
        ),
    )
    return get_order(conn, kind, order_id)


def release(
    conn: Connection, kind: Kind, order_id: str, *, by: str, reason: str | None = None
) -> WorkflowOrder:
    """Release an approved or overridden order, if its kind's check lets it go."""
    book = BOOKS[kind]
    _step(conn, book, order_id, _Change("released", _optional(reason), by, datetime.now(UTC)))
    _CHECKS[kind](conn, book, order_id, _quantities(conn, book, order_id), releasing=True)
    return get_order(conn, kind, order_id)


def cancel(conn: Connection, kind: Kind, order_id: str, *, reason: str, by: str) -> WorkflowOrder:
    """Cancel an order that has not been released; a reason is required."""
    book = BOOKS[kind]
    why = (reason or "").strip()
    if not why:
        raise WorkflowInputError(f"{order_id}: a cancellation needs a reason")
    _step(conn, book, order_id, _Change("cancelled", why, by, datetime.now(UTC)))
    return get_order(conn, kind, order_id)


# ---- reading -----------------------------------------------------------------------------


def get_order(conn: Connection, kind: Kind, order_id: str) -> WorkflowOrder:
    """One order with its lines and history.

    Raises
    ------
    UnknownOrderError
        No such order.
    """
    book = BOOKS[kind]
    head = conn.execute(select(book.orders).where(book.orders.c[book.key] == order_id)).first()
    if head is None:
        raise UnknownOrderError(f"unknown {book.noun} {order_id!r}")
    lines = conn.execute(
        select(book.lines).where(book.lines.c[book.key] == order_id).order_by(book.lines.c.line_no)
    ).all()
    history = conn.execute(
        select(book.history)
        .where(book.history.c[book.key] == order_id)
        .order_by(book.history.c.seq)
    ).all()
    header = dict(head._mapping)
    return WorkflowOrder(
        kind=kind,
        order_id=order_id,
        status=header["status"],
        header=header,
        lines=tuple(_plain(dict(r._mapping)) for r in lines),
        history=tuple(
            StatusStep(r.seq, r.status, r.reason, r.changed_by, r.changed_at) for r in history
        ),
    )


@dataclass(frozen=True)
class WorkflowPage:
    """Orders by id with their line totals; ``next_after`` is the last id (None: last page)."""

    items: tuple[Mapping[str, Any], ...]
    next_after: str | None


def list_orders(
    conn: Connection,
    kind: Kind,
    *,
    status: str | None = None,
    warehouse_id: str | None = None,
    run_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> WorkflowPage:
    """A page of orders by id, each with ``lines``, ``proposed_units``, ``units`` (and
    ``allocated_units`` for transfers, ``value`` for purchases).

    ``warehouse_id`` keeps a transfer from or to it, a purchase order of that DC;
    ``run_id`` the orders one night proposed.

    Raises
    ------
    ValueError
        ``limit`` below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    book = BOOKS[kind]
    o, line = book.orders, book.lines
    key = o.c[book.key]
    totals = [
        func.count(line.c.line_no).label("lines"),
        func.coalesce(func.sum(line.c.proposed_quantity), 0).label("proposed_units"),
        func.coalesce(func.sum(line.c.quantity), 0).label("units"),
    ]
    if kind == "transfer":
        totals.append(
            func.coalesce(func.sum(line.c.allocated_quantity), 0).label("allocated_units")
        )
    else:
        totals.append(func.sum(line.c.quantity * line.c.unit_cost).label("value"))
    query = (
        select(o, *totals)
        .select_from(o.outerjoin(line, line.c[book.key] == key))
        .group_by(*o.c)
        .order_by(key)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(o.c.status == status)
    if run_id is not None:
        query = query.where(o.c.run_id == run_id)
    if warehouse_id is not None:
        if kind == "transfer":
            query = query.where(
                (o.c.from_warehouse_id == warehouse_id) | (o.c.to_warehouse_id == warehouse_id)
            )
        else:
            query = query.where(o.c.dc_id == warehouse_id)
    if after is not None:
        query = query.where(key > after)
    rows = [_plain(dict(r._mapping)) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return WorkflowPage(tuple(rows), rows[-1][book.key] if more else None)


# ---- inside a change ---------------------------------------------------------------------


def _insert_proposed(
    conn: Connection, book: Book, run_id: str, orders: OrderSet, by: str, now: datetime
) -> None:
    if not orders.headers:
        return
    loops = [
        h
        for h in orders.headers
        if book.kind == "transfer" and h["from_warehouse_id"] == h["to_warehouse_id"]
    ]
    if loops:
        raise WorkflowInputError(f"transfer {loops[0][book.key]!r} goes from a warehouse to itself")
    conn.execute(
        insert(book.orders),
        [
            {**h, "run_id": run_id, "created_at": now, "status": "proposed", "status_reason": None}
            for h in orders.headers
        ],
    )
    if orders.lines:
        conn.execute(insert(book.lines), [dict(line) for line in orders.lines])
    conn.execute(
        insert(book.history),
        [
            {
                book.key: h[book.key],
                "seq": 1,
                "status": "proposed",
                "reason": f"nightly plan {run_id}",
                "changed_by": by,
                "changed_at": now,
            }
            for h in orders.headers
        ],
    )


@dataclass(frozen=True)
class _Change:
    status: str
    reason: str | None
    by: str
    now: datetime


def _step(
    conn: Connection, book: Book, order_id: str, change: _Change, *, record: bool = True
) -> str:
    """Move the order to ``change.status`` if the workflow allows it now; return the status
    it had. ``record``: also write the audit entry (an override writes its own)."""
    status, reason, by, now = change.status, change.reason, change.by, change.now
    allowed_from = [s for s, targets in TRANSITIONS.items() if status in targets]
    key = book.orders.c[book.key]
    done = conn.execute(
        update(book.orders)
        .where(key == order_id, book.orders.c.status.in_(allowed_from))
        .values(status=status, status_reason=reason)
    )
    if done.rowcount != 1:
        current = _status(conn, book, order_id)
        if current is None:
            raise UnknownOrderError(f"unknown {book.noun} {order_id!r}")
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise WorkflowConflictError(
            f"{order_id}: cannot go from {current} to {status}; allowed: {allowed}"
        )
    history_key = book.history.c[book.key]
    seq = conn.execute(
        select(func.coalesce(func.max(book.history.c.seq), 0) + 1).where(history_key == order_id)
    ).scalar_one()
    previous = conn.execute(
        select(book.history.c.status).where(history_key == order_id, book.history.c.seq == seq - 1)
    ).scalar()
    conn.execute(
        insert(book.history).values(
            {
                book.key: order_id,
                "seq": seq,
                "status": status,
                "reason": reason,
                "changed_by": by,
                "changed_at": now,
            }
        )
    )
    if record:
        audit.record(
            conn,
            audit.AuditEntry(
                by,
                now,
                _ACTIONS[status],
                book.orders.name.removesuffix("s"),
                order_id,
                {"status": previous},
                {"status": status},
                reason,
            ),
        )
    return str(previous)


_ACTIONS = {
    "approved": "approve",
    "overridden": "override",
    "released": "release",
    "cancelled": "cancel",
}


def _status(conn: Connection, book: Book, order_id: str) -> str | None:
    found: str | None = conn.execute(
        select(book.orders.c.status).where(book.orders.c[book.key] == order_id)
    ).scalar()
    return found


def _quantities(conn: Connection, book: Book, order_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(book.lines.c.sku, book.lines.c.quantity).where(book.lines.c[book.key] == order_id)
    ).all()
    return {sku: int(q) for sku, q in rows}


def _check_transfer(
    conn: Connection, book: Book, order_id: str, asked: Mapping[str, int], *, releasing: bool
) -> None:
    """Refuse lines above the source's free stock (module docstring)."""
    wanted = {sku: q for sku, q in asked.items() if q > 0}
    if not wanted:
        if releasing:
            raise WorkflowConflictError(
                f"{order_id}: every line is 0, nothing to release; cancel it"
            )
        return
    source = conn.execute(
        select(transfer_orders.c.from_warehouse_id).where(transfer_orders.c.transfer_id == order_id)
    ).scalar_one()
    latest = latest_publication(conn, lock=True)
    if latest is None:
        raise WorkflowConflictError(
            f"{order_id}: no nightly plan has been published into the store, so the stock "
            f"free at {source} is unknown"
        )
    skus = sorted(wanted)
    free: dict[str, int] = dict(
        conn.execute(
            select(source_stock.c.sku, source_stock.c.free).where(
                source_stock.c.run_id == latest.run_id,
                source_stock.c.warehouse_id == source,
                source_stock.c.sku.in_(skus),
            )
        )
        .tuples()
        .all()
    )
    released_since = (
        select(transfer_order_status_history.c.transfer_id)
        .where(
            transfer_order_status_history.c.status == "released",
            transfer_order_status_history.c.changed_at >= latest.basis_at,
        )
        .scalar_subquery()
    )
    committed: dict[str, int] = dict(
        conn.execute(
            select(transfer_order_lines.c.sku, func.sum(transfer_order_lines.c.quantity))
            .join(
                transfer_orders,
                transfer_orders.c.transfer_id == transfer_order_lines.c.transfer_id,
            )
            .where(
                transfer_orders.c.from_warehouse_id == source,
                transfer_orders.c.status == "released",
                transfer_orders.c.transfer_id != order_id,
                transfer_orders.c.transfer_id.in_(released_since),
                transfer_order_lines.c.sku.in_(skus),
            )
            .group_by(transfer_order_lines.c.sku)
        )
        .tuples()
        .all()
    )
    short = []
    for sku in skus:
        left = max(0, int(free.get(sku, 0)) - int(committed.get(sku, 0)))
        if wanted[sku] > left:
            short.append(f"{sku!r}: {wanted[sku]} asked, {left} free at {source}")
    if short:
        raise WorkflowConflictError(
            f"{order_id}: more than the source has free (on hand − reserved − released orders "
            "not yet shipped): " + "; ".join(short)
        )


def _check_purchase(
    conn: Connection, book: Book, order_id: str, asked: Mapping[str, int], *, releasing: bool
) -> None:
    """Refuse lines the supplier's terms refuse, and a release of nothing."""
    terms = conn.execute(
        select(
            purchase_order_lines.c.sku, purchase_order_lines.c.case_pack, purchase_order_lines.c.moq
        )
        .where(purchase_order_lines.c.po_id == order_id)
        .order_by(purchase_order_lines.c.sku)
    ).all()
    refused = [
        f"{sku!r}: {asked[sku]} is not 0 or whole cases of {case} from the MOQ {moq}"
        for sku, case, moq in terms
        if case and asked.get(sku, 0) and (asked[sku] % case or asked[sku] < (moq or 0))
    ]
    if refused:
        raise WorkflowConflictError(
            f"{order_id}: the supplier's terms refuse " + "; ".join(refused)
        )
    if releasing and not any(asked.values()):
        raise WorkflowConflictError(
            f"{order_id}: every line is 0, nothing to release; cancel it instead"
        )


_CHECKS = {"transfer": _check_transfer, "purchase": _check_purchase}


def _optional(reason: str | None) -> str | None:
    return (reason or "").strip() or None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals (unit costs, values) as floats: the callers speak JSON and polars."""
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}
