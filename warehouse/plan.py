"""Writing a night's plan and publishing it as a read-only snapshot.

A plan is written in one transaction together with the run's status, so a
crash leaves either the whole plan of a succeeded run or nothing of it.
Readers (API, dashboard) never open the working database: they read the
snapshot, a separate DuckDB file built aside and swapped in with
``os.replace`` so that a reader sees the old plan or the new one, never half.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from models.selection import Selection
from optimization.replenishment.purchasing import PurchaseOrders
from warehouse.forecasting import save_accuracy, save_selections
from warehouse.frames import registered, transaction
from warehouse.published.build import copy_published
from warehouse.published.snapshot import (
    SNAPSHOT_NAME,
    SnapshotError,
    open_snapshot,
    published_run,
)
from warehouse.purchasing import write_purchase_orders
from warehouse.runs import finish_run, latest_succeeded
from warehouse.transfers import write_transfers


@dataclass(frozen=True)
class NightTables:
    """A night's rows, written by :func:`write_plan` in one transaction.

    ``plan`` has the rows of ``optimization.replenishment.planning.NETWORK_PLAN`` (its
    ``target_level`` is stored as ``service_target``). ``selections`` (per
    forward warehouse) replace the stored model choice and ``accuracy`` (rows
    of ``warehouse.forecasting.ACCURACY``) is the run's backtest accuracy;
    ``allocations`` (``ALLOCATION_STATS``) and ``transfers`` (headers and
    lines, ``TRANSFER_ORDERS`` / ``TRANSFER_LINES``) and ``routes``
    (``optimization.routing.linehaul.ROUTE_ROWS``), ``replays``
    (``optimization.evaluation.replay.REPLAY_RESULTS``) and ``coverage``
    (``optimization.delivery.coverage.ASSIGNMENT_CHECK``) complete the plan, with
    the DC's ``purchases`` (``optimization.replenishment.purchasing.PurchaseOrders``)
    and its ``purchase_plan`` per SKU (``PURCHASE_PLAN``); a part left ``None`` is not
    written. ``forecasts`` and ``plan`` may be Parquet files of those rows instead of
    frames, or folders of such files read in the order of their names (the nightly's,
    written as each was made: ``flows/spill.py``).
    """

    forecasts: pl.DataFrame | Path
    plan: pl.DataFrame | Path
    selections: Mapping[str, Selection] | None = None
    accuracy: pl.DataFrame | None = None
    allocations: pl.DataFrame | None = None
    transfers: tuple[pl.DataFrame, pl.DataFrame] | None = None
    routes: pl.DataFrame | None = None
    replays: pl.DataFrame | None = None
    coverage: pl.DataFrame | None = None
    purchases: PurchaseOrders | None = None
    purchase_plan: pl.DataFrame | None = None


def write_plan(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    tables: NightTables,
    summary: dict[str, Any],
    keep_forecast_runs: int | None = None,
) -> None:
    """Insert the run's tables (:class:`NightTables`) and mark it succeeded, atomically.

    All parts are written in the same transaction, so a failed night keeps
    yesterday's choice and yesterday's open transfer orders. ``keep_forecast_runs``
    prunes the forecasts of older runs in the same transaction (:func:`prune_forecasts`).
    """
    forecasts, plan, selections = tables.forecasts, tables.plan, tables.selections
    accuracy, allocations, transfers = tables.accuracy, tables.allocations, tables.transfers
    routes, replays, coverage = tables.routes, tables.replays, tables.coverage
    as_stored = {"target_level": "service_target"}
    with memory_limit(con, WRITE_MEMORY_LIMIT), transaction(con):
        for big_table, big, drop, rename in (
            ("forecasts", forecasts, (), {}),
            ("replenishment_plan", plan, ("dc_id",), as_stored),
        ):
            with _rows(con, big, drop, rename) as source:
                con.execute(
                    f"INSERT INTO {big_table} BY NAME SELECT $run_id AS run_id, * FROM {source}",
                    {"run_id": run_id},
                )
        if selections is not None:
            save_selections(con, run_id, selections)
        if accuracy is not None and not accuracy.is_empty():
            save_accuracy(con, run_id, accuracy)
        if allocations is not None and not allocations.is_empty():
            with registered(con, allocations) as allocation_rows:
                con.execute(
                    "INSERT INTO allocation_runs BY NAME "
                    f"SELECT $run_id AS run_id, * FROM {allocation_rows}",
                    {"run_id": run_id},
                )
        if transfers is not None:
            write_transfers(con, run_id, *transfers)
        if tables.purchases is not None:
            write_purchase_orders(con, run_id, tables.purchases)
        for table, frame in (
            ("routes", routes),
            ("policy_replays", replays),
            ("store_coverage", coverage),
            ("purchase_plan", tables.purchase_plan),
        ):
            if frame is None or frame.is_empty():
                continue
            with registered(con, frame) as rows_name:
                con.execute(
                    f"INSERT INTO {table} BY NAME SELECT $run_id AS run_id, * FROM {rows_name}",
                    {"run_id": run_id},
                )
        finish_run(con, run_id, summary)
        if keep_forecast_runs is not None:
            prune_forecasts(con, keep_forecast_runs)


#: DuckDB's memory limit while a night's plan is written and published. DuckDB's
#: default, 80 % of RAM, is for DuckDB alone; the nightly process already holds the
#: night's frames (6-10 GiB on the large network), and the default let publishing
#: take 2 GiB more of sort space, writing 0.4 GiB more of buffers, than this limit
#: does (docs/BENCHMARKS.md, issue 15 item 8). Above it DuckDB writes its buffers to
#: disk and spills its sorts to its temp directory: the save is as fast, the large
#: network's publish ~9 s slower.
WRITE_MEMORY_LIMIT = "2GB"


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """Lower DuckDB's ``memory_limit`` (e.g. ``"2GB"``) for the block, then put it back.

    The setting is the database instance's, not the connection's: every connection
    to the same file in this process sees it while the block runs.
    """
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{before}'")


@contextmanager
def _rows(
    con: duckdb.DuckDBPyConnection,
    rows: pl.DataFrame | Path,
    drop: tuple[str, ...] = (),
    rename: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """``rows`` (a frame, a Parquet file of one, or a folder of such files of the same
    columns, read in the order of their names) as a SQL source, less the columns
    ``drop`` and with those of ``rename`` renamed."""
    rename = rename or {}
    if isinstance(rows, pl.DataFrame):
        with streamed(con, rows.drop(drop, strict=False).rename(rename)) as stream:
            yield stream
        return
    files = sorted(rows.glob("*.parquet")) if rows.is_dir() else [rows]
    if not files:
        raise ValueError(f"{rows}: no Parquet file of rows to save")
    names = [name for name in pl.read_parquet_schema(files[0]) if name not in drop]
    columns = ", ".join(f"{_quoted(name)} AS {_quoted(rename.get(name, name))}" for name in names)
    paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
    yield f"(SELECT {columns} FROM read_parquet([{paths}]))"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Rows of a frame turned into Arrow at a time by :func:`streamed`.
STREAM_ROWS = 500_000
_stream_names = itertools.count()


@contextmanager
def streamed(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, rows: int = STREAM_ROWS
) -> Iterator[str]:
    """Expose ``frame`` to SQL as a stream of Arrow batches of ``rows`` rows each.

    Registering a polars frame (``warehouse.frames.registered``) hands DuckDB the
    whole frame converted to Arrow at once: for the large network's 18.5 M forecast
    rows that conversion, and what the allocators keep of it, was ~1.5 times the
    frame on top of it during the insert (docs/BENCHMARKS.md, issue 15 item 8). A
    stream converts one slice at a time, so the copy in flight is one slice's. A
    stream is read once: use the name in one statement.
    """
    schema = frame.head(0).to_arrow().schema
    batches = (
        batch
        for offset in range(0, frame.height, rows)
        for batch in frame.slice(offset, rows).to_arrow().to_batches()
    )
    name = f"__stream_{next(_stream_names)}"
    con.register(name, pa.RecordBatchReader.from_batches(schema, batches))
    try:
        yield name
    finally:
        # In an aborted transaction this fails too; the original error matters.
        with suppress(duckdb.Error):
            con.unregister(name)


def prune_forecasts(con: duckdb.DuckDBPyConnection, keep_runs: int) -> int:
    """Delete the forecast rows of all but the newest ``keep_runs`` succeeded nightly runs.

    Returns the number of rows deleted. Runs themselves, their plans,
    accuracy and transfer orders stay; only the per-day forecast rows, the
    bulk of the database, go.
    """
    if keep_runs < 1:
        raise ValueError(f"keep_runs must be at least 1, got {keep_runs}")
    deleted = con.execute(
        """
        DELETE FROM forecasts WHERE run_id IN (
            SELECT run_id FROM runs WHERE kind = 'nightly' AND status = 'succeeded'
            ORDER BY finished_at DESC, run_id DESC OFFSET ?
        )
        """,
        [keep_runs],
    ).fetchall()
    return int(deleted[0][0]) if deleted else 0


def write_dispatch_kpis(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    kpis: pl.DataFrame,
    summary: dict[str, Any],
    *,
    times: pl.DataFrame | None = None,
) -> None:
    """Insert a dispatch replay's KPIs and finish its run, in one transaction.

    ``kpis`` are ``DAY_KPIS`` + ``fleet_sized``; ``times``, the same dispatches'
    delivery-time distribution (``optimization.delivery.day_replay.DELIVERY_TIMES``),
    goes to ``dispatch_delivery_times`` (None or empty: no rows).
    """
    with transaction(con), registered(con, kpis) as rows:
        con.execute(
            f"INSERT INTO dispatch_kpis BY NAME SELECT $run_id AS run_id, * FROM {rows}",
            {"run_id": run_id},
        )
        if times is not None and not times.is_empty():
            with registered(con, times) as time_rows:
                con.execute(
                    "INSERT INTO dispatch_delivery_times BY NAME "
                    f"SELECT $run_id AS run_id, * FROM {time_rows}",
                    {"run_id": run_id},
                )
        finish_run(con, run_id, summary)


def replace_linehaul(con: duckdb.DuckDBPyConnection, run_id: str, routes: pl.DataFrame) -> None:
    """Replace the run's line-haul routes (e.g. re-planned on what was released)."""
    with transaction(con), registered(con, routes) as rows:
        con.execute("DELETE FROM routes WHERE run_id = ? AND kind = 'linehaul'", [run_id])
        con.execute(
            f"INSERT INTO routes BY NAME SELECT $run_id AS run_id, * FROM {rows}",
            {"run_id": run_id},
        )


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    snapshot_dir: Path,
    *,
    history_days: int | None = None,
) -> Path:
    """Build the read-only snapshot of ``run_id`` aside and swap it in atomically.

    Parameters
    ----------
    con
        The working database.
    run_id
        The run to publish (its plan is written: :func:`write_plan`).
    snapshot_dir
        Where ``plan.duckdb`` is published; created if missing.
    history_days
        Days of demand history the snapshot keeps (default: the run's own
        ``history_days``); see :func:`warehouse.published.build.copy_published`,
        which lists what a snapshot holds.

    Returns
    -------
    Path
        The published file. Readers open it with :func:`warehouse.published.open_snapshot`;
        one that holds the previous file keeps reading it until it closes.
    """
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    final = snapshot_dir / SNAPSHOT_NAME
    building = snapshot_dir / f".{SNAPSHOT_NAME}.{run_id}.building"
    building.unlink(missing_ok=True)
    con.execute("ATTACH ? AS snapshot", [str(building)])
    try:
        with memory_limit(con, WRITE_MEMORY_LIMIT):
            copy_published(con, "snapshot", run_id, history_days)
    except BaseException:
        con.execute("DETACH snapshot")
        building.unlink(missing_ok=True)  # half a snapshot is never swapped in, nor left behind
        raise
    con.execute("DETACH snapshot")
    os.replace(building, final)
    return final


