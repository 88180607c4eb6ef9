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
from flows.fanout import Fanout, fanout
from flows.night_forecast import DemandForecast, forecast_network_demand
from flows.night_inputs import (
    SupplyInputs,
    ingest_landing,
    ingest_operational,
    load_forecast_inputs,
    load_planning_inputs,
    load_supply_inputs,
    start_nightly_run,
)
from flows.progress import report_step
from flows.store import copy_store_workflow, publish_to_store, repair_store_publication
from optimization.delivery.coverage import check_assignment, coverage_pairs
from optimization.evaluation.replay import (
    ReplayParams,
    WarehouseReplay,
    gather_replays,
    replay_warehouse,
    warehouse_replays,
)
from optimization.replenishment.allocation import AllocationParams
from optimization.replenishment.dc_demand import dc_demand, tonight_transfers
from optimization.replenishment.planning import (
    NetworkPlan,
    allocate_network,
    demand_distribution,
    propose_network,
    transfer_orders,
)
from optimization.replenishment.policy import PolicyParams
from optimization.replenishment.purchasing import (
    PurchaseOrders,
    PurchasingParams,
    plan_purchases,
    purchase_orders,
)
from optimization.routing.linehaul import LinehaulParams, linehaul_loads, plan_linehaul, route_rows
from pipelines.errors import InputError, disk_full_message, is_disk_full
from settings import DataPaths, NightlyParams
from warehouse import dispatch, plan, published, runs
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


def plan_replenishment(
    demand_forecast: DemandForecast,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    supply: SupplyInputs,
    as_of: date,
    params: tuple[PolicyParams, AllocationParams],
    warehouses: Fanout,
) -> NetworkPlan:
    """Service-driven proposals warehouse by warehouse (here or on Dask), then each DC's
    allocation of its stock among them."""
    policy, allocation = params
    if supply.dc_stock.is_empty():
        get_run_logger().warning(
            "no DC stock is known (no stock_levels rows for a DC): every proposal is cut to 0"
        )
    distribution = demand_distribution(
        demand_forecast.forecasts,
        demand_forecast.dispersion,
        skus,
        policy.review_period_days,
        demand_forecast.sales,
    )
    ids = sorted(set(distribution["warehouse_id"]) | set(positions["warehouse_id"]))

    def own(frame: pl.DataFrame, warehouse_id: str) -> pl.DataFrame:
        return frame.filter(pl.col("warehouse_id") == warehouse_id)

    calls = (
        {
            "demand": own(distribution, w),
            "positions": own(positions, w),
            "skus": skus,
            "supply": replace(
                supply, shelf=own(supply.shelf, w), overrides=own(supply.overrides, w)
            ),
            "as_of": as_of,
            "policy": policy,
        }
        for w in ids
    )
    proposals = warehouses.map(propose_for_warehouse, calls)
    if not proposals:  # no series at all: the whole (empty) network's proposals
        proposals = [propose_network(distribution, positions, skus, supply.shelf, as_of)]
    return allocate_dcs(pl.concat(proposals), supply, allocation)


@task(cache_policy=NO_CACHE)
def propose_for_warehouse(
    demand: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    supply: SupplyInputs,
    as_of: date,
    policy: PolicyParams,
) -> pl.DataFrame:
    """One warehouse's proposals: the range, the levels, the shelf fit and tonight's moves."""
    return propose_network(
        demand, positions, skus, supply.shelf, as_of, supply.targets, policy, supply.overrides
    )


@task(cache_policy=NO_CACHE)
def allocate_dcs(
    proposals: pl.DataFrame, supply: SupplyInputs, allocation: AllocationParams
) -> NetworkPlan:
    """Each DC's stock among its warehouses' proposals."""
    return allocate_network(proposals, supply.dc_stock, supply.shelf, allocation)


@task(cache_policy=NO_CACHE)
def plan_dc_purchases(
    demand_forecast: DemandForecast,
    network_plan: NetworkPlan,
    supply: SupplyInputs,
    as_of: date,
    run_id: str,
    params: PurchasingParams,
) -> DcPurchases:
    """The DC's orders to its suppliers: the network's demand over each supplier's lead time
    and order cycle, against the DC's stock, what is on order and what leaves tonight."""
    demand = dc_demand(
        demand_forecast.forecasts, demand_forecast.dispersion, supply.shelf, supply.supply_terms
    )
    plan = plan_purchases(
        demand,
        supply.dc_positions,
        supply.supply_terms,
        as_of,
        params,
        outgoing=tonight_transfers(network_plan.plan),
    )
    return DcPurchases(plan, purchase_orders(plan, run_id))


