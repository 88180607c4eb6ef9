"""The nightly's decisions after the forecast: what to send, buy and route, and the frontier.

* proposals warehouse by warehouse (:func:`propose_for_warehouse`, mapped by the
  night's :class:`~flows.fanout.Fanout`, here or on Dask), then each DC's
  allocation of its stock among them (:func:`allocate_dcs`);
* the DC's purchase orders to its suppliers (:func:`plan_dc_purchases`);
* the line-haul vans (:func:`plan_routes`) and the stores' coverage
  (:func:`check_coverage`);
* the target replays per warehouse (:func:`replay_targets`), the planners'
  service-versus-stock frontier.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.fanout import Fanout
from flows.night_forecast import DemandForecast
from flows.night_inputs import SupplyInputs
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
)
from optimization.replenishment.policy import PolicyParams
from optimization.replenishment.purchasing import (
    PurchaseOrders,
    PurchasingParams,
    plan_purchases,
    purchase_orders,
)
from optimization.routing.linehaul import (
    LinehaulParams,
    LinehaulPlan,
    linehaul_loads,
    plan_linehaul,
    route_rows,
)
from warehouse import dispatch
from warehouse.schema import connect


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
            f"{params.deliver_by:%H:%M} with the fleet: {_late_drops(plans)}"
        )
    return Linehaul(
        routes=route_rows(plans, as_of, params),
        vans=sum(p.vans_needed for p in plans),
        trips=sum(p.trips for p in plans),
        km=sum(p.solution.distance for p in plans) / 1000,
        unassigned_l=unassigned,
    )


def _late_drops(plans: list[LinehaulPlan], shown: int = 5) -> str:
    """The unassigned litres per warehouse and reason, largest first (the first ``shown``)."""
    late: dict[tuple[str, str], float] = {}
    for plan in plans:
        for drop in plan.solution.unassigned:
            key = (plan.stop_warehouse[drop.stop], drop.reason)
            late[key] = late.get(key, 0.0) + plan.stop_volume[drop.stop]
    ranked = sorted(late.items(), key=lambda item: -item[1])
    told = "; ".join(f"{w} {litres:,.0f} l: {reason}" for (w, reason), litres in ranked[:shown])
    return told + (f"; and {len(ranked) - shown} more" if len(ranked) > shown else "")


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
