"""The planner's read side of the night's orders: transfer orders and DC purchase orders.

Read from the published snapshot (``warehouse.published``): statuses are as of
publishing. The workflow's write side (approve, release, cancel, overrides)
comes once the workflow lives in the operational store (issue 13, item 2).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import PlannerAuth, PublishedDep, SnapshotDep
from api.planner_schemas import (
    PurchaseOrderList,
    PurchaseOrderPublic,
    TransferOrderList,
    TransferOrderPublic,
    WorkflowStatus,
    rows,
)
from api.problems import ApiError, problem_responses
from api.schemas import decode_key_cursor, encode_key_cursor
from ops.order_lists import MAX_PAGE
from warehouse import published

router = APIRouter(tags=["planner"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=400)]
WarehouseFilter = Annotated[str | None, Query(min_length=1, max_length=64)]
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
_READ = problem_responses(401, 403, 404, 422, 429, 503)


def after_cursor(cursor: str | None) -> str | None:
    """The key a list's ``cursor`` names, or a 422 naming ``cursor``."""
    if not cursor:
        return None
    try:
        return decode_key_cursor(cursor)
    except ValueError as error:
        raise ApiError(
            422, str(error), kind="validation", errors=[("cursor", str(error))]
        ) from None


def known_warehouse(view: SnapshotDep, warehouse_id: str | None) -> None:
    """A 422 naming ``warehouse_id`` when the snapshot has no such warehouse."""
    if warehouse_id is not None and warehouse_id not in view.data.warehouse_points:
        message = f"unknown warehouse {warehouse_id!r}"
        raise ApiError(422, message, kind="validation", errors=[("warehouse_id", message)])


def next_cursor(page: published.Page) -> str | None:
    """The cursor of the page after ``page``."""
    return encode_key_cursor(page.next_after) if page.next_after else None


@router.get("/v1/transfer-orders", response_model=TransferOrderList, responses=_READ)
def list_transfer_orders(
    _who: PlannerAuth,
    view: SnapshotDep,
    snap: PublishedDep,
    warehouse_id: WarehouseFilter = None,
    status: WorkflowStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> TransferOrderList:
    """Transfer orders from or to ``warehouse_id``, in ``status``, by id."""
    known_warehouse(view, warehouse_id)
    page = published.transfer_orders(
        snap, warehouse_id=warehouse_id, status=status, after=after_cursor(cursor), limit=limit
    )
    return TransferOrderList.model_validate(
        {"items": rows(page.rows), "next_cursor": next_cursor(page)}
    )


@router.get(
    "/v1/transfer-orders/{transfer_id:path}", response_model=TransferOrderPublic, responses=_READ
)
def read_transfer_order(
    _who: PlannerAuth, snap: PublishedDep, transfer_id: OrderId
) -> TransferOrderPublic:
    """One transfer order: its lines with the plan's reasons, and its status history."""
    order = published.transfer_order(snap, transfer_id)
    if order is None:
        raise ApiError(404, f"no transfer order {transfer_id}", kind="not-found")
    head = _header(order)
    return TransferOrderPublic.model_validate(
        {**head, "lines": rows(order.lines), "status_history": rows(order.history)}
    )


@router.get("/v1/purchase-orders", response_model=PurchaseOrderList, responses=_READ)
def list_purchase_orders(
    _who: PlannerAuth,
    view: SnapshotDep,
    snap: PublishedDep,
    warehouse_id: WarehouseFilter = None,
    status: WorkflowStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> PurchaseOrderList:
    """The DCs' purchase orders (``warehouse_id``: the DC), in ``status``, by id."""
    known_warehouse(view, warehouse_id)
    page = published.purchase_orders(
        snap, dc_id=warehouse_id, status=status, after=after_cursor(cursor), limit=limit
    )
    return PurchaseOrderList.model_validate(
        {"items": rows(page.rows), "next_cursor": next_cursor(page)}
    )


@router.get("/v1/purchase-orders/{po_id:path}", response_model=PurchaseOrderPublic, responses=_READ)
def read_purchase_order(
    _who: PlannerAuth, snap: PublishedDep, po_id: OrderId
) -> PurchaseOrderPublic:
    """One purchase order: its lines with their reasons, and its status history."""
    order = published.purchase_order(snap, po_id)
    if order is None:
        raise ApiError(404, f"no purchase order {po_id}", kind="not-found")
    head = _header(order)
    return PurchaseOrderPublic.model_validate(
        {**head, "lines": rows(order.lines), "status_history": rows(order.history)}
    )


def _header(order: published.TransferOrder | published.PurchaseOrder) -> dict[str, object]:
    return {
        f.name: getattr(order, f.name) for f in fields(order) if f.name not in ("lines", "history")
    }