@dataclass(frozen=True)
class DcPurchases:
    """Tonight's purchase plan per (DC, SKU) (``PURCHASE_PLAN``) and the orders it makes."""

    plan: pl.DataFrame
    orders: PurchaseOrders


@dataclass(frozen=True)
class Linehaul:
    """Tonight's van routes (``routes`` rows) and their totals."""

    routes: pl.DataFrame
    vans: int
    trips: int
    km: float
    unassigned_l: float


@task(cache_policy=NO_CACHE)
def plan_routes(
    network_plan: NetworkPlan, sites: pl.DataFrame, as_of: date, params: LinehaulParams
) -> Linehaul:
    """Route the DC vans that carry tonight's transfers, before the warehouses open."""
    plans = plan_linehaul(linehaul_loads(network_plan.plan), sites, params)
    unassigned = sum(p.unassigned_volume_l for p in plans)
    if unassigned:
        get_run_logger().warning(
            f"line-haul: {unassigned:,.0f} l cannot reach the warehouses before "
            f"{params.deliver_by:%H:%M} with the fleet; see the unassigned drops"
        )
    return Linehaul(
        routes=route_rows(plans, as_of, params),
        vans=sum(p.vans_needed for p in plans),
        trips=sum(p.trips for p in plans),
        km=sum(p.solution.distance for p in plans) / 1000,
        unassigned_l=unassigned,
    )


@task(cache_policy=NO_CACHE)
def check_coverage(db_path: Path) -> pl.DataFrame:
    """Which warehouse can reach each store within 5 km and 30 minutes at the busy hour."""
    with connect(db_path) as con:
        stores, warehouses = dispatch.store_points(con), dispatch.warehouse_points(con)
    checked = check_assignment(stores, coverage_pairs(stores, warehouses))
    flagged = checked.filter(~pl.col("ok"))
    if not flagged.is_empty():
        get_run_logger().warning(
            f"coverage: {flagged.height} store(s) outside the 5 km / 30 min promise or better "
            f"served by another warehouse, e.g. {flagged['store_id'][0]}: {flagged['issues'][0]}"
        )
    return checked


def replay_targets(
    history: pl.DataFrame,
    network_plan: NetworkPlan,
    as_of: date,
    params: ReplayParams,
    warehouses: Fanout,
) -> pl.DataFrame:
    """The last weeks per warehouse under each policy and target: the planners' frontier."""
    calls = (
        {"replay": replay, "as_of": as_of, "params": params}
        for replay in warehouse_replays(history, network_plan.plan, as_of, params)
    )
    return gather_replays(warehouses.map(replay_warehouse_targets, calls))


@task(cache_policy=NO_CACHE)
def replay_warehouse_targets(
    replay: WarehouseReplay, as_of: date, params: ReplayParams
) -> pl.DataFrame:
    """One warehouse's last weeks under each policy and target: its part of the frontier."""
    return replay_warehouse(replay, as_of, params)


@dataclass(frozen=True)
class Night:
    """Everything the night computed, saved in one transaction."""

    demand_forecast: DemandForecast
    network_plan: NetworkPlan
    transfers: tuple[pl.DataFrame, pl.DataFrame]  # transfer-order headers and lines
    linehaul: Linehaul
    replays: pl.DataFrame
    coverage: pl.DataFrame
    purchases: DcPurchases


@task(cache_policy=NO_CACHE)
def save_plan(
    db_path: Path, run_id: str, night: Night, summary: dict[str, Any], keep_forecast_runs: int
) -> None:
    """Write forecasts, choice, accuracy, plan and transfer orders; finish the run; atomically.

    Forecast rows of runs older than the newest ``keep_forecast_runs`` go in the same step.
    """
    with connect(db_path) as con:
        tables = plan.NightTables(
            night.demand_forecast.forecasts,
            night.network_plan.plan,
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
        history, positions, skus = load_planning_inputs(db, as_of, params.history_days)
        inputs = load_forecast_inputs(db, as_of, params.history_days, params.new_warehouse_days)
        with fanout(dask_address) as warehouses:  # per-warehouse tasks: here, or on Dask
            demand_forecast = forecast_network_demand(
                history, positions, inputs, as_of, params.forecast, warehouses
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
        night = Night(
            demand_forecast,
            network_plan,
            transfers=transfers,
            linehaul=linehaul,
            replays=replays,
            coverage=coverage,
            purchases=purchases,
        )
        result = replace(_summary(run_id, as_of, loaded, night), step_seconds=laps.seconds)
        save_plan(db, run_id, night, asdict(result), params.forecast_retention_runs)
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
    per_series = forecasts.unique(["warehouse_id", "sku"]).group_by("class").len()
    return dict(sorted(zip(per_series["class"], per_series["len"], strict=True)))
