"""The planner's view of the published plan: one series, the night's KPIs, its exceptions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.deps import PlannerAuth, PublishedDep, SnapshotDep
from api.planner_schemas import ExceptionList, KpisPublic, SeriesPublic, rows
from api.problems import ApiError, problem_responses
from api.routes.planner_orders import (
    Cursor,
    Limit,
    WarehouseFilter,
    after_cursor,
    known_warehouse,
    next_cursor,
)
from warehouse import published

router = APIRouter(tags=["planner"])

_READ = problem_responses(401, 403, 404, 422, 429, 503)
Key = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/v1/warehouses/{warehouse_id}/series/{sku}", response_model=SeriesPublic, responses=_READ
)
def read_series(
    _who: PlannerAuth, view: SnapshotDep, snap: PublishedDep, warehouse_id: Key, sku: Key
) -> SeriesPublic:
    """A series as the night saw it: demand history, stock counts, backtest, forecast
    quantiles, class and model, and the plan line (position, S, reason)."""
    if warehouse_id not in view.data.warehouse_points:
        raise ApiError(404, f"no warehouse {warehouse_id}", kind="not-found")
    found = published.series(snap, warehouse_id, sku)
    if found is None:
        raise ApiError(
            404, f"no series {sku} at {warehouse_id} in the published plan", kind="not-found"
        )
    plan = rows(found.plan)
    line: dict[str, Any] | None = plan[0] if plan else None
    backtest = rows(found.accuracy)
    return SeriesPublic.model_validate(
        {
            "warehouse_id": warehouse_id,
            "sku": sku,
            "plan_run_id": view.data.run_id,
            "demand_class": found.demand_class,
            "model": found.model,
            "history": rows(found.history),
            "stock_counts": rows(found.stock_counts),
            "forecast": rows(found.forecast),
            "backtest": backtest[0] if backtest else None,
            "action": line["action"] if line else None,
            "position": line["inventory_position"] if line else None,
            "order_up_to": line["order_up_to"] if line else None,
            "reason": line["reason"] if line else None,
            "plan_line": line,
            "transfers": rows(found.transfers),
        }
    )


@router.get("/v1/kpis", response_model=KpisPublic, responses=_READ)
def kpis(_who: PlannerAuth, snap: PublishedDep) -> KpisPublic:
    """The published night: its summary (series, lines, units, orders, line-haul ...), the
    network's backtest accuracy and each DC's allocation."""
    run = published.published_run(snap)
    network = rows(published.forecast_accuracy(snap, "network", limit=1).rows)
    return KpisPublic(
        plan_run_id=run.run_id,
        as_of=run.as_of,
        published_at=run.published_at,
        summary=dict(run.summary),
        accuracy=network[0] if network else None,
        allocations=rows(published.allocations(snap)),
    )


@router.get("/v1/exceptions", response_model=ExceptionList, responses=_READ)
def exceptions(
    _who: PlannerAuth,
    view: SnapshotDep,
    snap: PublishedDep,
    warehouse_id: WarehouseFilter = None,
    category: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    kind: Literal["cut", "stock_out", "cover_cap", "pull_back"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> ExceptionList:
    """Plan lines to look at before releasing: ``cut`` by the allocation, ``stock_out``
    (stocked, nothing free at the count), ``cover_cap`` (held to the cover cap),
    ``pull_back``; a line lists every kind it is. By series id (``warehouse/sku``)."""
    known_warehouse(view, warehouse_id)
    page = published.plan_exceptions(
        snap,
        warehouse_id=warehouse_id,
        category=category,
        kind=kind,
        after=after_cursor(cursor),
        limit=limit,
    )
    return ExceptionList.model_validate(
        {"items": rows(page.rows), "next_cursor": next_cursor(page)}
    )
