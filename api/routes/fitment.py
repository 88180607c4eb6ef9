"""``GET /v1/fitment``: the parts that fit a vehicle model, and the maintenance due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CallerDep, PublishedDep, SnapshotDep, StateDep, known_store
from api.fitment import due_services
from api.problems import ApiError, problem_responses
from api.routes.availability import availability_item
from api.schemas import (
    AvailabilityItem,
    DueService,
    FitmentPublic,
    FitmentQuery,
    FittingPart,
    MaintenancePublic,
    VehicleModelPublic,
)
from ops import free_stock, reading
from warehouse import published

router = APIRouter(tags=["store"])


@router.get(
    "/v1/fitment",
    response_model=FitmentPublic,
    responses=problem_responses(401, 404, 422, 429, 503),
)
def fitment(
    caller: CallerDep,
    view: SnapshotDep,
    state: StateDep,
    snap: PublishedDep,
    query: Annotated[FitmentQuery, Query()],
) -> FitmentPublic:
    """The parts that fit the model (of ``category``), by SKU and position.

    With ``store_id`` each part carries the store's availability (as
    ``/availability`` answers it). With ``mileage_km`` and/or ``age_months``,
    ``maintenance.due`` lists the part types the schedule says are due and the
    fitting SKUs of each. An unknown model is a 422 naming ``vehicle_model_id``;
    an unknown category fits nothing.
    """
    vehicle_model_id, category = query.vehicle_model_id, query.category
    mileage_km, age_months = query.mileage_km, query.age_months
    model = published.vehicle_models(snap, vehicle_model_id)
    if model.is_empty():
        message = f"unknown vehicle model {vehicle_model_id!r}"
        raise ApiError(422, message, kind="validation", errors=[("vehicle_model_id", message)])
    parts = published.fitting_parts(snap, vehicle_model_id, category=category)
    available = _availability(caller, view, state, query.store_id, parts["sku"].unique().to_list())
    maintenance = None
    if mileage_km is not None or age_months is not None:
        due = due_services(
            published.maintenance_schedule(snap, vehicle_model_id), mileage_km, age_months
        )
        maintenance = MaintenancePublic(
            mileage_km=mileage_km,
            age_months=age_months,
            due=[
                DueService(
                    part_type=d.part_type,
                    interval_km=d.interval_km,
                    interval_months=d.interval_months,
                    service_km=d.service_km,
                    service_months=d.service_months,
                    due_by=list(d.due_by),
                    skus=sorted(set(parts.filter(parts["part_type"] == d.part_type)["sku"])),
                )
                for d in due
            ],
        )
    return FitmentPublic(
        vehicle=VehicleModelPublic.model_validate(model.row(0, named=True)),
        category=category,
        store_id=query.store_id,
        plan_run_id=view.data.run_id,
        parts=[
            FittingPart(**row, availability=available.get(row["sku"]))
            for row in parts.drop("do_not_stock").iter_rows(named=True)
        ],
        maintenance=maintenance,
    )


def _availability(
    caller: CallerDep, view: SnapshotDep, state: StateDep, store_id: str | None, skus: list[str]
) -> dict[str, AvailabilityItem]:
    """The store's availability of ``skus`` (none without a store); a store key sees its own."""
    if store_id is None:
        return {}
    if caller.role == "store" and caller.store_id != store_id:
        raise ApiError(404, f"no store {store_id}", kind="not-found")
    store = known_store(view, store_id)
    known = sorted(sku for sku in skus if sku in view.data.skus)
    if not known:
        return {}
    with reading(state.engine) as conn:
        free = free_stock(conn, state.stock.pairs(store, known))
    items = state.stock.availability(view, store, known, free, datetime.now(UTC))
    return {item.sku: availability_item(item) for item in items}
