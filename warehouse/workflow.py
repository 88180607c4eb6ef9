"""The planner's status workflow that transfer orders and purchase orders share, in DuckDB.

With an operational store (API.md; the default for ``partsflow nightly`` and
the API) the workflow lives there (``ops.workflow``): these tables hold the
history copy the night reads (:func:`copy_from_store`) and the proposals it
writes before publishing them there (:func:`run_orders`). Without one (the
closed-loop simulation, ``DataPaths.ops_url`` None) the functions below are
the workflow itself.

Every change is a row of the order's status history::

    proposed ──approve──▶ approved ──release──▶ released
        │                    │                     ▲
        └──override──▶ overridden ─────release─────┘
    proposed / approved / overridden ──cancel──▶ cancelled

* **override** sets line quantities and needs a reason; an overridden order
  can be overridden again before release.
* **release** hands the order over (to the DC, to the supplier): nothing
  changes after it.
* **cancel** needs a reason; a released order cannot be cancelled.

An :class:`OrderBook` names a kind of order's tables, so one machine serves
both kinds and the messages read the same. What only one kind checks (a
transfer's source stock, a purchase's case pack) comes in as a :data:`Check`,
run inside the change's transaction *after* the status change: a wrong
status is reported first, and a refusal rolls the status back with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

# The one status machine, shared with the operational store.
from ops.workflow import TRANSITIONS
from warehouse.frames import registered, transaction


class WorkflowError(ValueError):
    """An order change that is not allowed (unknown order, wrong status, bad line)."""


@dataclass(frozen=True)
class OrderBook:
    """Where one kind of order lives: its tables, id column and error type.

    The tables have the shape of ``transfer_orders`` (``status``,
    ``status_reason``, ``run_id``, ``created_at``), of its lines (``sku``,
    ``quantity``) and of its history (``seq, status, reason, changed_by,
    changed_at``), each keyed by ``key``. The names are constants of this
    package, never user input, so they are formatted into the SQL.
    """

    noun: str
    orders: str
    lines: str
    history: str
    key: str
    error: type[WorkflowError]


#: A kind-specific check of an override (the quantities asked, by SKU) or a
#: release (empty mapping): raise the book's error to refuse the change.
Check = Callable[[duckdb.DuckDBPyConnection, str, Mapping[str, int]], None]


def insert_proposed(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    run_id: str,
    orders: tuple[pl.DataFrame, pl.DataFrame],
    changed_by: str,
    now: datetime,
) -> None:
    """Insert a run's orders (headers, lines) as ``proposed``, history ``seq 1``.

    Columns the frames lack take the table's default (``status_reason`` NULL).
    Call inside the caller's transaction.
    """
    headers, lines = orders
    with registered(con, headers) as head_rows, registered(con, lines) as line_rows:
        con.execute(
            f"""
            INSERT INTO {book.orders} BY NAME
            SELECT *, $run_id AS run_id, $now AS created_at, 'proposed' AS status
            FROM {head_rows}
            """,
            {"run_id": run_id, "now": now},
        )
        con.execute(f"INSERT INTO {book.lines} BY NAME SELECT * FROM {line_rows}")
        con.execute(
            f"""
            INSERT INTO {book.history}
            SELECT {book.key}, 1, 'proposed', 'nightly plan ' || $run_id, $by, $now
            FROM {head_rows}
            """,
            {"run_id": run_id, "by": changed_by, "now": now},
        )


def open_of_earlier_runs(con: duckdb.DuckDBPyConnection, book: OrderBook, run_id: str) -> list[str]:
    """Ids of the open orders other nightly runs proposed (orders entered by hand have no run)."""
    rows = con.execute(
        f"SELECT {book.key} FROM {book.orders} "
        "WHERE status IN ('proposed', 'approved', 'overridden') "
        f"AND run_id IS NOT NULL AND run_id <> ? ORDER BY {book.key}",
        [run_id],
    ).fetchall()
    return [order_id for (order_id,) in rows]


def supersede(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    order_ids: Iterable[str],
    run_id: str,
    changed_by: str,
    now: datetime,
) -> int:
    """Cancel ``order_ids`` with the reason ``superseded by run {run_id}``; return how many.

    Call inside the caller's transaction.
    """
    count = 0
    for order_id in order_ids:
        set_status(con, book, order_id, "cancelled", f"superseded by run {run_id}", changed_by, now)
        count += 1
    return count


def approve(
    con: duckdb.DuckDBPyConnection, book: OrderBook, order_id: str, changed_by: str
) -> None:
    """Approve a proposed order as it stands."""
    with transaction(con):
        set_status(con, book, order_id, "approved", None, changed_by, datetime.now(UTC))


def override(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    order_id: str,
    quantities: Mapping[str, int],
    reason: str,
    changed_by: str,
    check: Check | None = None,
) -> None:
    """Set the quantity of some lines (by SKU) and mark the order overridden.

    Raises
    ------
    WorkflowError
        (the book's subclass) Without a reason or lines, for a SKU not on the
        order, a quantity that is not an integer ≥ 0, an order that can no
        longer change, or when ``check`` refuses the quantities.
    """
    if not reason.strip():
        raise book.error(f"{order_id}: an override needs a reason")
    if not quantities:
        raise book.error(f"{order_id}: an override needs at least one line")
    with transaction(con):
        on_order = {
            sku
            for (sku,) in con.execute(
                f"SELECT sku FROM {book.lines} WHERE {book.key} = ?", [order_id]
            ).fetchall()
        }
        for sku, quantity in quantities.items():
            if sku not in on_order:
                raise book.error(f"{order_id}: sku {sku!r} is not on this order")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise book.error(
                    f"{order_id}: quantity for {sku!r} must be an integer >= 0, got {quantity!r}"
                )
        set_status(con, book, order_id, "overridden", reason.strip(), changed_by, datetime.now(UTC))
        if check is not None:
            check(con, order_id, quantities)
        for sku, quantity in quantities.items():
            con.execute(
                f"UPDATE {book.lines} SET quantity = ? WHERE {book.key} = ? AND sku = ?",
                [quantity, order_id, sku],
            )


def release(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    order_id: str,
    changed_by: str,
    check: Check | None = None,
) -> None:
    """Release an approved or overridden order, if ``check`` lets it go."""
    with transaction(con):
        set_status(con, book, order_id, "released", None, changed_by, datetime.now(UTC))
        if check is not None:
            check(con, order_id, {})


def cancel(
    con: duckdb.DuckDBPyConnection, book: OrderBook, order_id: str, reason: str, changed_by: str
) -> None:
    """Cancel an order that has not been released; a reason is required."""
    if not reason.strip():
        raise book.error(f"{order_id}: a cancellation needs a reason")
    with transaction(con):
        set_status(con, book, order_id, "cancelled", reason.strip(), changed_by, datetime.now(UTC))


def history(con: duckdb.DuckDBPyConnection, book: OrderBook, order_id: str) -> pl.DataFrame:
    """The order's statuses in order: ``seq, status, reason, changed_by, changed_at``."""
    return con.sql(
        "SELECT seq, status, reason, changed_by, changed_at "
        f"FROM {book.history} WHERE {book.key} = ? ORDER BY seq",
        params=[order_id],
    ).pl()


def set_status(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    order_id: str,
    status: str,
    reason: str | None,
    changed_by: str,
    now: datetime,
) -> None:
    """Move an order to ``status`` if :data:`TRANSITIONS` allows it, and record the step.

    Call inside a transaction.

    Raises
    ------
    WorkflowError
        (the book's subclass) For an unknown order or a step the workflow does not allow.
    """
    rows = con.execute(
        f"SELECT status FROM {book.orders} WHERE {book.key} = ?", [order_id]
    ).fetchall()
    if not rows:
        raise book.error(f"unknown {book.noun} {order_id!r}")
    current = rows[0][0]
    if status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise book.error(f"{order_id}: cannot go from {current} to {status}; allowed: {allowed}")
    con.execute(
        f"UPDATE {book.orders} SET status = ?, status_reason = ? WHERE {book.key} = ?",
        [status, reason, order_id],
    )
    con.execute(
        f"""
        INSERT INTO {book.history}
        SELECT ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?
        FROM {book.history} WHERE {book.key} = ?
        """,
        [order_id, status, reason, changed_by, now, order_id],
    )


# ---- the history copy of the operational store's workflow ----------------------------------
#
# With an operational store (API.md) the workflow lives there; these tables keep the copy
# the nightly reads for in-transit stock and the plan's history. The store's rows win.


def copy_from_store(
    con: duckdb.DuckDBPyConnection,
    book: OrderBook,
    headers: pl.DataFrame,
    lines: pl.DataFrame,
    history: pl.DataFrame,
) -> int:
    """Make these orders here what the store says: headers, lines, whole histories.

    ``headers``/``lines``/``history`` are the store's rows of the orders that
    changed (``ops.workflow.changes_since``); columns this table lacks are
    dropped. Steps recorded here beyond the store's (a supersede the store
    never saw) are removed; orders of runs this database does not know are left
    out. Call inside the caller's transaction. Returns the number of orders copied.
    """
    if headers.is_empty():
        return 0
    # Orders of runs this database does not know (a store shared by mistake, a database
    # rebuilt) cannot be kept here: their run is a foreign key. They are left out.
    known = con.execute(
        "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest($ids))",
        {"ids": headers["run_id"].drop_nulls().unique().to_list()},
    ).fetchall()
    kept = headers.filter(
        pl.col("run_id").is_null() | pl.col("run_id").is_in([r for (r,) in known])
    )
    if kept.height < headers.height:
        ids = kept[book.key]
        headers = kept
        lines = lines.filter(pl.col(book.key).is_in(ids)) if not lines.is_empty() else lines
        history = history.filter(pl.col(book.key).is_in(ids))
    if headers.is_empty():
        return 0
    # Only what the workflow changes is updated: DuckDB updates an indexed column (a key,
    # a foreign key) as a delete and an insert, which a referenced row cannot take.
    for table, rows, changing in (
        (book.orders, headers, ("status", "status_reason")),
        (book.lines, lines, ("quantity",)),
        (book.history, history, ("status", "reason", "changed_by", "changed_at")),
    ):
        if rows.is_empty():
            continue
        columns = [c for c in _columns(con, table) if c in rows.columns]
        updates = ", ".join(f"{c} = excluded.{c}" for c in changing)
        listed = ", ".join(columns)
        with registered(con, rows.select(columns)) as name:
            con.execute(
                f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {name} "
                f"ON CONFLICT DO UPDATE SET {updates}"
            )
    latest = history.group_by(book.key).agg(pl.col("seq").max().alias("last_seq"))
    with registered(con, latest) as name:
        con.execute(
            f"DELETE FROM {book.history} h USING {name} s "
            f"WHERE h.{book.key} = s.{book.key} AND h.seq > s.last_seq"
        )
    return headers.height


def run_orders(
    con: duckdb.DuckDBPyConnection, book: OrderBook, run_id: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The run's orders as proposed (headers without status, and their lines), by id."""
    headers = con.sql(
        f"SELECT * EXCLUDE (run_id, created_at, status, status_reason) FROM {book.orders} "
        f"WHERE run_id = ? ORDER BY {book.key}",
        params=[run_id],
    ).pl()
    lines = con.sql(
        f"SELECT l.* FROM {book.lines} l JOIN {book.orders} o USING ({book.key}) "
        f"WHERE o.run_id = ? ORDER BY l.{book.key}, l.line_no",
        params=[run_id],
    ).pl()
    return headers, lines


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [name for (name,) in rows]
