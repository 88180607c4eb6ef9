"""The nightly's first steps: loading the landing folder and the operational store's orders,
recording the run, and reading what forecasting and planning need from the working
database (one task per read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.progress import current
from models.coldstart import fitment_exposure
from models.seasonal import TOTALS_DAYS
from models.selection import Selection
from ops import reading
from ops.exports import StoreChanges, open_existing, read_changes, source_name
from pipelines.errors import InputError
from pipelines.ingest import ingest
from pipelines.ingest.ops_source import ingest_store
from warehouse import demand, forecasting, purchasing, replenishment, runs
from warehouse.schema import connect


@task(cache_policy=NO_CACHE)
def ingest_landing(db_path: Path, landing_dir: Path) -> dict[str, int]:
    """Load every file in the landing folder (already-loaded files change nothing).

    Each file, once done, is named on the nightly's progress bar (when one is drawn).
    """
    bar = current()
    done = 0

    def file_done(path: Path) -> None:
        nonlocal done
        done += 1
        bar.step(f"ingest: {done} file{'s' if done > 1 else ''} done, {path.name} last")

    with connect(db_path) as con:
        report = ingest(con, [landing_dir], on_file=file_done)
    logger = get_run_logger()
    for file in report.files:
        if file.error or file.quarantined:
            logger.warning(file.error or file.render())
    logger.info(report.render().splitlines()[-1])
    return {
        "files": len(report.files),
        "loaded": report.total_loaded,
        "quarantined": report.total_quarantined,
        "errors": sum(1 for f in report.files if f.error),
    }


@task(cache_policy=NO_CACHE)
def ingest_operational(db_path: Path, ops_url: str) -> dict[str, int]:
    """Load the operational store's part orders and returns as order lines and returns.

    What changed since the last night's read: an order placed through the API
    today is in tonight's demand history. A store not created yet has nothing
    to give (the nightly never creates it here); one that cannot be read fails
    the task. Counts as ``ingest_landing``'s, with no files.
    """
    source = source_name(ops_url)
    logger = get_run_logger()
    engine = open_existing(ops_url)
    if engine is None:
        logger.info(f"{source}: no store there yet, so no orders to take in")
        return {"files": 0, "loaded": 0, "quarantined": 0, "errors": 0}

    def read(orders_since: datetime | None, returns_since: datetime | None) -> StoreChanges:
        with reading(engine) as conn:
            return read_changes(conn, orders_since=orders_since, returns_since=returns_since)

    try:
        with connect(db_path) as con:
            report = ingest_store(con, source, read)
    finally:
        engine.dispose()
    quarantined = report.total("quarantined")
    if quarantined:
        logger.warning(report.render())
    else:
        logger.info(report.render())
    return {"files": 0, "loaded": report.total("loaded"), "quarantined": quarantined, "errors": 0}


@task(cache_policy=NO_CACHE)
def start_nightly_run(
    db_path: Path, as_of: date | None, params: dict[str, Any]
) -> tuple[str, date]:
    """Resolve the as-of date (default: the last demand day) and record the run."""
    with connect(db_path) as con:
        first, last = demand.demand_span(con)
        if first is None or last is None:
            raise InputError(f"{db_path}: no order lines loaded; ingest some before planning")
        resolved = as_of or last
        if resolved < first:
            raise InputError(
                f"--as-of {resolved} is before the first order day {first}: no history to plan from"
            )
        return runs.start_run(con, "nightly", resolved, params), resolved


@task(cache_policy=NO_CACHE)
def load_planning_inputs(
    db_path: Path, as_of: date, history_days: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Demand history, stock positions and SKU policy data as of the planning day."""
    with connect(db_path) as con:
        return (
            demand.daily_demand(con, as_of, history_days),
            replenishment.stock_positions(con, as_of),
            replenishment.sku_policy(con),
        )


@dataclass(frozen=True)
class SupplyInputs:
    """What the plan reads besides demand and stock: DC stock, shelves, the planners'
    targets and stocking overrides, and where the warehouses are."""

    dc_stock: pl.DataFrame
    shelf: pl.DataFrame
    targets: pl.DataFrame
    overrides: pl.DataFrame
    sites: pl.DataFrame
    supply_terms: pl.DataFrame  # the DC's suppliers per SKU
    dc_positions: pl.DataFrame  # the DC's stock and what is on order


@task(cache_policy=NO_CACHE)
def load_supply_inputs(db_path: Path, as_of: date) -> SupplyInputs:
    """Free DC stock, each forward warehouse's shelf and DC, the planners' targets and pins."""
    with connect(db_path) as con:
        return SupplyInputs(
            dc_stock=replenishment.dc_stock(con, as_of),
            shelf=replenishment.network_shelf(con),
            targets=replenishment.service_targets(con),
            overrides=replenishment.stocking_overrides(con),
            sites=replenishment.warehouse_sites(con),
            supply_terms=purchasing.supply_terms(con),
            dc_positions=purchasing.dc_positions(con, as_of),
        )


@dataclass(frozen=True)
class ForecastInputs:
    """What forecasting reads besides the demand history."""

    history_start: date
    stock_counts: pl.DataFrame  # behind the stock-out rule
    kept_at_dc: pl.DataFrame  # series empty by design: not stock-outs
    selections: dict[str, Selection]
    sku_groups: pl.DataFrame
    exposure: pl.DataFrame
    new_warehouses: tuple[str, ...]
    totals: pl.DataFrame  # per warehouse and category, for the group seasonal indices


@task(cache_policy=NO_CACHE)
def load_forecast_inputs(
    db_path: Path, as_of: date, history_days: int, new_warehouse_days: int
) -> ForecastInputs:
    """Stock counts, the stored model choice, sku peers and fitment exposure."""
    with connect(db_path) as con:
        start = as_of - timedelta(days=history_days - 1)
        groups = forecasting.sku_groups(con)
        vehicles, stores, fitment = forecasting.exposure_inputs(con, as_of)
        return ForecastInputs(
            history_start=start,
            stock_counts=demand.stock_counts(con, start, as_of),
            kept_at_dc=demand.kept_at_dc(con, as_of),
            selections=forecasting.load_selections(con),
            sku_groups=groups,
            exposure=fitment_exposure(vehicles, stores, fitment, groups),
            new_warehouses=tuple(
                forecasting.new_warehouses(con, as_of - timedelta(days=new_warehouse_days))
            ),
            totals=demand.category_totals(con, as_of, max(history_days, TOTALS_DAYS)),
        )
