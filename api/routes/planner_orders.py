"""The planners' transfer orders and DC purchase orders: read them, decide them.

The workflow lives in the operational store (API.md): lists, orders and every
step go through :mod:`ops.workflow`, the functions ``partsflow transfer ...``
calls too, so statuses are live, not as of publishing. A line's plan details
(action, position, S, the allocation's cut) come from the published snapshot
when the order is the published night's.

Steps: ``POST .../{id}/approve|release|cancel`` (body ``{"reason"?}``; cancel
needs one) and ``PATCH .../{id}/lines/{sku}`` (``{"quantity", "reason"}``: an
override). A step the workflow does not allow now, or a release beyond the
source's free stock or the supplier's terms, is a 409 naming why; a malformed
step (no reason, a SKU not on the order) a 422. Each answers the order as it
now stands. Who, when, before, after and why go to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from api.deps import OpsDep, PlannerAuth, PublishedDep, SnapshotDep
from api.planner_schemas import (
    PurchaseOrderList,
    PurchaseOrderPublic,
    TransferOrderList,
    TransferOrderPublic,
    WorkflowStatus,
)
from api.problems import ApiError, problem_responses
from api.schemas import decode_key_cursor, encode_key_cursor
from ops import reading
from ops import workflow as store
from ops.order_lists import MAX_PAGE
from warehouse import published

router = APIRouter(tags=["planner"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=400)]
WarehouseFilter = Annotated[str | None, Query(min_length=1, max_length=64)]
#: Only the orders one night proposed (its run id, as each order's ``run_id`` gives it).
RunFilter = Annotated[str | None, Query(min_length=1, max_length=64)]
OrderId = Annotated[str, Path(min_length=1, max_length=200)]
Sku = Annotated[str, Path(min_length=1, max_length=64)]
_READ = problem_responses(401, 403, 404, 422, 429, 503)
_STEP = problem_responses(401, 403, 404, 409, 422, 429, 503)
#: Plan details of a transfer line, from the snapshot (null for another night's order).
_PLAN_COLUMNS = ("action", "inventory_position", "order_up_to", "cut_by", "decision")


class StepRequest(BaseModel):
    """``{"reason"?}``: why (required to cancel)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class LineOverride(BaseModel):
    """``{"quantity", "reason"}``: the line's new quantity and why (an override)."""

    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=0, le=store.MAX_LINE_QUANTITY)
    reason: str = Field(min_length=1, max_length=2000)


OptionalStep = Annotated[StepRequest | None, Body()]


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


def next_cursor(page: published.Page) -> str | None:
    """The cursor of the snapshot page after ``page``."""
    return encode_key_cursor(page.next_after) if page.next_after else None


def known_warehouse(view: SnapshotDep, warehouse_id: str | None) -> None:
    """A 422 naming ``warehouse_id`` when the snapshot has no such warehouse."""
    if warehouse_id is not None and warehouse_id not in view.data.warehouse_points:
        message = f"unknown warehouse {warehouse_id!r}"
        raise ApiError(422, message, kind="validation", errors=[("warehouse_id", message)])


# ---- transfer orders ---------------------------------------------------------------------


@router.get("/v1/transfer-orders", response_model=TransferOrderList, responses=_READ)
def list_transfer_orders(
    _who: PlannerAuth,
    view: SnapshotDep,
    ops: OpsDep,
    warehouse_id: WarehouseFilter = None,
    status: WorkflowStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    run_id: RunFilter = None,
) -> TransferOrderList:
    """Transfer orders from or to ``warehouse_id``, in ``status``, of night ``run_id``, by id
    (live statuses)."""
    known_warehouse(view, warehouse_id)
    return TransferOrderList.model_validate(
        _page(ops, "transfer", warehouse_id, status, limit, cursor, run_id)
    )


@router.get(
    "/v1/transfer-orders/{transfer_id:path}", response_model=TransferOrderPublic, responses=_READ
)
def read_transfer_order(
    _who: PlannerAuth, ops: OpsDep, snap: PublishedDep, transfer_id: OrderId
) -> TransferOrderPublic:
    """One transfer order: its lines with the plan's reasons, and its status history."""
    order = _read(ops, "transfer", transfer_id)
    return TransferOrderPublic.model_validate(_transfer_body(order, snap))


