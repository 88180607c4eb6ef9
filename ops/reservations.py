"""Stock that orders reserve: one counter per (warehouse, SKU), never oversold.

``base`` is what a published snapshot says a forward warehouse has (on hand at
its latest count plus released transfers due); ``reserved`` is the units of
orders placed since that count. Free stock is ``base - reserved``.

A reservation is ONE conditional statement::

    UPDATE stock_reservations SET reserved = reserved + :q
     WHERE plan_run_id = :run AND warehouse_id = :w AND sku = :s
       AND base - reserved >= :q

and it succeeded iff it changed a row. No read-then-write window exists for a
concurrent order to slip through: on SQLite writers are serialised
(``BEGIN IMMEDIATE``); on PostgreSQL the second UPDATE of a row waits for the
first one's transaction and re-checks the condition on the committed row.
Rows are always updated in (warehouse, SKU) order, so two orders touching the
same SKUs lock them in the same order and cannot deadlock.

Which run's counters orders use is the one row of ``active_stock_run``.
:func:`load_bases` switches it; orders and cancellations read it ``FOR
SHARE``, so on PostgreSQL a switch waits for those in flight and those that
follow see the new run. The new run's ``reserved`` is recomputed from the
orders themselves (every order not cancelled, placed after that warehouse's
count), so no reservation is lost or counted twice across a switch.
``reserved`` may exceed a new ``base`` (a count lower than what was sold
since): free stock is then 0, not negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    ScalarSelect,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ops.schema import active_stock_run, part_order_lines, part_orders, stock_reservations

#: A reservation counter's key: (warehouse_id, sku).
StockKey = tuple[str, str]


class NoStockLoadedError(RuntimeError):
    """No snapshot's stock has been loaded yet: nothing can be reserved (the API's 503)."""


@dataclass(frozen=True)
class StockBase:
    """A published snapshot's stock of one SKU at one warehouse."""

    warehouse_id: str
    sku: str
    base: int
    counted_at: datetime

    def __post_init__(self) -> None:
        if not self.warehouse_id or not self.sku:
            raise ValueError("a stock base needs a warehouse_id and a sku")
        if isinstance(self.base, bool) or not isinstance(self.base, int) or self.base < 0:
            raise ValueError(
                f"base of {self.sku} at {self.warehouse_id} must be an integer >= 0, "
                f"got {self.base!r}"
            )
        if self.counted_at.tzinfo is None:
            raise ValueError(f"counted_at needs a time zone, got {self.counted_at}")


@dataclass(frozen=True)
class Short:
    """A line that could not be reserved: what was asked and what was free."""

    warehouse_id: str
    sku: str
    requested: int
    available: int


def load_bases(
    conn: Connection, plan_run_id: str, rows: Iterable[StockBase], *, now: datetime | None = None
) -> int:
    """Make ``plan_run_id``'s stock the one orders reserve against (or reload it).

    Runs in the caller's transaction; commit it to switch. Earlier runs'
    counters are dropped: after the switch nothing reserves against them.

    Parameters
    ----------
    plan_run_id
        The published snapshot's run.
    rows
        One :class:`StockBase` per (warehouse, SKU) that can be ordered.
    now
        The switch time (default: now); no count may be later.

    Returns
    -------
    int
        The number of (warehouse, SKU) counters loaded.

    Raises
    ------
    ValueError
        A (warehouse, SKU) twice, or a count time in the future.
    """
    now = now or datetime.now(UTC)
    bases: dict[StockKey, StockBase] = {}
    for row in rows:
        key = (row.warehouse_id, row.sku)
        if key in bases:
            raise ValueError(f"stock of {row.sku} at {row.warehouse_id} given twice")
        if row.counted_at > now:
            raise ValueError(
                f"count of {row.sku} at {row.warehouse_id} is in the future: {row.counted_at}"
            )
        bases[key] = row
    # First the switch: on PostgreSQL it waits here for orders in flight (they hold the
    # row FOR SHARE), so the recount below sees every one of them committed.
    # An upsert: two API workers starting on an empty store both load; an insert after a
    # look for the row let the second fail on the first's (a unique violation on PostgreSQL).
    upsert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
        active_stock_run
    ).values(slot=1, plan_run_id=plan_run_id, loaded_at=now)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[active_stock_run.c.slot],
            set_={"plan_run_id": plan_run_id, "loaded_at": now},
        )
    )
    conn.execute(delete(stock_reservations))
    if bases:
        conn.execute(
            insert(stock_reservations),
            [
                {
                    "plan_run_id": plan_run_id,
                    "warehouse_id": row.warehouse_id,
                    "sku": row.sku,
                    "base": row.base,
                    "reserved": 0,
                    "counted_at": row.counted_at,
                    "updated_at": now,
                }
                for row in bases.values()
            ],
        )
    conn.execute(
        update(stock_reservations)
        .where(stock_reservations.c.plan_run_id == plan_run_id)
        .values(reserved=_sold_since_count())
    )
    if conn.dialect.name == "postgresql":
        # Fresh statistics now, not at autovacuum's next pass (up to a minute on): with the
        # table's old ones the planner found free stock by (run, warehouse) alone and filtered
        # the SKUs, ~4,500 rows a warehouse on the medium network: 2.4 ms a read, 0.17 after.
        conn.execute(text("ANALYZE stock_reservations"))
    return len(bases)


