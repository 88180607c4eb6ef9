"""The dispatch review: a day of store deliveries replayed with the rolling and the naive
dispatcher (a Prefect flow), its KPIs and delivery-time distribution stored and published."""

from __future__ import annotations

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
    SimParams,
    day_instances,
    delivery_times,
    run_instance,
    size_fleet,
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


@task(cache_policy=NO_CACHE)
def replay_day(
    orders: pl.DataFrame, warehouses: pl.DataFrame, riders: int | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both dispatchers per warehouse: with ``riders`` each, or at their smallest fleet.

    Returns the KPIs (``DAY_KPIS`` + ``fleet_sized``) and the delivery-time
    distribution (``DELIVERY_TIMES``) of the same dispatches.
    """
    params = SimParams()
    rows: list[dict[str, object]] = []
    times: list[pl.DataFrame] = []
    instances = day_instances(orders, warehouses, params)
    bar = progress.current()  # partsflow dispatch's bar, if one is drawn
    bar.set_total(2 * len(instances))
    for instance in instances:
        for dispatcher in ("rolling", "naive"):
            if riders is None:
                sized = size_fleet(instance, dispatcher, params)
                result, row = sized.result, sized.kpis
            else:
                result, row = run_instance(instance, riders, dispatcher, params)
            rows.append({**row, "fleet_sized": riders is None})
            times.append(delivery_times(instance, result, dispatcher, params))
            bar.advance()
    kpis = pl.DataFrame(rows, schema={**DAY_KPIS, "fleet_sized": pl.Boolean}, orient="row").sort(
        "warehouse_id", "dispatcher"
    )
    return kpis, pl.concat(times) if times else DELIVERY_TIMES.to_frame()


def dispatch_review(
    paths: DataPaths, day: date | None = None, riders: int | None = None
) -> DispatchReview:
    """Replay a day of store deliveries with the rolling and the naive dispatcher; store KPIs.

    ``riders`` per warehouse, or (None) each dispatcher's smallest fleet keeping 99 % on
    time. The arguments are checked before the Prefect flow (and its server) starts.

    Raises
    ------
    InputError
        No database, fewer than one rider, or no store orders on the day.
    """
    require_database(paths.db)
    if riders is not None and riders < 1:
        raise InputError(f"--riders must be at least 1, got {riders}")
    return _dispatch_review(paths, day, riders)


@flow(name="dispatch-review", log_prints=True, validate_parameters=False)
def _dispatch_review(paths: DataPaths, day: date | None, riders: int | None) -> DispatchReview:
    with database_lock(paths.db, "dispatch"):  # no other command writes the file meanwhile
        return _replay(paths, day, riders)


def _replay(paths: DataPaths, day: date | None, riders: int | None) -> DispatchReview:
    with connect(paths.db) as con:
        # runs.kind has no 'dispatch' (a referenced table cannot be altered): a dispatch
        # replay is a routing run.
        run_id = runs.start_run(
            con, "route", day, {"flow": "dispatch-review", "day": day, "riders": riders}
        )
    try:
        resolved, orders, warehouses = load_day(paths.db, day)
        kpis, times = replay_day(orders, warehouses, riders)
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
