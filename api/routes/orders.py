"""A store's part orders: place (all or nothing, idempotent), read, list, cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from api.deps import (
    IdempotencyKey,
    OptionalIdempotencyKey,
    SnapshotDep,
    StateDep,
    StoreAuth,
    known_store,
)
from api.idempotent import answer, reused
from api.problems import ApiError, problem_responses
from api.schemas import (
    CancelRequest,
    OrderCreate,
    OrderList,
    OrderPublic,
    decode_cursor,
    encode_cursor,
    order_public,
)
from ops import (
    IdempotencyKeyReusedError,
    IdempotentRequest,
    LineRequest,
    NoStockLoadedError,
    OrderNotFoundError,
    OrderRequest,
    OrderStatusError,
    Outcome,
    OutOfStockError,
    StoredResponse,
    cancel_order,
    free_stock,
    get_order,
    list_orders,
    place_order,
    reading,
    run_once,
)
from ops.order_lists import MAX_PAGE

router = APIRouter(tags=["store"])

_ORDER = "/v1/stores/{store_id}/orders"


@router.post(
    _ORDER,
    status_code=201,
    response_model=OrderPublic,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 429, 503),
)
def create_order(
    who: StoreAuth,
    view: SnapshotDep,
    state: StateDep,
    body: OrderCreate,
    key: IdempotencyKey,
    request: Request,
) -> JSONResponse:
    """Reserve every line from the store's own warehouse (or one in reach), or none (409).

    The same Idempotency-Key and body again answers the first response; the
    same key with another body is a 422. A refused order is not recorded: the
    same key may be sent again later.
    """
    store = known_store(view, who.store_id)
    unknown = [
        (f"lines[{n}].sku", f"unknown SKU {line.sku!r}")
        for n, line in enumerate(body.lines)
        if line.sku not in view.data.skus
    ]
    if unknown:
        raise ApiError(422, "unknown SKUs in the order", kind="unknown-sku", errors=unknown)
    asked = [(line.sku, line.quantity) for line in body.lines]

    def place(conn: Connection) -> StoredResponse:
        now = datetime.now(UTC)
        # Read in the order's own transaction: on SQLite it holds the write lock already.
        free = free_stock(conn, state.stock.pairs(store, list(dict.fromkeys(s for s, _ in asked))))
        sourced = state.stock.source(view, store, asked, free, now)
        order = place_order(
            conn,
            OrderRequest(
                store_id=store.store_id,
                lines=tuple(
                    LineRequest(sku, quantity, warehouse_id, deliver_by)
                    for (sku, quantity), (warehouse_id, deliver_by) in zip(
                        asked, sourced, strict=True
                    )
                ),
                vehicle_model_id=body.vehicle_model_id,
                reference=body.reference,
            ),
            by=who.identity.name,
        )
        return StoredResponse(201, order_public(order))

    idempotent = IdempotentRequest(
        who.identity.key_id, key, "POST", request.url.path, body.model_dump(mode="json")
    )
    try:
        outcome = run_once(state.engine, idempotent, place)
    except OutOfStockError as error:
        state.metrics.inc("partsflow_orders_refused_total")
        raise _short(error, asked) from None
    except NoStockLoadedError as error:
        raise ApiError(503, str(error), kind="no-published-plan") from None
    except IdempotencyKeyReusedError as error:
        raise reused(error) from None
    if not outcome.replayed:
        state.metrics.inc("partsflow_orders_confirmed_total")
        state.metrics.inc("partsflow_units_reserved_total", sum(q for _, q in asked))
    return answer(outcome, location=f"{request.url.path}/{outcome.response.body['order_id']}")


@router.get(
    _ORDER + "/{order_id}",
    response_model=OrderPublic,
    responses=problem_responses(401, 404, 422, 429),
)
def read_order(who: StoreAuth, state: StateDep, order_id: str) -> OrderPublic:
    """One order with its lines and status history."""
    with reading(state.engine) as conn:
        order = get_order(conn, who.store_id, order_id)
    if order is None:
        raise ApiError(404, f"no order {order_id} at store {who.store_id}", kind="not-found")
    return OrderPublic.model_validate(order_public(order))


@router.get(_ORDER, response_model=OrderList, responses=problem_responses(401, 404, 422, 429))
def list_store_orders(
    who: StoreAuth,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> OrderList:
    """The store's orders, newest first, ``limit`` a page; ``next_cursor`` is the next page."""
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as error:
        raise ApiError(
            422, str(error), kind="validation", errors=[("cursor", str(error))]
        ) from None
    with reading(state.engine) as conn:
        page = list_orders(conn, who.store_id, limit=limit, after=after)
    return OrderList(
        items=[OrderPublic.model_validate(order_public(order)) for order in page.orders],
        next_cursor=encode_cursor(page.next_after) if page.next_after else None,
    )


@router.post(
    _ORDER + "/{order_id}/cancel",
    response_model=OrderPublic,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 429),
)
def cancel(
    who: StoreAuth,
    state: StateDep,
    order_id: str,
    request: Request,
    key: OptionalIdempotencyKey,
    body: CancelRequest | None = None,
) -> JSONResponse:
    """Cancel a confirmed order and free its units; 409 once dispatched or already cancelled.

    With an Idempotency-Key, a retry answers the first cancellation's 200
    instead of a 409 "already cancelled".
    """
    reason = body.reason if body else None

    def act(conn: Connection) -> StoredResponse:
        order = cancel_order(conn, who.store_id, order_id, by=who.identity.name, reason=reason)
        return StoredResponse(200, order_public(order))

    try:
        if key is None:
            with state.engine.begin() as conn:
                outcome = Outcome(act(conn), replayed=False)
        else:
            payload = body.model_dump(mode="json") if body else None
            outcome = run_once(
                state.engine,
                IdempotentRequest(who.identity.key_id, key, "POST", request.url.path, payload),
                act,
            )
    except OrderNotFoundError:
        raise ApiError(
            404, f"no order {order_id} at store {who.store_id}", kind="not-found"
        ) from None
    except OrderStatusError as error:
        raise ApiError(409, str(error), kind="order-status") from None
    except IdempotencyKeyReusedError as error:
        raise reused(error) from None
    return answer(outcome)


def _short(error: OutOfStockError, asked: list[tuple[str, int]]) -> ApiError:
    short = {s.sku: s for s in error.short}
    return ApiError(
        409,
        f"not enough stock for {', '.join(short)}: nothing was reserved",
        kind="out-of-stock",
        errors=[
            (
                f"lines[{n}].quantity",
                f"{sku}: {short[sku].requested} asked, {short[sku].available} free at "
                f"{short[sku].warehouse_id}",
            )
            for n, (sku, _) in enumerate(asked)
            if sku in short
        ],
        extra={
            "short": [
                {
                    "sku": s.sku,
                    "warehouse_id": s.warehouse_id,
                    "requested": s.requested,
                    "available": s.available,
                }
                for s in error.short
            ]
        },
    )