def active_run(conn: Connection, *, lock: bool = False) -> str | None:
    """The plan run orders reserve against, or ``None`` before the first load.

    With ``lock``, hold it (``FOR SHARE`` on PostgreSQL) until the transaction
    ends, so :func:`load_bases` cannot switch runs under a reservation.
    """
    return conn.execute(_ACTIVE_SHARED if lock else _ACTIVE).scalar_one_or_none()


_ACTIVE = select(active_stock_run.c.plan_run_id).where(active_stock_run.c.slot == 1)
_ACTIVE_SHARED = _ACTIVE.with_for_update(read=True)


def active_load(conn: Connection) -> tuple[str, datetime] | None:
    """The active run and when its bases were loaded, or ``None`` before the first load.

    Lets a reader that loads bases (each API worker) skip a load another one
    has already made of the same run today.
    """
    row = conn.execute(
        select(active_stock_run.c.plan_run_id, active_stock_run.c.loaded_at).where(
            active_stock_run.c.slot == 1
        )
    ).one_or_none()
    return None if row is None else (row.plan_run_id, row.loaded_at)


def free_stock(conn: Connection, keys: Iterable[StockKey]) -> dict[StockKey, int]:
    """Units free now (``base - reserved``, never below 0) per (warehouse, SKU) asked.

    A pair the active run does not stock is 0, as is every pair before the first load.
    One statement (the active run is a subquery of it): a round trip on PostgreSQL.
    """
    wanted = set(keys)
    free = dict.fromkeys(wanted, 0)
    if not wanted:
        return free
    rows = conn.execute(
        _FREE_ANY if conn.dialect.name == "postgresql" else _FREE,
        {
            "warehouses": sorted({warehouse_id for warehouse_id, _ in wanted}),
            "skus": sorted({sku for _, sku in wanted}),
        },
    )
    for warehouse_id, sku, units in rows:
        if (warehouse_id, sku) in free:
            free[warehouse_id, sku] = max(0, units)
    return free


def _free_of(warehouses: ColumnElement[bool], skus: ColumnElement[bool]) -> Select[Any]:
    """Free units of the active run's counters whose warehouse and SKU match."""
    table = stock_reservations.c
    active = select(active_stock_run.c.plan_run_id).where(active_stock_run.c.slot == 1)
    return select(table.warehouse_id, table.sku, table.base - table.reserved).where(
        table.plan_run_id == active.scalar_subquery(), warehouses, skus
    )


# Built once (SQLAlchemy caches its compiled form): availability runs it on every request.
# Both key columns, so the rows are found by the primary key (run, warehouse, SKU): by SKU
# alone SQLite read every counter of the run, ~27 k on the medium network, 2.5 ms.
_FREE = _free_of(
    stock_reservations.c.warehouse_id.in_(bindparam("warehouses", expanding=True)),
    stock_reservations.c.sku.in_(bindparam("skus", expanding=True)),
)
# The same on PostgreSQL with the lists as two array parameters (= ANY): one SQL text for any
# number of SKUs, so psycopg's prepared statement serves every request, and SQLAlchemy renders
# no expanded IN list per execution (~5 % of the API worker's CPU in a py-spy profile of
# availability on PostgreSQL).
_FREE_ANY = _free_of(
    stock_reservations.c.warehouse_id == any_(bindparam("warehouses", type_=ARRAY(String))),
    stock_reservations.c.sku == any_(bindparam("skus", type_=ARRAY(String))),
)