@router.post(
    "/v1/transfer-orders/{transfer_id:path}/approve",
    response_model=TransferOrderPublic,
    responses=_STEP,
)
def approve_transfer_order(
    who: PlannerAuth,
    ops: OpsDep,
    snap: PublishedDep,
    transfer_id: OrderId,
    body: OptionalStep = None,
) -> TransferOrderPublic:
    """Approve a proposed order as it stands."""
    order = _change(
        ops, lambda c: store.approve(c, "transfer", transfer_id, by=who.name, reason=_why(body))
    )
    return TransferOrderPublic.model_validate(_transfer_body(order, snap))


@router.post(
    "/v1/transfer-orders/{transfer_id:path}/release",
    response_model=TransferOrderPublic,
    responses=_STEP,
)
def release_transfer_order(
    who: PlannerAuth,
    ops: OpsDep,
    snap: PublishedDep,
    transfer_id: OrderId,
    body: OptionalStep = None,
) -> TransferOrderPublic:
    """Release an approved or overridden order to the DC, if the DC has its lines free."""
    order = _change(
        ops, lambda c: store.release(c, "transfer", transfer_id, by=who.name, reason=_why(body))
    )
    return TransferOrderPublic.model_validate(_transfer_body(order, snap))


@router.post(
    "/v1/transfer-orders/{transfer_id:path}/cancel",
    response_model=TransferOrderPublic,
    responses=_STEP,
)
def cancel_transfer_order(
    who: PlannerAuth,
    ops: OpsDep,
    snap: PublishedDep,
    transfer_id: OrderId,
    body: OptionalStep = None,
) -> TransferOrderPublic:
    """Cancel an order not yet released (a reason is required)."""
    order = _change(
        ops,
        lambda c: store.cancel(c, "transfer", transfer_id, reason=_why(body) or "", by=who.name),
    )
    return TransferOrderPublic.model_validate(_transfer_body(order, snap))


@router.patch(
    "/v1/transfer-orders/{transfer_id:path}/lines/{sku}",
    response_model=TransferOrderPublic,
    responses=_STEP,
)
def override_transfer_line(
    who: PlannerAuth,
    ops: OpsDep,
    snap: PublishedDep,
    transfer_id: OrderId,
    sku: Sku,
    body: LineOverride,
) -> TransferOrderPublic:
    """Set one line's quantity, with the reason: the order becomes ``overridden``."""
    order = _change(
        ops,
        lambda c: store.override(
            c, "transfer", transfer_id, {sku: body.quantity}, reason=body.reason, by=who.name
        ),
    )
    return TransferOrderPublic.model_validate(_transfer_body(order, snap))


# ---- purchase orders ---------------------------------------------------------------------


@router.get("/v1/purchase-orders", response_model=PurchaseOrderList, responses=_READ)
def list_purchase_orders(
    _who: PlannerAuth,
    view: SnapshotDep,
    ops: OpsDep,
    warehouse_id: WarehouseFilter = None,
    status: WorkflowStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    run_id: RunFilter = None,
) -> PurchaseOrderList:
    """The DCs' purchase orders (``warehouse_id``: the DC), in ``status``, of night
    ``run_id``, by id."""
    known_warehouse(view, warehouse_id)
    return PurchaseOrderList.model_validate(
        _page(ops, "purchase", warehouse_id, status, limit, cursor, run_id)
    )


@router.get("/v1/purchase-orders/{po_id:path}", response_model=PurchaseOrderPublic, responses=_READ)
def read_purchase_order(_who: PlannerAuth, ops: OpsDep, po_id: OrderId) -> PurchaseOrderPublic:
    """One purchase order: its lines with their reasons, and its status history."""
    return PurchaseOrderPublic.model_validate(_body(_read(ops, "purchase", po_id)))


@router.post(
    "/v1/purchase-orders/{po_id:path}/approve", response_model=PurchaseOrderPublic, responses=_STEP
)
def approve_purchase_order(
    who: PlannerAuth, ops: OpsDep, po_id: OrderId, body: OptionalStep = None
) -> PurchaseOrderPublic:
    """Approve a proposed order as it stands."""
    order = _change(
        ops, lambda c: store.approve(c, "purchase", po_id, by=who.name, reason=_why(body))
    )
    return PurchaseOrderPublic.model_validate(_body(order))


