"""The nightly run: a Prefect flow whose body reads top to bottom like the night it runs.

Each task calls one function of ``pipelines``/``warehouse``/``models``/
``optimization``. Tasks take the database path, not a connection: a DuckDB
connection cannot cross process or thread boundaries safely, and opening one is
cheap. Parameters arrive as the frozen objects ``settings.Settings`` builds
(``NightlyParams``, ``DataPaths``); nothing here has a default of its own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish_night_artifacts
from flows.fanout import fanout
from flows.night_forecast import DemandForecast, forecast_network_demand
from flows.night_inputs import (
    ingest_landing,
    ingest_operational,
    load_forecast_inputs,
    load_planning_inputs,
    load_supply_inputs,
    start_nightly_run,
)
from flows.night_plan import (
    DcPurchases,
    Linehaul,
    check_coverage,
    plan_dc_purchases,
    plan_replenishment,
    plan_routes,
    replay_targets,
)
from flows.progress import report_step
from flows.spill import Spill, night_spill, remove_orphans
from flows.store import copy_store_workflow, publish_to_store, repair_store_publication
from optimization.replenishment.planning import NetworkPlan, transfer_orders
from pipelines.errors import InputError, disk_full_message, is_disk_full
from settings import DataPaths, NightlyParams
from warehouse import plan, published, runs
from warehouse.dblock import database_lock
from warehouse.schema import connect


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
    series_held: int
    series_kept_at_dc: int
    lines_proposed: int
    units_proposed: int
    units_allocated: int
    lines_cut: int
    allocation_status: str
    transfer_orders: int
    pull_back_lines: int
    purchase_orders: int
    purchase_units: int
    purchase_value: float
    skus_without_supplier: int
    linehaul_vans: int
    linehaul_trips: int
    linehaul_km: float
    linehaul_unassigned_l: float
    stores_flagged: int
    snapshot: str
    # Seconds per step of the flow body (the Runs page); saving and publishing come after.
    step_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Night:
    """Everything the night computed, saved in one transaction.

    The forecast and plan rows to save are Parquet files (``forecast_rows``, a folder
    of them, and ``plan_rows``: :mod:`flows.spill`); ``demand_forecast`` and
    ``network_plan`` keep the columns the night reads after they are made
    (:data:`~flows.night_forecast.FORECAST_READ`, all of the plan's but :data:`PLAN_TEXT`).
    """

    demand_forecast: DemandForecast
    network_plan: NetworkPlan
    transfers: tuple[pl.DataFrame, pl.DataFrame]  # transfer-order headers and lines
    linehaul: Linehaul
    replays: pl.DataFrame
    coverage: pl.DataFrame
    purchases: DcPurchases
    forecast_rows: Path
    plan_rows: Path


#: The plan's text, only saved once the transfer orders are made (0.6 of its 1.0 GiB
#: on the large network).
PLAN_TEXT = ("reason", "stocking_reason", "decision")


def _tables(night: Night) -> plan.NightTables:
    """What of the night is saved."""
    return plan.NightTables(
        night.forecast_rows,
        night.plan_rows,
        selections=night.demand_forecast.selections,
        accuracy=night.demand_forecast.accuracy,
        allocations=night.network_plan.allocations,
        transfers=night.transfers,
        routes=night.linehaul.routes,
        replays=night.replays,
        coverage=night.coverage,
        purchases=night.purchases.orders,
        purchase_plan=night.purchases.plan,
    )


@task(cache_policy=NO_CACHE)
def save_plan(
    db_path: Path,
    run_id: str,
    tables: plan.NightTables,
    summary: dict[str, Any],
    keep_forecast_runs: int,
) -> None:
    """Write forecasts, choice, accuracy, plan and transfer orders; finish the run; atomically.

    Forecast rows of runs older than the newest ``keep_forecast_runs`` go in the same step.
    """
    with connect(db_path) as con:
        plan.write_plan(con, run_id, tables, summary, keep_forecast_runs)


@task(cache_policy=NO_CACHE)
def publish_plan(db_path: Path, run_id: str, snapshot_dir: Path) -> Path:
    """Swap in the read-only snapshot the API and dashboard read."""
    with connect(db_path) as con:
        return plan.publish_snapshot(con, run_id, snapshot_dir)


@task(cache_policy=NO_CACHE)
def check_publication(db_path: Path, snapshot_dir: Path) -> plan.PublicationCheck:
    """Republish the latest succeeded night if the snapshot is another's; drop orphans.

    A night killed between its commit and its publish left the API on the plan
    before; the next night's start puts it right before anything else.
    """
    with connect(db_path) as con:
        check = plan.repair_publication(con, snapshot_dir)
        latest = runs.latest_succeeded(con, "nightly")
    if latest is not None and latest[1] is not None:
        # The commit's announcement, for /readyz: written again in case the kill came first.
        published.record_latest_run(snapshot_dir, latest[0], latest[1])
    logger = get_run_logger()
    if check.republished:
        logger.warning(
            "the published snapshot was run %s, the latest succeeded night is %s: republished",
            check.published_run,
            check.latest_run,
        )
    if check.orphans_removed:
        logger.warning("removed %d half-built snapshot file(s)", check.orphans_removed)
    return check


@task(cache_policy=NO_CACHE)
def mark_run_failed(db_path: Path, run_id: str, error: str) -> None:
    """Record why the run failed."""
    with connect(db_path) as con:
        runs.fail_run(con, run_id, error)


@flow(name="nightly", log_prints=True, validate_parameters=False)
def nightly(
    paths: DataPaths,
    params: NightlyParams,
    as_of: date | None = None,
    dask_address: str | None = None,
) -> NightlyResult:
    """Load the landing files, forecast, plan, allocate, route, replay the targets, publish.

    ``paths.landing`` None plans on what is loaded; a landing folder that does not
    exist or holds no file is an :class:`InputError` (a typo in ``--landing`` planned
    on stale data and superseded the open orders). With ``paths.ops_url`` the workflow
    is the operational store's (flows/store.py): the night copies what planners decided
    at its start and proposes tonight's orders there.

    With ``dask_address`` (a Dask scheduler, ``tcp://host:8786``) the per-warehouse
    tasks, the forecast and the target replays, run on that cluster
    (:mod:`flows.fanout`; docs/DEPLOYMENT.md); the results are the same as without.

    The whole night holds the database's lock (:mod:`warehouse.dblock`): a second
    nightly, or any other command that writes the database, is refused while it runs.

    Raises
    ------
    DatabaseInUseError
        Another live command holds the database.
    """
    check_landing(paths.landing)
    with database_lock(paths.db, "nightly"):
        return _night(paths, params, as_of, dask_address)


def check_landing(landing: Path | None) -> None:
    """Refuse a landing folder that does not exist, is a file, or holds no file at all.

    Raises
    ------
    InputError
        Naming the folder and what is wrong with it.
    """
    if landing is None:
        return
    if not landing.is_dir():
        problem = "is not a folder" if landing.exists() else "does not exist"
        raise InputError(f"landing folder {landing} {problem} (check --landing)")
    if not any(path.is_file() for path in landing.rglob("*") if not path.name.startswith(".")):
        raise InputError(f"landing folder {landing} holds no file: nothing to plan on")


def _night(
    paths: DataPaths, params: NightlyParams, as_of: date | None, dask_address: str | None
) -> NightlyResult:
    db = paths.db
    laps = _Laps()
    if db.exists():
        if removed := remove_orphans(db):
            get_run_logger().warning(f"removed {removed} spill folder(s) of killed nights")
        check_publication(db, paths.snapshots)
        if paths.ops_url is not None:
            repair_store_publication(db, paths.ops_url)
    loaded = ingest_landing(db, paths.landing) if paths.landing is not None else dict(_NO_FILES)
    if paths.ops_url is not None:  # the API's orders and returns: today's are tonight's demand
        from_store = ingest_operational(db, paths.ops_url)
        loaded = {key: count + from_store[key] for key, count in loaded.items()}

    # Released orders are in-transit stock: read what planners decided before planning.
    basis_at = copy_store_workflow(db, paths.ops_url) if paths.ops_url else None
    laps.lap("ingest")

    run_id, as_of = start_nightly_run(db, as_of, asdict(params))
    try:
        with night_spill(db, run_id) as spill:
            night = _plan_night(db, run_id, as_of, params, dask_address, spill, laps)
            result = replace(_summary(run_id, as_of, loaded, night), step_seconds=laps.seconds)
            tables = _tables(night)
            # What the save does not write (the forecast and plan columns the night read,
            # the sales) is freed before it: 1.5-2 GiB of frames on the large network, of
            # which the allocators handed back enough to lower the save's peak 0.15-0.35 GiB.
            del night
            save_plan(db, run_id, tables, asdict(result), params.forecast_retention_runs)
        del tables  # publishing needs none of them
        published.record_latest_run(paths.snapshots, run_id, as_of)  # /readyz: committed
        snapshot = publish_plan(db, run_id, paths.snapshots)
        if paths.ops_url and basis_at is not None:
            publish_to_store(db, run_id, as_of, paths.ops_url, basis_at)
    except Exception as error:
        mark_run_failed(db, run_id, _why(error))
        raise
    final = replace(result, snapshot=str(snapshot))
    publish_night_artifacts(final, paths.snapshots)  # the night in the Prefect UI; never fails
    return final


def _plan_night(
    db: Path,
    run_id: str,
    as_of: date,
    params: NightlyParams,
    dask_address: str | None,
    spill: Spill,
    laps: _Laps,
) -> Night:
    """The night from its inputs to what it saves. The forecast and plan rows go to
    ``spill`` as soon as each is made, and the night goes on with the columns it reads."""
    history, positions, skus = load_planning_inputs(db, as_of, params.history_days)
    inputs = load_forecast_inputs(db, as_of, params.history_days, params.new_warehouse_days)
    with fanout(dask_address) as warehouses:  # per-warehouse tasks: here, or on Dask
        demand_forecast = forecast_network_demand(
            history, positions, inputs, as_of, params.forecast, (warehouses, spill)
        )
        laps.lap("forecast")
        supply = load_supply_inputs(db, as_of)
        network_plan = plan_replenishment(
            demand_forecast,
            positions,
            skus,
            supply,
            as_of,
            (params.policy, params.allocation),
            warehouses,
        )
        transfers = transfer_orders(network_plan.plan, run_id, as_of)
        plan_rows = spill.put("plan", network_plan.plan)
        network_plan = replace(network_plan, plan=network_plan.plan.drop(PLAN_TEXT))
        laps.lap("plan")
        linehaul = plan_routes(network_plan, supply.sites, as_of, params.linehaul)
        laps.lap("line-haul")
        replays = replay_targets(history, network_plan, as_of, params.replay, warehouses)
        laps.lap("replay")
    coverage = check_coverage(db)
    laps.lap("coverage")
    purchases = plan_dc_purchases(
        demand_forecast, network_plan, supply, as_of, run_id, params.purchasing
    )
    laps.lap("purchase")
    return Night(
        demand_forecast,
        network_plan,
        transfers=transfers,
        linehaul=linehaul,
        replays=replays,
        coverage=coverage,
        purchases=purchases,
        forecast_rows=demand_forecast.rows,
        plan_rows=plan_rows,
    )


_NO_FILES = {"files": 0, "loaded": 0, "quarantined": 0, "errors": 0}


def _why(error: Exception) -> str:
    """The run's one-line error: a full disk said as such (DuckDB's first line hides it)."""
    if is_disk_full(error):
        return disk_full_message(error)
    return f"{type(error).__name__}: {error}"


class _Laps:
    """Seconds per step of the flow body, each step timed from the end of the last."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(now - self._last, 2)
        self._last = now
        report_step(step)  # the CLI's progress bar, on a terminal


def _summary(run_id: str, as_of: date, loaded: dict[str, int], night: Night) -> NightlyResult:
    """What the night did, before it is saved (``snapshot`` is filled in after publishing)."""
    demand_forecast, network_plan = night.demand_forecast, night.network_plan
    forecasts, proposals = demand_forecast.forecasts, network_plan.plan
    vans, coverage = night.linehaul, night.coverage
    ordered = night.purchases.orders.lines
    return NightlyResult(
        run_id=run_id,
        as_of=as_of,
        files_ingested=loaded["files"],
        files_refused=loaded["errors"],
        rows_loaded=loaded["loaded"],
        rows_quarantined=loaded["quarantined"],
        series_forecast=forecasts.select("warehouse_id", "sku").n_unique(),
        series_by_class=_count_classes(forecasts),
        series_reselected=demand_forecast.reselected,
        cold_starts=demand_forecast.cold_starts,
        censored_days=demand_forecast.censored_days,
        series_held=int(proposals["stocked"].sum()),
        series_kept_at_dc=proposals.filter(~pl.col("stocked")).height,
        lines_proposed=proposals.filter(pl.col("proposed_quantity") > 0).height,
        units_proposed=int(proposals["proposed_quantity"].sum()),
        units_allocated=int(proposals["allocated_quantity"].sum()),
        lines_cut=proposals.filter(
            pl.col("allocated_quantity") < pl.col("proposed_quantity")
        ).height,
        allocation_status=_allocation_status(network_plan.allocations),
        transfer_orders=night.transfers[0].height,
        pull_back_lines=proposals.filter(pl.col("pull_back_quantity") > 0).height,
        purchase_orders=night.purchases.orders.headers.height,
        purchase_units=int(ordered["quantity"].sum()),
        purchase_value=round(float((ordered["quantity"] * ordered["unit_cost"]).sum()), 2),
        skus_without_supplier=night.purchases.plan.filter(pl.col("action") == "no_supplier")
        .select("sku")
        .n_unique(),
        linehaul_vans=vans.vans,
        linehaul_trips=vans.trips,
        linehaul_km=round(vans.km, 1),
        linehaul_unassigned_l=round(vans.unassigned_l, 1),
        stores_flagged=coverage.filter(~pl.col("ok")).height,
        snapshot="",
    )


def _allocation_status(allocations: pl.DataFrame) -> str:
    rows = allocations.select("dc_id", "status").rows()
    return ", ".join(f"{dc} {status}" for dc, status in rows)


def _count_classes(forecasts: pl.DataFrame) -> dict[str, int]:
    # Three columns before unique: over all twelve it cost 2.6 GiB on the large network.
    per_series = (
        forecasts.select("warehouse_id", "sku", "class")
        .unique(["warehouse_id", "sku"])
        .group_by("class")
        .len()
    )
    return dict(sorted(zip(per_series["class"], per_series["len"], strict=True)))
