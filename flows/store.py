"""The night and the operational store's workflow: read what planners decided, publish proposals.

API.md: the transfer- and purchase-order workflow lives in the operational
store. The night

1. at its start, copies into ``warehouse.duckdb`` every order whose status
   changed since the last night read the store (:func:`copy_store_workflow`):
   released orders are in-transit stock, and the plan's history keeps what
   planners decided. The copy is history, the store's rows win;
2. when it publishes, writes tonight's proposals into the store, which
   supersedes the open orders of earlier nights there (:func:`publish_to_store`),
   with the source stock releases are checked against all day.

Without a store (``DataPaths.ops_url`` None: the closed-loop simulation) the
DuckDB tables are the workflow, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine, select

from ops import make_engine, reading, targets, upgrade
from ops import workflow as store
from optimization.replenishment.service import ServiceTarget, TargetKind
from warehouse import purchasing, replenishment, runs, transfers, workflow
from warehouse.frames import transaction
from warehouse.schema import connect

#: Read again what changed this long before the last night read the store: a change
#: whose transaction was still open then is not missed (copying twice is harmless).
REREAD = timedelta(minutes=10)
#: ``basis_at`` is set this long before the read: a release committed around it is counted
#: both in tonight's free stock and as released since (refusing more, never overselling).
BASIS_MARGIN = timedelta(minutes=1)

_BOOKS: dict[store.Kind, workflow.OrderBook] = {
    "transfer": transfers.TRANSFERS,
    "purchase": purchasing.PURCHASES,
}


@dataclass(frozen=True)
class Copied:
    """What :func:`copy_workflow` copied, and the basis of tonight's figures."""

    basis_at: datetime
    since: datetime | None  # None: the whole store
    transfers: int
    purchases: int


def copy_workflow(db_path: Path, ops_url: str) -> Copied:
    """Copy the orders that changed in the store since the last night looked.

    The basis is when the night read the store: releases after it are not in
    tonight's figures (``ops.workflow``). A store not created yet is created
    empty (the API would do the same on its first start). ``partsflow
    linehaul`` calls it too, to route what planners released this morning.
    """
    basis_at = datetime.now(UTC) - BASIS_MARGIN
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        adopt_workflow(db_path, engine)
        copy_targets(db_path, engine)
        with reading(engine) as conn:
            latest = store.latest_publication(conn)
            since = latest.basis_at - REREAD if latest else None
            changed = {kind: store.changes_since(conn, kind, since) for kind in _BOOKS}
    finally:
        engine.dispose()
    copied = {}
    with connect(db_path) as con, transaction(con):
        for kind, (headers, lines, history) in changed.items():
            copied[kind] = workflow.copy_from_store(
                con, _BOOKS[kind], _frame(headers), _frame(lines), _frame(history)
            )
    return Copied(basis_at, since, copied["transfer"], copied["purchase"])


def adopt_workflow(db_path: Path, engine: Engine) -> dict[store.Kind, int]:
    """Give a store that holds no orders yet the database's (an installation that planned
    before it had a store): released orders stay in transit, open ones can be decided."""
    adopted: dict[store.Kind, int] = dict.fromkeys(_BOOKS, 0)
    with reading(engine) as conn:
        empty = {
            kind: conn.execute(select(store.BOOKS[kind].orders).limit(1)).first() is None
            for kind in _BOOKS
        }
    if not any(empty.values()):
        return adopted
    with connect(db_path) as con:
        tables = {
            kind: tuple(
                con.sql(f"SELECT * FROM {table} ORDER BY ALL").pl().to_dicts()
                for table in (book.orders, book.lines, book.history)
            )
            for kind, book in _BOOKS.items()
            if empty[kind]
        }
    with engine.begin() as conn:
        for kind, (headers, lines, history) in tables.items():
            adopted[kind] = store.adopt(conn, kind, headers, lines, history)
    return adopted