@router.post(
    "/v1/purchase-orders/{po_id:path}/release", response_model=PurchaseOrderPublic, responses=_STEP
)
def release_purchase_order(
    who: PlannerAuth, ops: OpsDep, po_id: OrderId, body: OptionalStep = None
) -> PurchaseOrderPublic:
    """Release an approved or overridden order to the supplier, if it orders something."""
    order = _change(
        ops, lambda c: store.release(c, "purchase", po_id, by=who.name, reason=_why(body))
    )
    return PurchaseOrderPublic.model_validate(_body(order))


@router.post(
    "/v1/purchase-orders/{po_id:path}/cancel", response_model=PurchaseOrderPublic, responses=_STEP
)
def cancel_purchase_order(
    who: PlannerAuth, ops: OpsDep, po_id: OrderId, body: OptionalStep = None
) -> PurchaseOrderPublic:
    """Cancel an order not yet released (a reason is required)."""
    order = _change(
        ops, lambda c: store.cancel(c, "purchase", po_id, reason=_why(body) or "", by=who.name)
    )
    return PurchaseOrderPublic.model_validate(_body(order))


@router.patch(
    "/v1/purchase-orders/{po_id:path}/lines/{sku}",
    response_model=PurchaseOrderPublic,
    responses=_STEP,
)
def override_purchase_line(
    who: PlannerAuth, ops: OpsDep, po_id: OrderId, sku: Sku, body: LineOverride
) -> PurchaseOrderPublic:
    """Set one line's quantity (0 or whole cases from the MOQ up), with the reason."""
    order = _change(
        ops,
        lambda c: store.override(
            c, "purchase", po_id, {sku: body.quantity}, reason=body.reason, by=who.name
        ),
    )
    return PurchaseOrderPublic.model_validate(_body(order))


# ---- shared ------------------------------------------------------------------------------


def _page(
    ops: OpsDep,
    kind: store.Kind,
    warehouse_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    run_id: str | None = None,
) -> dict[str, Any]:
    after = after_cursor(cursor)
    with reading(ops) as conn:
        page = store.list_orders(
            conn,
            kind,
            status=status,
            warehouse_id=warehouse_id,
            run_id=run_id,
            after=after,
            limit=limit,
        )
    return {
        "items": list(page.items),
        "next_cursor": encode_key_cursor(page.next_after) if page.next_after else None,
    }


def _read(ops: OpsDep, kind: store.Kind, order_id: str) -> store.WorkflowOrder:
    try:
        with reading(ops) as conn:
            return store.get_order(conn, kind, order_id)
    except store.UnknownOrderError:
        raise ApiError(404, f"no {store.BOOKS[kind].noun} {order_id}", kind="not-found") from None


def _change(ops: OpsDep, step: Callable[[Connection], store.WorkflowOrder]) -> store.WorkflowOrder:
    """Run one workflow step in its own transaction; the workflow's refusals as problems."""
    try:
        with ops.begin() as conn:
            return step(conn)
    except store.UnknownOrderError as error:
        raise ApiError(404, str(error), kind="not-found") from None
    except store.WorkflowInputError as error:
        field = "reason" if "reason" in str(error) else "quantity"
        raise ApiError(422, str(error), kind="validation", errors=[(field, str(error))]) from None
    except store.WorkflowConflictError as error:
        raise ApiError(409, str(error), kind="workflow-step") from None


def _why(body: StepRequest | None) -> str | None:
    return body.reason if body else None


def _body(order: store.WorkflowOrder) -> dict[str, Any]:
    history = [
        {
            "seq": s.seq,
            "status": s.status,
            "reason": s.reason,
            "changed_by": s.changed_by,
            "changed_at": s.changed_at,
        }
        for s in order.history
    ]
    return {
        **order.header,
        "lines": [dict(line) for line in order.lines],
        "status_history": history,
    }


def _transfer_body(order: store.WorkflowOrder, snap: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The order with each line's plan details from the snapshot (null where it has none)."""
    body = _body(order)
    published_order = published.transfer_order(snap, order.order_id)
    plan: dict[int, dict[str, Any]] = {}
    if published_order is not None:
        columns = published_order.lines.select("line_no", *_PLAN_COLUMNS)
        plan = {row["line_no"]: row for row in columns.iter_rows(named=True)}
    empty = dict.fromkeys(_PLAN_COLUMNS)
    body["lines"] = [
        {**line, **{k: v for k, v in plan.get(line["line_no"], empty).items() if k != "line_no"}}
        for line in body["lines"]
    ]
    return body
