"""Prefect flows: the nightly run and its parts.

Each task calls one function of ``pipelines``/``warehouse``/``models``/
``optimization``; the flow body reads top to bottom like the night it runs.
Tasks take the database path, not a connection: a DuckDB connection cannot
cross process or thread boundaries safely, and opening one is cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.coldstart import fitment_exposure
from models.engine import ForecastParams
from models.network import (
    accuracy_rollup,
    forecast_network,
    forecast_unsold,
    unsold_targets,
)
from models.selection import Selection
from optimization.replenishment import PolicyParams, plan_order_up_to
from pipelines.demand_series import censored_days, warehouse_series
from pipelines.errors import InputError
from pipelines.ingest import ingest
from warehouse import demand, forecasting, plan, runs
from warehouse.schema import connect

#: Series backtested per class x category and warehouse when choosing models; the
#: rest take their peers' choice (bounds a cold first night: bench/bench_forecast_speed.py).
SELECTION_SAMPLE = 20

#: A warehouse opened this recently has its stocked-but-unsold parts cold-started.
NEW_WAREHOUSE_DAYS = 90


@dataclass(frozen=True)
class NightlyResult:
    """What a nightly run did, for the CLI summary and the run record."""

    run_id: str
    as_of: date
    files_ingested: int
    files_refused: int
    rows_loaded: int
    rows_quarantined: int
    series_forecast: int
    series_by_class: dict[str, int]
    series_reselected: int
    cold_starts: int
    censored_days: int
    lines_proposed: int
    units_proposed: int
    snapshot: str


@task(cache_policy=NO_CACHE)
def ingest_landing(db_path: Path, landing_dir: Path) -> dict[str, int]:
    """Load every file in the landing folder (already-loaded files change nothing)."""
    with connect(db_path) as con:
        report = ingest(con, [landing_dir])
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
    """Demand history, stock positions and SKU parameters as of the planning day."""
    with connect(db_path) as con:
        return (
            demand.daily_demand(con, as_of, history_days),
            demand.stock_positions(con, as_of),
            demand.sku_parameters(con),
        )


@dataclass(frozen=True)
class ForecastInputs:
    """What forecasting reads besides the demand history."""

    stockouts: pl.DataFrame
    selections: dict[str, Selection]
    sku_groups: pl.DataFrame
    exposure: pl.DataFrame
    new_warehouses: tuple[str, ...]


@dataclass(frozen=True)
class DemandForecast:
    """Tonight's forecasts and what to store beside them."""

    forecasts: pl.DataFrame
    selections: dict[str, Selection]
    accuracy: pl.DataFrame
    reselected: int
    cold_starts: int
    censored_days: int


@task(cache_policy=NO_CACHE)
def load_forecast_inputs(db_path: Path, as_of: date, history_days: int) -> ForecastInputs:
    """Stock-out spans, the stored model choice, sku peers and fitment exposure."""
    with connect(db_path) as con:
        start = as_of - timedelta(days=history_days - 1)
        groups = forecasting.sku_groups(con)
        vehicles, stores, fitment = forecasting.exposure_inputs(con, as_of)
        return ForecastInputs(
            stockouts=forecasting.stockout_spans(con, start, as_of),
            selections=forecasting.load_selections(con),
            sku_groups=groups,
            exposure=fitment_exposure(vehicles, stores, fitment, groups),
            new_warehouses=tuple(
                forecasting.new_warehouses(con, as_of - timedelta(days=NEW_WAREHOUSE_DAYS))
            ),
        )