@dataclass(frozen=True)
class PublicationCheck:
    """What :func:`repair_publication` found and did."""

    latest_run: str | None  # the latest succeeded nightly
    published_run: str | None  # the snapshot's run before the check (None: none readable)
    republished: bool
    orphans_removed: int


def repair_publication(con: duckdb.DuckDBPyConnection, snapshot_dir: Path) -> PublicationCheck:
    """Make the snapshot the latest succeeded nightly's, and remove half-built ones.

    A process killed between the plan's commit and the swap of the snapshot
    left the API serving the night before's plan (and a ``.building`` file
    behind). Call it holding the database's lock (:mod:`warehouse.dblock`), so
    no publish of another process is under way: every ``.building`` file is
    then an orphan.
    """
    orphans = 0
    if snapshot_dir.is_dir():
        for leftover in snapshot_dir.glob(f".{SNAPSHOT_NAME}.*.building*"):
            leftover.unlink(missing_ok=True)
            orphans += 1
    latest = latest_succeeded(con, "nightly")
    try:
        with open_snapshot(snapshot_dir) as snap:
            published: str | None = published_run(snap).run_id
    except SnapshotError:
        published = None
    republish = latest is not None and latest[0] != published
    if latest is not None and republish:
        publish_snapshot(con, latest[0], snapshot_dir)
    return PublicationCheck(latest[0] if latest else None, published, republish, orphans)
