"""Prefect flows: the nightly run and its parts.

Each task calls one function of ``pipelines``/``warehouse``/``models``/
``optimization``; the flow body reads top to bottom like the night it runs.
Tasks take the database path, not a connection: a DuckDB connection cannot
cross process or thread boundaries safely, and opening one is cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.baseline import BaselineParams, forecast_baseline
from optimization.replenishment import PolicyParams, plan_order_up_to
from pipelines.errors import InputError
from pipelines.ingest import ingest
from warehouse import demand, plan, runs
from warehouse.schema import connect


@dataclass(frozen=True)
class NightlyResult:
    """What a nightly run did, for the CLI summary and the run record."""

    run_id: str
    as_of: date
    files_ingested: int
    rows_loaded: int
    rows_quarantined: int
    series_forecast: int
    series_by_class: dict[str, int]
    lines_proposed: int
    units_proposed: int
    snapshot: str


@task(cache_policy=NO_CACHE)
def ingest_landing(db_path: Path, landing_dir: Path) -> dict[str, int]:
    """Load every file in the landing folder (already-loaded files change nothing)."""
    con = connect(db_path)
    try:
        report = ingest(con, [landing_dir])
    finally:
        con.close()
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
def start_nightly_run(
    db_path: Path, as_of: date | None, params: dict[str, Any]
) -> tuple[str, date]:
    """Resolve the as-of date (default: the last demand day) and record the run."""
    con = connect(db_path)
    try:
        resolved = as_of or demand.last_demand_date(con)
        if resolved is None:
            raise InputError(f"{db_path}: no order lines loaded; ingest some before planning")
        return runs.start_run(con, "nightly", resolved, params), resolved
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def load_planning_inputs(
    db_path: Path, as_of: date, history_days: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Demand history, stock positions and SKU parameters as of the planning day."""
    con = connect(db_path)
    try:
        return (
            demand.daily_demand(con, as_of, history_days),
            demand.stock_positions(con, as_of),
            demand.sku_parameters(con),
        )
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def forecast_demand(
    history: pl.DataFrame, positions: pl.DataFrame, as_of: date, params: BaselineParams
) -> pl.DataFrame:
    """Forecast every active series: sold in the history window or stocked."""
    stocked = positions.filter(pl.col("on_hand") > 0)
    return forecast_baseline(history, as_of, params, extra_keys=stocked)


@task(cache_policy=NO_CACHE)
def plan_replenishment(
    forecasts: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    as_of: date,
    params: PolicyParams,
) -> pl.DataFrame:
    """Order-up-to proposals from tomorrow's forecast rate."""
    first_day = forecasts["ds"].min()
    rates = forecasts.filter(pl.col("ds") == first_day).select(
        "warehouse_id", "sku", rate=pl.col("mean")
    )
    return plan_order_up_to(rates, positions, skus, as_of, params)


@task(cache_policy=NO_CACHE)
def save_plan(
    db_path: Path,
    run_id: str,
    forecasts: pl.DataFrame,
    proposals: pl.DataFrame,
    summary: dict[str, Any],
) -> None:
    """Write forecasts and plan and mark the run succeeded, in one transaction."""
    con = connect(db_path)
    try:
        plan.write_plan(con, run_id, forecasts, proposals, summary)
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def publish_plan(db_path: Path, run_id: str, snapshot_dir: Path) -> Path:
    """Swap in the read-only snapshot the API and dashboard read."""
    con = connect(db_path)
    try:
        return plan.publish_snapshot(con, run_id, snapshot_dir)
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def mark_run_failed(db_path: Path, run_id: str, error: str) -> None:
    """Record why the run failed."""
    con = connect(db_path)
    try:
        runs.fail_run(con, run_id, error)
    finally:
        con.close()


@flow(name="nightly", log_prints=True)
def nightly(
    db_path: Path,
    landing_dir: Path | None = None,
    snapshot_dir: Path = Path("data/published"),
    as_of: date | None = None,
    horizon: int = 14,
    history_days: int = 365,
    service_level: float = 0.95,
    review_period_days: int = 1,
) -> NightlyResult:
    """Load the landing files, forecast every active series, plan, publish."""
    forecast_params = BaselineParams(horizon=horizon)
    policy = PolicyParams(service_level=service_level, review_period_days=review_period_days)
    loaded = {"files": 0, "loaded": 0, "quarantined": 0, "errors": 0}
    if landing_dir is not None and landing_dir.exists():
        loaded = ingest_landing(db_path, landing_dir)

    params = {"history_days": history_days, **asdict(forecast_params), **asdict(policy)}
    run_id, as_of = start_nightly_run(db_path, as_of, params)
    try:
        history, positions, skus = load_planning_inputs(db_path, as_of, history_days)
        forecasts = forecast_demand(history, positions, as_of, forecast_params)
        proposals = plan_replenishment(forecasts, positions, skus, as_of, policy)
        result = NightlyResult(
            run_id=run_id,
            as_of=as_of,
            files_ingested=loaded["files"],
            rows_loaded=loaded["loaded"],
            rows_quarantined=loaded["quarantined"],
            series_forecast=proposals.height,
            series_by_class=_count_classes(forecasts),
            lines_proposed=proposals.filter(pl.col("proposed_quantity") > 0).height,
            units_proposed=int(proposals["proposed_quantity"].sum()),
            snapshot="",
        )
        save_plan(db_path, run_id, forecasts, proposals, asdict(result))
        snapshot = publish_plan(db_path, run_id, snapshot_dir)
    except Exception as error:
        mark_run_failed(db_path, run_id, f"{type(error).__name__}: {error}")
        raise
    return NightlyResult(**{**asdict(result), "snapshot": str(snapshot)})


def _count_classes(forecasts: pl.DataFrame) -> dict[str, int]:
    per_series = forecasts.unique(["warehouse_id", "sku"]).group_by("class").len()
    return dict(sorted(zip(per_series["class"], per_series["len"], strict=True)))
