"""A store's part orders: place (all or nothing, idempotent), read, list, cancel; and
the warehouse's side, dispatch and deliver (a planner key: the dispatch system's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from api.deps import (
    AppState,
    IdempotencyKey,
    OptionalIdempotencyKey,
    PlannerStoreAuth,
    SnapshotDep,
    StateDep,
    StoreAuth,
    StoreCaller,
    known_store,
)
from api.idempotent import answer, reused
from api.problems import ApiError, problem_responses
from api.schemas import (
    CancelRequest,
    OrderCreate,
    OrderList,
    OrderPublic,
    OrderStepRequest,
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
    OrderTimeError,
    Outcome,
    OutOfStockError,
    PartOrder,
    StoredResponse,
    advance_order,
    cancel_order,
    free_stock,
    get_order,
    list_orders,
    place_order,
    reading,
    run_once,
    run_once_in,
)
from ops.order_lists import MAX_PAGE

router = APIRouter()

_ORDER = "/v1/stores/{store_id}/orders"
_STEP_PROBLEMS = (400, 401, 404, 409, 413, 422, 429)


@router.post(
    _ORDER,
    tags=["store"],
    status_code=201,
    response_model=OrderPublic,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 429, 503),
)
async def create_order(
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
    pairs = state.stock.pairs(store, list(dict.fromkeys(s for s, _ in asked)))
    # On SQLite sourced from a read before the write transaction: every statement inside it
    # is time under the one write lock (PostgreSQL reads in it: a round trip less). The
    # reservations re-check every line anyway.
    free_before: dict[tuple[str, str], int] | None = None
    if state.engine.dialect.name == "sqlite":
        free_before = await state.io.read(lambda conn: free_stock(conn, pairs))

    def order_of(sourced: list[tuple[str, datetime]]) -> OrderRequest:
        return OrderRequest(
            store_id=store.store_id,
            lines=tuple(
                LineRequest(sku, quantity, warehouse_id, deliver_by)
                for (sku, quantity), (warehouse_id, deliver_by) in zip(asked, sourced, strict=True)
            ),
            vehicle_model_id=body.vehicle_model_id,
            reference=body.reference,
        )

    def place(conn: Connection) -> StoredResponse:
        now = datetime.now(UTC)
        free = free_stock(conn, pairs) if free_before is None else free_before
        sourced = state.stock.source(view, store, asked, free, now)
        try:
            order = place_order(conn, order_of(sourced), by=who.identity.name)
        except OutOfStockError:
            if free_before is None or len(state.stock.candidates(store)) == 1:
                raise  # read in here, or one warehouse: sourcing again cannot choose otherwise
            # Stock moved since the read: source again from what is free now (nothing was
            # reserved: place_order gave every line back), as sourcing in here would have.
            again = state.stock.source(view, store, asked, free_stock(conn, pairs), now)
            if again == sourced:
                raise
            order = place_order(conn, order_of(again), by=who.identity.name)
        return StoredResponse(201, order_public(order))

    idempotent = IdempotentRequest(
        who.identity.key_id, key, "POST", request.url.path, body.model_dump(mode="json")
    )
    try:
        # In a thread on SQLite, awaited in the loop on PostgreSQL (api/storeio.py).
        outcome = await state.io.write(lambda conn: run_once_in(conn, idempotent, place))
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
    tags=["store"],
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


@router.get(
    _ORDER,
    tags=["store"],
    response_model=OrderList,
    responses=problem_responses(401, 404, 422, 429),
)
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
    tags=["store"],
    response_model=OrderPublic,
    responses=problem_responses(*_STEP_PROBLEMS),
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

    def change(conn: Connection) -> PartOrder:
        return cancel_order(conn, who.store_id, order_id, by=who.identity.name, reason=reason)

    return _step(who, state, request, key, body, change)


@router.post(
    _ORDER + "/{order_id}/dispatch",
    tags=["dispatch"],
    response_model=OrderPublic,
    responses=problem_responses(403, *_STEP_PROBLEMS),
)
def dispatch(
    who: PlannerStoreAuth,
    state: StateDep,
    order_id: str,
    request: Request,
    key: OptionalIdempotencyKey,
    body: OrderStepRequest | None = None,
) -> JSONResponse:
    """Mark a confirmed order dispatched: it left the warehouse and can no longer be cancelled.

    For the warehouse's dispatch system, with a planner key (a store key is
    403). ``at`` says when it left (default now). 409 when the order is not
    confirmed, naming its status (also as ``order_status``): sent again, the
    step is a 409 "cannot become dispatched again", unless it carries the
    first request's Idempotency-Key, which answers the first 200.
    """
    return _step(who, state, request, key, body, _advancing(who, order_id, "dispatched", body))


@router.post(
    _ORDER + "/{order_id}/deliver",
    tags=["dispatch"],
    response_model=OrderPublic,
    responses=problem_responses(403, *_STEP_PROBLEMS),
)
def deliver(
    who: PlannerStoreAuth,
    state: StateDep,
    order_id: str,
    request: Request,
    key: OptionalIdempotencyKey,
    body: OrderStepRequest | None = None,
) -> JSONResponse:
    """Mark a dispatched order delivered: handed over at the store; returns open for 90 days.

    A planner key (the dispatch system's). A confirmed order must be
    dispatched first (409). ``at`` is the hand-over time (default now): the
    90-day return window runs from it. Repeats and Idempotency-Key as for
    dispatch.
    """
    return _step(who, state, request, key, body, _advancing(who, order_id, "delivered", body))


def _advancing(
    who: StoreCaller, order_id: str, status: str, body: OrderStepRequest | None
) -> Callable[[Connection], PartOrder]:
    at, reason = (body.at, body.reason) if body else (None, None)

    def change(conn: Connection) -> PartOrder:
        return advance_order(
            conn, who.store_id, order_id, status, by=who.identity.name, reason=reason, at=at
        )

    return change


def _step(
    who: StoreCaller,
    state: AppState,
    request: Request,
    key: str | None,
    body: CancelRequest | OrderStepRequest | None,
    change: Callable[[Connection], PartOrder],
) -> JSONResponse:
    """One status change, run once per Idempotency-Key when one is given; 200 with the order."""

    def act(conn: Connection) -> StoredResponse:
        return StoredResponse(200, order_public(change(conn)))

    try:
        if key is None:
            with state.engine.begin() as conn:
                outcome = Outcome(act(conn), replayed=False)
        else:
            payload: dict[str, Any] | None = body.model_dump(mode="json") if body else None
            outcome = run_once(
                state.engine,
                IdempotentRequest(who.identity.key_id, key, "POST", request.url.path, payload),
                act,
            )
    except OrderNotFoundError:
        order_id = request.path_params["order_id"]
        raise ApiError(
            404, f"no order {order_id} at store {who.store_id}", kind="not-found"
        ) from None
    except OrderStatusError as error:
        raise ApiError(
            409, str(error), kind="order-status", extra={"order_status": error.current}
        ) from None
    except OrderTimeError as error:
        raise ApiError(422, str(error), kind="validation", errors=[("at", str(error))]) from None
    except IdempotencyKeyReusedError as error:
        raise reused(error) from None
    if not outcome.replayed:
        status = outcome.response.body["status"]
        state.metrics.inc("partsflow_order_status_changes_total", status=status)
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