@task(cache_policy=NO_CACHE)
def forecast_demand(
    history: pl.DataFrame,
    positions: pl.DataFrame,
    inputs: ForecastInputs,
    as_of: date,
    params: ForecastParams,
) -> DemandForecast:
    """Forecast every active series: sold in the history window, or stocked."""
    censored = censored_days(history, inputs.stockouts, as_of)
    network = forecast_network(
        warehouse_series(history, censored, as_of),
        as_of,
        params,
        inputs.selections,
        inputs.sku_groups,
    )
    targets, cold = unsold_targets(positions, history, inputs.new_warehouses)
    unsold = forecast_unsold(
        targets, cold, as_of, params.horizon, (history, inputs.sku_groups, inputs.exposure)
    )
    fresh = _chosen(network.selections).join(
        _chosen(inputs.selections).select("unique_id", "selected_through"),
        on=["unique_id", "selected_through"],
        how="anti",
    )
    return DemandForecast(
        forecasts=pl.concat([network.forecasts, unsold]),
        selections=network.selections,
        accuracy=accuracy_rollup(network.accuracy),
        reselected=fresh.height,
        cold_starts=cold.height,
        censored_days=censored.height,
    )


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
    demand_forecast: DemandForecast,
    proposals: pl.DataFrame,
    summary: dict[str, Any],
) -> None:
    """Write forecasts, model choice, accuracy and plan; mark the run succeeded; atomically."""
    with connect(db_path) as con:
        plan.write_plan(
            con,
            run_id,
            demand_forecast.forecasts,
            proposals,
            summary,
            selections=demand_forecast.selections,
            accuracy=demand_forecast.accuracy,
        )


@task(cache_policy=NO_CACHE)
def publish_plan(db_path: Path, run_id: str, snapshot_dir: Path) -> Path:
    """Swap in the read-only snapshot the API and dashboard read."""
    with connect(db_path) as con:
        return plan.publish_snapshot(con, run_id, snapshot_dir)


@task(cache_policy=NO_CACHE)
def mark_run_failed(db_path: Path, run_id: str, error: str) -> None:
    """Record why the run failed."""
    with connect(db_path) as con:
        runs.fail_run(con, run_id, error)


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
    n_jobs: int = 1,
) -> NightlyResult:
    """Load the landing files, forecast every active series, plan, publish."""
    forecast_params = ForecastParams(
        freq="D", horizon=horizon, n_jobs=n_jobs, selection_sample=SELECTION_SAMPLE
    )
    policy = PolicyParams(service_level=service_level, review_period_days=review_period_days)
    loaded = {"files": 0, "loaded": 0, "quarantined": 0, "errors": 0}
    if landing_dir is not None and landing_dir.exists():
        loaded = ingest_landing(db_path, landing_dir)

    params = {
        "history_days": history_days,
        "horizon": horizon,
        "n_jobs": n_jobs,
        **asdict(policy),
    }
    run_id, as_of = start_nightly_run(db_path, as_of, params)
    try:
        history, positions, skus = load_planning_inputs(db_path, as_of, history_days)
        inputs = load_forecast_inputs(db_path, as_of, history_days)
        demand_forecast = forecast_demand(history, positions, inputs, as_of, forecast_params)
        forecasts = demand_forecast.forecasts
        proposals = plan_replenishment(forecasts, positions, skus, as_of, policy)
        result = NightlyResult(
            run_id=run_id,
            as_of=as_of,
            files_ingested=loaded["files"],
            files_refused=loaded["errors"],
            rows_loaded=loaded["loaded"],
            rows_quarantined=loaded["quarantined"],
            series_forecast=proposals.height,
            series_by_class=_count_classes(forecasts),
            series_reselected=demand_forecast.reselected,
            cold_starts=demand_forecast.cold_starts,
            censored_days=demand_forecast.censored_days,
            lines_proposed=proposals.filter(pl.col("proposed_quantity") > 0).height,
            units_proposed=int(proposals["proposed_quantity"].sum()),
            snapshot="",
        )
        save_plan(db_path, run_id, demand_forecast, proposals, asdict(result))
        snapshot = publish_plan(db_path, run_id, snapshot_dir)
    except Exception as error:
        mark_run_failed(db_path, run_id, f"{type(error).__name__}: {error}")
        raise
    return NightlyResult(**{**asdict(result), "snapshot": str(snapshot)})


def _chosen(selections: dict[str, Selection]) -> pl.DataFrame:
    return pl.concat([s.models for s in selections.values()] or [Selection.empty().models])


def _count_classes(forecasts: pl.DataFrame) -> dict[str, int]:
    per_series = forecasts.unique(["warehouse_id", "sku"]).group_by("class").len()
    return dict(sorted(zip(per_series["class"], per_series["len"], strict=True)))
