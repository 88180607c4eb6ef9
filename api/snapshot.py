"""The published snapshot in memory: what availability needs, read once per published plan.

A request never touches DuckDB. :func:`read_snapshot` reads, through
:mod:`warehouse.published` only, the SKU master, the stores and the forward
warehouses (with which of them are in reach of each store, by the nightly's
coverage rule), the latest counts, the released transfers not yet counted
and the dispatch replay's fleets, into a frozen :class:`SnapshotData`.

:class:`SnapshotWatcher` keeps the current one. Every ``snapshot_poll_s`` it
stats ``plan.duckdb`` (inode, mtime, size); when the nightly has swapped in a
new file it reads it aside, makes it the stock orders reserve against
(:func:`ops.load_bases`), then replaces one attribute. A request takes that
attribute once and works on the object it got, so requests in flight finish
on the plan they started with and none ever sees half of one. The same poll
refreshes each warehouse's load (orders in hand) and, when the local day
turns, reloads the bases so that transfers due today count.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from api.config import PromiseParams
from api.promise import LOCAL, Fleet
from ops import StockBase, active_load, confirmed_since, load_bases, reading, workflow
from optimization.delivery.coverage import CoverageRule, coverage_pairs
from optimization.routing.travel import Point
from warehouse import published

log = logging.getLogger("partsflow.api.snapshot")

#: (warehouse_id, sku)
Pair = tuple[str, str]
#: What identifies a published file: a new one is another inode, mtime or size.
FileIdentity = tuple[int, int, int]


@dataclass(frozen=True)
class StoreReach:
    """A store, its own forward warehouse and the others in reach (nearest first)."""

    store_id: str
    point: Point
    warehouse_id: str
    others: tuple[str, ...]


@dataclass(frozen=True)
class Arrival:
    """A released transfer line into a forward warehouse, not in its latest count."""

    transfer_id: str
    needed_by: date
    quantity: int


@dataclass(frozen=True)
class Count:
    """A latest count: units free on the shelf (on hand less the count's own reserved)."""

    free: int
    counted_on: date


@dataclass(frozen=True)
class SnapshotData:
    """Everything availability and orders need from one published plan."""

    identity: FileIdentity
    run_id: str
    as_of: date
    published_at: datetime
    skus: frozenset[str]
    stores: Mapping[str, StoreReach]
    warehouse_points: Mapping[str, Point]
    forward: frozenset[str]  # the forward warehouses (those that sell to stores)
    counts: Mapping[Pair, Count]
    arrivals: Mapping[Pair, tuple[Arrival, ...]]  # by due day
    fleets: Mapping[str, Fleet]

    def bases(self, today: date, now: datetime) -> list[StockBase]:
        """The stock orders reserve against on ``today``: the count + released arrivals due.

        A count holds for the end of its day (DATA_FORMATS.md), so orders placed
        after local midnight that ends it reserve against it; a pair never
        counted (only an arrival) is taken as counted at the end of the as-of day.
        """
        rows = []
        for pair in set(self.counts) | set(self.arrivals):
            count = self.counts.get(pair)
            due = sum(a.quantity for a in self.arrivals.get(pair, ()) if a.needed_by <= today)
            day = count.counted_on if count else self.as_of
            counted_at = min(_end_of(day), now)
            rows.append(StockBase(pair[0], pair[1], (count.free if count else 0) + due, counted_at))
        return rows

    def with_releases(self, lines: Iterable[workflow.ReleasedLine]) -> SnapshotData:
        """This snapshot with the released transfer lines into its forward warehouses that
        it does not list yet (by transfer id) among its arrivals."""
        known = {a.transfer_id for rows in self.arrivals.values() for a in rows}
        added: defaultdict[Pair, list[Arrival]] = defaultdict(list)
        for line in lines:
            if line.transfer_id not in known and line.to_warehouse_id in self.forward:
                pair = (line.to_warehouse_id, line.sku)
                added[pair].append(Arrival(line.transfer_id, line.needed_by, line.quantity))
        if not added:
            return self
        arrivals = dict(self.arrivals)
        for pair, rows in added.items():
            arrivals[pair] = tuple(sorted((*arrivals.get(pair, ()), *rows), key=_due))
        return replace(self, arrivals=arrivals)

    def next_arrival(self, pair: Pair, today: date) -> Arrival | None:
        """The first released arrival of the pair due after today (the line-haul to wait for)."""
        return next((a for a in self.arrivals.get(pair, ()) if a.needed_by > today), None)


@dataclass(frozen=True)
class LiveView:
    """The snapshot a request works on, with the loads measured at the last poll."""

    data: SnapshotData
    loads: Mapping[str, int] = field(default_factory=dict)


def file_identity(snapshot_dir: Path) -> FileIdentity | None:
    """The published file's identity, or None when there is none."""
    try:
        stat = os.stat(Path(snapshot_dir) / published.SNAPSHOT_NAME)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def read_snapshot(snapshot_dir: Path, rule: CoverageRule | None = None) -> SnapshotData:
    """Read what availability needs from the published snapshot (read-only).

    Raises
    ------
    warehouse.published.NoPublishedPlanError
        No plan is published yet.
    warehouse.published.SnapshotError
        The snapshot is of another format.
    """
    identity = file_identity(snapshot_dir) or (0, 0, 0)
    with published.open_snapshot(snapshot_dir) as con:
        run = published.published_run(con)
        houses = published.warehouses(con)
        stores = published.stores(con)
        forward = houses.filter(pl.col("kind") == "forward")["warehouse_id"].to_list()
        counts = published.latest_stock(con, forward)
        arrivals = published.released_arrivals(con, forward)
        kpis = published.dispatch_kpis(con)
        skus = frozenset(published.skus(con)["sku"].to_list())
    return SnapshotData(
        identity=identity,
        run_id=run.run_id,
        as_of=run.as_of,
        published_at=run.published_at,
        skus=skus,
        stores=_reach(stores, houses, rule),
        warehouse_points={
            row["warehouse_id"]: (row["lat"], row["lon"]) for row in houses.iter_rows(named=True)
        },
        forward=frozenset(forward),
        counts={
            (w, s): Count(max(0, on_hand - reserved), day)
            for w, s, day, on_hand, reserved in counts.select(
                "warehouse_id", "sku", "counted_on", "on_hand", "reserved"
            ).iter_rows()
        },
        arrivals=_arrivals(arrivals),
        fleets=_fleets(kpis),
    )


class SnapshotWatcher:
    """Holds the current :class:`LiveView` and replaces it when something changed."""

    def __init__(self, snapshot_dir: Path, engine: Engine, promise: PromiseParams) -> None:
        self.snapshot_dir = Path(snapshot_dir)
        self.engine = engine
        self.promise = promise
        self.current: LiveView | None = None
        self._bases_day: date | None = None
        self._release_seen: datetime | None = None

    def refresh(self, now: datetime | None = None) -> None:
        """Look once: read a newer snapshot, reload bases on a new day, measure the loads.

        Blocking (DuckDB and the store): run it in a worker thread. Errors
        leave the current view as it was; the next poll tries again.
        """
        now = now or datetime.now(UTC)
        view = self.current
        identity = file_identity(self.snapshot_dir)
        data = view.data if view else None
        if identity is None:
            data = None  # unpublished (or removed): keep nothing stale
        elif data is None or data.identity != identity:
            data = read_snapshot(self.snapshot_dir)
            log.info("snapshot loaded", extra={"run_id": data.run_id, "as_of": str(data.as_of)})
        if data is None:
            self.current, self._bases_day = None, None
            return
        today = now.astimezone(LOCAL).date()
        since = now - timedelta(minutes=self.promise.load_window_min)
        with reading(self.engine) as conn:
            loads = confirmed_since(conn, since)
            released = workflow.last_release(conn)
        new_release = released is not None and (
            self._release_seen is None or released > self._release_seen
        )
        if data is not (view.data if view else None) or today != self._bases_day or new_release:
            if file_identity(self.snapshot_dir) != data.identity:
                return  # swapped again meanwhile: never switch orders to a stale run
            data = self._load_bases(data, today, now)
            self._bases_day, self._release_seen = today, released
        self.current = LiveView(data, loads)

    def _load_bases(self, data: SnapshotData, today: date, now: datetime) -> SnapshotData:
        """Make this run's stock, with the transfers planners released since the night read
        the store, the one orders reserve against (unless another worker did already);
        return the snapshot with those releases among its arrivals."""
        with reading(self.engine) as conn:
            active = active_load(conn)
            night = workflow.publication(conn, data.run_id)
            since = night.basis_at if night else data.published_at
            data = data.with_releases(workflow.released_since(conn, since))
            released = workflow.last_release(conn)
        if (
            active
            and active[0] == data.run_id
            and active[1] >= data.published_at
            and active[1].astimezone(LOCAL).date() == today
            and (released is None or active[1] >= released)
        ):
            return data  # another worker (or an earlier start) loaded this stock today
        with self.engine.begin() as conn:
            loaded = load_bases(conn, data.run_id, data.bases(today, now), now=now)
        log.info("stock bases loaded", extra={"run_id": data.run_id, "pairs": loaded})
        return data


def _end_of(day: date) -> datetime:
    """Local midnight that ends ``day``, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), LOCAL).astimezone(UTC)


def _reach(
    stores: pl.DataFrame, houses: pl.DataFrame, rule: CoverageRule | None
) -> dict[str, StoreReach]:
    """Each store's own warehouse and the forward warehouses within both rules, nearest first."""
    pairs = coverage_pairs(stores, houses, rule)
    near: defaultdict[str, list[str]] = defaultdict(list)
    for row in (
        pairs.filter(pl.col("within_distance") & pl.col("within_time") & ~pl.col("assigned"))
        .sort("store_id", "reach_s", "warehouse_id")
        .iter_rows(named=True)
    ):
        near[row["store_id"]].append(row["warehouse_id"])
    return {
        row["store_id"]: StoreReach(
            row["store_id"],
            (row["lat"], row["lon"]),
            row["warehouse_id"],
            tuple(near.get(row["store_id"], ())),
        )
        for row in stores.iter_rows(named=True)
    }


def _arrivals(frame: pl.DataFrame) -> dict[Pair, tuple[Arrival, ...]]:
    grouped: defaultdict[Pair, list[Arrival]] = defaultdict(list)
    for w, s, transfer_id, due, quantity in frame.select(
        "warehouse_id", "sku", "transfer_id", "needed_by", "quantity"
    ).iter_rows():
        grouped[w, s].append(Arrival(transfer_id, due, quantity))
    return {pair: tuple(sorted(rows, key=_due)) for pair, rows in grouped.items()}


def _due(arrival: Arrival) -> date:
    return arrival.needed_by


def _fleets(kpis: pl.DataFrame) -> dict[str, Fleet]:
    """The rolling dispatcher's fleet on the latest day replayed, per warehouse."""
    latest = (
        kpis.filter(pl.col("dispatcher") == "rolling", pl.col("riders") > 0)
        .sort("day")
        .group_by("warehouse_id")
        .last()
    )
    return {
        row["warehouse_id"]: Fleet(row["riders"], max(1.0, row["orders_per_trip"] or 1.0))
        for row in latest.iter_rows(named=True)
    }
