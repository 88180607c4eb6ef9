"""The dispatch review: a day of store deliveries replayed with the rolling and the naive
dispatcher (a Prefect flow), its KPIs and delivery-time distribution stored and published."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.commands import require_database
from flows.night import mark_run_failed
from optimization.delivery.day_replay import (
    DAY_KPIS,
    DELIVERY_TIMES,
    InstanceReview,
    SimParams,
    day_instances,
    review_instance,
)
from pipelines.errors import InputError
from settings import DataPaths
from warehouse import dispatch, plan, runs
from warehouse.dblock import database_lock
from warehouse.schema import connect


@dataclass(frozen=True)
class DispatchReview:
    """What a dispatch replay did, for the CLI."""

    run_id: str
    day: date
    kpis: pl.DataFrame


@task(cache_policy=NO_CACHE)
def load_day(db_path: Path, day: date | None) -> tuple[date, pl.DataFrame, pl.DataFrame]:
    """The day to replay (default: the busiest), its store orders and the warehouses."""
    with connect(db_path) as con:
        resolved = day or dispatch.busiest_day(con)
        if resolved is None:
            raise InputError(f"{db_path}: no orders loaded; ingest some before replaying a day")
        orders = dispatch.day_orders(con, resolved)
        if orders.is_empty():
            raise InputError(f"no store orders on {resolved}: nothing to dispatch")
        return resolved, orders, dispatch.warehouse_points(con)


#: Most worker processes a dispatch review starts (one warehouse's day each at a time).
MAX_WORKERS = 64


def default_workers() -> int:
    """The cores this process may run on: one worker each."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


@task(cache_policy=NO_CACHE)
def replay_day(
    orders: pl.DataFrame,
    warehouses: pl.DataFrame,
    riders: int | None,
    workers: int = 1,
    params: SimParams | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both dispatchers per warehouse: with ``riders`` each, or at their smallest fleet.

    The warehouses' days are independent: with ``workers`` > 1 they are
    replayed in that many processes (spawned: a forked copy of this process
    would inherit Prefect's threads and signal handlers), each warehouse's
    result the same as in turn. As each warehouse is done, a line says what it
    needs (on the terminal, above the bar; nothing otherwise).

    Returns the KPIs (``DAY_KPIS`` + ``fleet_sized``) and the delivery-time
    distribution (``DELIVERY_TIMES``) of the same dispatches.
    """
    params = params or SimParams()
    instances = day_instances(orders, warehouses, params)
    bar = progress.current()  # partsflow dispatch's bar, if one is drawn
    bar.set_total(len(instances))
    reviews: list[InstanceReview] = []

    def done(review: InstanceReview) -> None:
        reviews.append(review)
        bar.note(_warehouse_line(review))
        bar.advance()

    workers = max(1, min(workers, len(instances)))
    if workers == 1:
        for instance in instances:
            done(review_instance(instance, riders, params))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            # The longest days first, so that no worker is left with a big one at the end.
            ordered = sorted(instances, key=lambda i: len(i.orders), reverse=True)
            futures = [pool.submit(review_instance, i, riders, params) for i in ordered]
            for future in as_completed(futures):
                done(future.result())
    rows = [row for review in reviews for row in review.kpis]
    kpis = pl.DataFrame(rows, schema={**DAY_KPIS, "fleet_sized": pl.Boolean}, orient="row").sort(
        "warehouse_id", "dispatcher"
    )
    times = [review.times for review in sorted(reviews, key=lambda r: r.warehouse_id)]
    return kpis, pl.concat(times) if times else DELIVERY_TIMES.to_frame()


def _warehouse_line(review: InstanceReview) -> str:
    """``FW001 846 orders · rolling 29 riders 99.3% 363 h · naive 45 riders 98.9% 612 h``:
    the share on time and the rider-hours; under 80 columns."""
    parts = [
        f"{row['dispatcher']} {row['riders']} riders {float(str(row['on_time_rate'])):.1%}"
        f" {float(str(row['rider_hours'])):,.0f} h"
        for row in review.kpis
    ]
    orders = review.kpis[0]["orders"] if review.kpis else 0
    return " · ".join([f"{review.warehouse_id} {orders:,} orders", *parts])


def dispatch_review(
    paths: DataPaths,
    day: date | None = None,
    riders: int | None = None,
    workers: int | None = None,
) -> DispatchReview:
    """Replay a day of store deliveries with the rolling and the naive dispatcher; store KPIs.

    ``riders`` per warehouse, or (None) each dispatcher's smallest fleet keeping 99 % on
    time. ``workers``: processes replaying warehouses side by side (default: one per
    core, :func:`default_workers`). The arguments are checked before the Prefect flow
    (and its server) starts.

    Raises
    ------
    InputError
        No database, fewer than one rider, workers outside 1..64, or no store orders
        on the day.
    """
    require_database(paths.db)
    if riders is not None and riders < 1:
        raise InputError(f"--riders must be at least 1, got {riders}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"--workers must be in 1..{MAX_WORKERS}, got {workers}")
    return _dispatch_review(paths, day, riders, workers or default_workers())


@flow(name="dispatch-review", log_prints=True, validate_parameters=False)
def _dispatch_review(
    paths: DataPaths, day: date | None, riders: int | None, workers: int
) -> DispatchReview:
    with database_lock(paths.db, "dispatch"):  # no other command writes the file meanwhile
        return _replay(paths, day, riders, workers)


def _replay(paths: DataPaths, day: date | None, riders: int | None, workers: int) -> DispatchReview:
    with connect(paths.db) as con:
        # runs.kind has no 'dispatch' (a referenced table cannot be altered): a dispatch
        # replay is a routing run.
        run_id = runs.start_run(
            con, "route", day, {"flow": "dispatch-review", "day": day, "riders": riders}
        )
    try:
        resolved, orders, warehouses = load_day(paths.db, day)
        kpis, times = replay_day(orders, warehouses, riders, workers)
        with connect(paths.db) as con:
            plan.write_dispatch_kpis(
                con, run_id, kpis, {"day": resolved, "orders": orders.height}, times=times
            )
            published = runs.latest_succeeded(con, "nightly")
            if published:  # the dashboard reads the snapshot: refresh it with these KPIs
                plan.publish_snapshot(con, published[0], paths.snapshots)
    except Exception as error:
        mark_run_failed(paths.db, run_id, f"{type(error).__name__}: {error}")
        raise
    return DispatchReview(run_id, resolved, kpis)
