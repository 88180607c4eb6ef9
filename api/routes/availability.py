"""``GET /v1/stores/{store_id}/availability``: can you bring these parts, and by when?"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from api.deps import SnapshotDep, StateDep, StoreAuth, known_store
from api.problems import ApiError, problem_responses
from api.schemas import (
    ArrivalAlternative,
    AvailabilityItem,
    AvailabilityPublic,
    WarehouseAlternative,
)
from api.stock import ArrivalOffer, Offer, SkuAvailability
from ops import free_stock

router = APIRouter(tags=["store"])

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


@router.get(
    "/v1/stores/{store_id}/availability",
    response_model=AvailabilityPublic,
    responses=problem_responses(401, 404, 422, 429, 503),
)
async def availability(
    who: StoreAuth,
    view: SnapshotDep,
    state: StateDep,
    sku: Annotated[
        list[Sku], Query(min_length=1, max_length=100, description="1-100 SKUs: ?sku=A&sku=B")
    ],
) -> Response:
    """Units free for the store now, each with a delivery promise or, if none, an alternative.

    A SKU asked twice is answered once; an unknown SKU is a 422 naming it.
    """
    # async, the store read without a thread (api/storeio.py), and the answer serialised
    # once here: FastAPI would validate the returned model again, in the thread pool.
    store = known_store(view, who.store_id)
    skus = list(dict.fromkeys(sku))
    unknown = [s for s in skus if s not in view.data.skus]
    if unknown:
        raise ApiError(
            422,
            f"unknown SKU{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            kind="unknown-sku",
            errors=[("sku", f"unknown SKU {s!r}") for s in unknown],
        )
    pairs = state.stock.pairs(store, skus)
    free = await state.io.read(lambda conn: free_stock(conn, pairs))
    now = datetime.now(UTC)
    items = state.stock.availability(view, store, skus, free, now)
    answer = AvailabilityPublic(
        store_id=store.store_id,
        plan_run_id=view.data.run_id,
        items=[availability_item(item) for item in items],
    )
    return Response(answer.model_dump_json(), media_type="application/json")


def availability_item(item: SkuAvailability) -> AvailabilityItem:
    """One item of the answer (fitment's parts carry the same shape)."""
    promise = item.offer.promise
    alternative: WarehouseAlternative | ArrivalAlternative | None = None
    if isinstance(item.alternative, Offer) and item.alternative.promise is not None:
        alternative = WarehouseAlternative(
            warehouse_id=item.alternative.warehouse_id,
            available=item.alternative.available,
            deliver_by=item.alternative.promise.deliver_by.astimezone(UTC),
            promise_minutes=item.alternative.promise.minutes,
        )
    elif isinstance(item.alternative, ArrivalOffer):
        arrival = item.alternative.arrival
        alternative = ArrivalAlternative(
            warehouse_id=item.alternative.warehouse_id,
            transfer_id=arrival.transfer_id,
            arrives_on=arrival.needed_by,
            quantity=arrival.quantity,
        )
    return AvailabilityItem(
        sku=item.sku,
        warehouse_id=item.offer.warehouse_id,
        available=item.offer.available,
        deliver_by=promise.deliver_by.astimezone(UTC) if promise else None,
        promise_minutes=promise.minutes if promise else None,
        alternative=alternative,
    )
