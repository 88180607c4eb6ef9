"""What the nightly reads from the operational store: part orders and returns, as frames.

The API's orders are demand (API.md): each night ``warehouse.duckdb`` takes in
the store's part orders (every status: a cancellation must reach the demand
history too) and returns, through the same validation and loading as a
landing file (``pipelines.ingest.ops_source``). This module is the store's
side of that: plain reads, in the caller's transaction (:func:`ops.reading`:
no write lock on SQLite), returning polars frames of the schemas below.

A night asks for what changed since the previous night's read (the caller
keeps that watermark):

* the lines of every order **updated** since then (``part_orders.updated_at``
  moves with every status change), so a cancellation, a dispatch or a
  delivery sends the whole order again;
* every return of each order that has a return **created** since then, with
  all that order's lines: a return names an order and a SKU, the history
  names an order line, and splitting a return over lines of the same SKU
  needs the returns before it.

Nothing here opens ``warehouse.duckdb`` (``ops`` stands alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Select, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ops.engine import make_engine, reading
from ops.schema import part_order_lines, part_orders, returns

_UTC = pl.Datetime("us", "UTC")

#: One row per order line, with its order's header (status, times) beside it.
ORDER_LINES = pl.Schema(
    {
        "order_id": pl.String(),
        "line_no": pl.Int64(),
        "store_id": pl.String(),
        "status": pl.String(),
        "vehicle_model_id": pl.String(),
        "created_at": _UTC,
        "updated_at": _UTC,
        "sku": pl.String(),
        "quantity": pl.Int64(),
        "warehouse_id": pl.String(),
    }
)
#: One row per return, as stored.
RETURNS = pl.Schema(
    {
        "return_id": pl.String(),
        "order_id": pl.String(),
        "store_id": pl.String(),
        "sku": pl.String(),
        "quantity": pl.Int64(),
        "reason": pl.String(),
        "created_at": _UTC,
    }
)


@dataclass(frozen=True)
class StoreChanges:
    """One read of the store: the changed orders' lines, the returns to take in and the
    lines of the orders they return (``ORDER_LINES``, ``RETURNS``, ``ORDER_LINES``)."""

    lines: pl.DataFrame
    returns: pl.DataFrame
    returned_lines: pl.DataFrame


def source_name(url: str) -> str:
    """How ingestion names the store (``source_file``): ``ops:`` and its URL, no password.

    Raises
    ------
    ValueError
        ``url`` is not a database URL.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"ops store URL {url!r} is not a database URL") from None
    return "ops:" + parsed.render_as_string(hide_password=True)


def open_existing(url: str) -> Engine | None:
    """The store at ``url``, or None where there is none yet: nothing is created.

    A SQLite file that does not exist, or a database without the store's
    tables (never migrated: no API has started on it), holds no orders. A
    store that exists but cannot be reached (a PostgreSQL server down) is an
    error, not an empty store. The caller disposes of the engine.

    Raises
    ------
    ValueError
        The URL is not one :func:`ops.make_engine` accepts.
    sqlalchemy.exc.OperationalError
        The database cannot be reached.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None  # make_engine names the problem
    database = parsed.database if parsed is not None else None
    if (
        parsed is not None
        and parsed.get_backend_name() == "sqlite"
        and database
        and not database.startswith("file:")
        and not Path(database).exists()
    ):
        return None
    engine = make_engine(url)
    try:
        with reading(engine) as conn:
            migrated = inspect(conn).has_table(part_orders.name)
    except BaseException:
        engine.dispose()
        raise
    if not migrated:
        engine.dispose()
        return None
    return engine


def read_changes(
    conn: Connection, *, orders_since: datetime | None, returns_since: datetime | None
) -> StoreChanges:
    """What changed in the store since the given moments (None: since the beginning).

    Parameters
    ----------
    conn
        A read transaction (:func:`ops.reading`). On SQLite its three reads see
        one state; on PostgreSQL (READ COMMITTED) each sees the state when it
        runs, which is as good: an order's lines never change once placed, a
        return's order exists before it, and what changes during the read is
        read again next time (the caller's watermark is taken before it).
    orders_since
        Orders updated at or after this moment (their status changed, or placed).
    returns_since
        Returns created at or after this moment.

    Returns
    -------
    StoreChanges
        Frames sorted by their keys (order and line, return).
    """
    for name, moment in (("orders_since", orders_since), ("returns_since", returns_since)):
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"{name} needs a time zone, got {moment}")
    orders = part_orders.c
    changed = select(orders.order_id)
    if orders_since is not None:
        changed = changed.where(orders.updated_at >= orders_since)
    returned = select(returns.c.order_id).distinct()
    if returns_since is not None:
        returned = returned.where(returns.c.created_at >= returns_since)
    taken = conn.execute(
        select(returns).where(returns.c.order_id.in_(returned)).order_by(returns.c.return_id)
    )
    return StoreChanges(
        lines=_lines(conn, changed),
        returns=_frame(taken.all(), RETURNS),
        returned_lines=_lines(conn, returned),
    )


def _lines(conn: Connection, order_ids: Select[Any]) -> pl.DataFrame:
    """The lines of the orders ``order_ids`` selects, each with its order's header."""
    orders, lines = part_orders.c, part_order_lines.c
    rows = conn.execute(
        select(
            orders.order_id,
            lines.line_no,
            orders.store_id,
            orders.status,
            orders.vehicle_model_id,
            orders.created_at,
            orders.updated_at,
            lines.sku,
            lines.quantity,
            lines.warehouse_id,
        )
        .select_from(part_orders.join(part_order_lines))
        .where(orders.order_id.in_(order_ids))
        .order_by(orders.order_id, lines.line_no)
    ).all()
    return _frame(rows, ORDER_LINES)


def _frame(rows: Sequence[Any], schema: pl.Schema) -> pl.DataFrame:
    """Rows (in the schema's column order) as a frame of ``schema``."""
    return pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")