def copy_targets(db_path: Path, engine: Engine) -> int:
    """Make ``warehouse.duckdb``'s ``service_targets`` the store's (planners set them there).

    The store's targets replace the database's whenever the store manages them
    (it holds some, or held some: ``ops.targets.managed``); a store that never
    had one adopts the database's once (targets set before the store existed),
    as :func:`adopt_workflow` does for orders. A target whose SKU or category
    the database does not know is skipped (the dashboard checked it against the
    snapshot, which the database built). Returns the number of rows written.
    """
    with reading(engine) as conn:
        managed = targets.managed(conn)
        kept = targets.list_targets(conn)
    if not managed:
        with connect(db_path) as con:
            rows = con.sql("SELECT * FROM service_targets ORDER BY scope, key").pl().to_dicts()
        if rows:
            with engine.begin() as conn:
                targets.adopt_targets(conn, [targets.Target(reason=None, **row) for row in rows])
        return 0
    written = 0
    with connect(db_path) as con, transaction(con):
        con.execute("DELETE FROM service_targets")
        for target in kept:
            try:
                replenishment.set_service_target(
                    con,
                    target.scope,
                    target.key,
                    ServiceTarget(cast(TargetKind, target.kind), target.level),
                    target.updated_by,
                )
            except ValueError:  # unknown in this database: the plan could not use it anyway
                continue
            written += 1
    return written


@task(cache_policy=NO_CACHE)
def copy_store_workflow(db_path: Path, ops_url: str) -> datetime:
    """:func:`copy_workflow`, logged; returns the basis of tonight's figures."""
    done = copy_workflow(db_path, ops_url)
    get_run_logger().info(
        "copied from the operational store: %d transfer orders, %d purchase orders changed "
        "since %s",
        done.transfers,
        done.purchases,
        done.since.isoformat() if done.since else "the beginning",
    )
    return done.basis_at


def publish_night(
    db_path: Path, run_id: str, as_of: date, ops_url: str, basis_at: datetime
) -> store.Published:
    """Write the run's proposals and its source stock into the store (once per run: a run
    published there before writes nothing)."""
    with connect(db_path) as con:
        transfer_orders = workflow.run_orders(con, transfers.TRANSFERS, run_id)
        heads, lines = workflow.run_orders(con, purchasing.PURCHASES, run_id)
        terms = purchasing.line_terms(con, run_id)
        free = transfers.free_at_sources(con, run_id)
    purchase_lines = lines.join(terms, on=["po_id", "line_no"], how="left")
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            return store.publish_orders(
                conn,
                store.Publication(run_id, as_of, basis_at),
                store.OrderSet(*(f.to_dicts() for f in transfer_orders)),
                store.OrderSet(heads.to_dicts(), purchase_lines.to_dicts()),
                free.select("warehouse_id", "sku", "free").iter_rows(),
            )
    finally:
        engine.dispose()


def repair_store(db_path: Path, ops_url: str) -> str | None:
    """Publish the latest succeeded night into the store if the store never heard of it.

    A night killed between its snapshot and the store left planners deciding
    the night before's orders. Its basis (when it read the store, not kept) is
    taken as :data:`REREAD` before the run started, earlier than the real one
    (read just before): releases since then count as released since the
    figures, which refuses more, never oversells. Returns the run published, or
    None when the store is up to date (or no night succeeded yet).
    """
    with connect(db_path) as con:
        latest = runs.latest_succeeded(con, "nightly")
        if latest is None:
            return None
        run = runs.get_run(con, latest[0])
    run_id, as_of, started_at = run["run_id"], run["as_of"], run["started_at"]
    engine = make_engine(ops_url)
    try:
        upgrade(engine)
        with reading(engine) as conn:
            known = store.publication(conn, run_id) is not None
    finally:
        engine.dispose()
    if known:
        return None
    publish_night(db_path, run_id, as_of, ops_url, started_at.astimezone(UTC) - REREAD)
    return str(run_id)


@task(cache_policy=NO_CACHE)
def repair_store_publication(db_path: Path, ops_url: str) -> str | None:
    """:func:`repair_store`, logged."""
    repaired = repair_store(db_path, ops_url)
    if repaired is not None:
        get_run_logger().warning(
            "the operational store never heard of run %s, the latest succeeded night: published",
            repaired,
        )
    return repaired


@task(cache_policy=NO_CACHE)
def publish_to_store(
    db_path: Path, run_id: str, as_of: date, ops_url: str, basis_at: datetime
) -> store.Published:
    """:func:`publish_night`, logged."""
    done = publish_night(db_path, run_id, as_of, ops_url, basis_at)
    get_run_logger().info(
        "operational store: %s",
        "this run was published there before; nothing written"
        if done.already
        else f"{done.transfers} transfer orders and {done.purchases} purchase orders proposed, "
        f"{done.superseded} open orders of earlier nights superseded",
    )
    return done


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The store's rows as a frame (Decimal costs as floats; empty: no columns)."""
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