def reserve(conn: Connection, wanted: Mapping[StockKey, int]) -> tuple[str, list[Short]]:
    """Reserve every (warehouse, SKU) quantity in ``wanted``, each with one atomic update.

    All or nothing: all pairs are tried, so the shorts name every SKU that is
    missing, and if any is short the pairs reserved are given back (each by
    its own update, on rows this transaction holds: no other one has seen
    them) before the shorts are returned. A savepoint would do the same at
    two round trips per order on PostgreSQL, taken by every order that
    succeeds; this costs only the refused ones.

    Returns
    -------
    tuple[str, list[Short]]
        The run reserved against and the pairs that were short (empty: all reserved).

    Raises
    ------
    NoStockLoadedError
        No snapshot's stock is loaded.
    """
    run = active_run(conn, lock=True)
    if run is None:
        raise NoStockLoadedError("no published stock is loaded: orders cannot be reserved yet")
    now = datetime.now(UTC)
    short: list[StockKey] = []
    reserved: list[StockKey] = []
    for warehouse_id, sku in sorted(wanted):
        changed = conn.execute(
            _RESERVE,
            {
                "r_run": run,
                "r_w": warehouse_id,
                "r_s": sku,
                "r_q": wanted[warehouse_id, sku],
                "r_now": now,
            },
        ).rowcount
        (reserved if changed == 1 else short).append((warehouse_id, sku))
    if not short:
        return run, []
    for warehouse_id, sku in reserved:
        conn.execute(
            _GIVE_BACK,
            {"r_run": run, "r_w": warehouse_id, "r_s": sku, "r_q": wanted[warehouse_id, sku]},
        )
    free = free_stock(conn, short)
    return run, [Short(w, s, wanted[w, s], free[w, s]) for w, s in short]


# The reservation (see the module), built once: an order runs it per line, on SQLite under
# the one write lock, where building the statement anew each time cost more than running it.
_RESERVE = (
    update(stock_reservations)
    .where(
        stock_reservations.c.plan_run_id == bindparam("r_run"),
        stock_reservations.c.warehouse_id == bindparam("r_w"),
        stock_reservations.c.sku == bindparam("r_s"),
        stock_reservations.c.base - stock_reservations.c.reserved >= bindparam("r_q"),
    )
    .values(
        reserved=stock_reservations.c.reserved + bindparam("r_q"),
        updated_at=bindparam("r_now", type_=stock_reservations.c.updated_at.type),
    )
)


# Undoes a reservation of this transaction (reserve, when another line of the order is short).
_GIVE_BACK = (
    update(stock_reservations)
    .where(
        stock_reservations.c.plan_run_id == bindparam("r_run"),
        stock_reservations.c.warehouse_id == bindparam("r_w"),
        stock_reservations.c.sku == bindparam("r_s"),
    )
    .values(reserved=stock_reservations.c.reserved - bindparam("r_q"))
)


def release(conn: Connection, placed_at: datetime, quantities: Mapping[StockKey, int]) -> None:
    """Free a cancelled order's units in the active run, where that run counts them.

    The active run counts an order placed after the warehouse's count; an
    order placed before it is already in the count, so nothing is freed there.
    """
    run = active_run(conn, lock=True)
    if run is None:
        return
    table = stock_reservations.c
    now = datetime.now(UTC)
    for warehouse_id, sku in sorted(quantities):
        conn.execute(
            update(stock_reservations)
            .where(
                table.plan_run_id == run,
                table.warehouse_id == warehouse_id,
                table.sku == sku,
                table.counted_at < placed_at,
            )
            .values(reserved=_minus(table.reserved, quantities[warehouse_id, sku]), updated_at=now)
        )


def _minus(reserved: ColumnElement[int], quantity: int) -> ColumnElement[int]:
    """``reserved - quantity``, never below 0 (the recount makes it so; this keeps the CHECK)."""
    return case((reserved >= quantity, reserved - quantity), else_=0)


def _sold_since_count() -> ScalarSelect[int]:
    """Per counter: the units of orders not cancelled, placed after the warehouse's count."""
    lines, orders, stock = part_order_lines.c, part_orders.c, stock_reservations.c
    return (
        select(func.coalesce(func.sum(lines.quantity), 0))
        .select_from(part_order_lines.join(part_orders))
        .where(
            and_(
                lines.warehouse_id == stock.warehouse_id,
                lines.sku == stock.sku,
                orders.status != "cancelled",
                orders.created_at > stock.counted_at,
            )
        )
        .scalar_subquery()
    )
