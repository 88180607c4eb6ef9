"""``POST /v1/stores/{store_id}/returns``: units of a delivered order sent back (idempotent)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from api.deps import IdempotencyKey, StateDep, StoreAuth
from api.idempotent import answer, reused
from api.problems import ApiError, problem_responses
from api.schemas import ReturnCreate, ReturnPublic
from ops import (
    IdempotencyKeyReusedError,
    IdempotentRequest,
    OrderNotFoundError,
    ReturnRefusedError,
    ReturnRequest,
    StoredResponse,
    place_return,
    return_json,
    run_once,
)

router = APIRouter(tags=["store"])


@router.post(
    "/v1/stores/{store_id}/returns",
    status_code=201,
    response_model=ReturnPublic,
    responses=problem_responses(400, 401, 404, 413, 422, 429),
)
def create_return(
    who: StoreAuth, state: StateDep, body: ReturnCreate, key: IdempotencyKey, request: Request
) -> JSONResponse:
    """Return units of one SKU of a delivered order of this store.

    422 names the field at fault: ``order_id`` when the order is not delivered
    (a confirmed order is cancelled instead) or was delivered more than 90 days
    ago, ``sku`` when the order has no such SKU, ``quantity`` when it is more
    than was bought less earlier returns. Another store's order is a 404.
    """

    def act(conn: Connection) -> StoredResponse:
        record = place_return(
            conn,
            ReturnRequest(who.store_id, body.order_id, body.sku, body.quantity, body.reason),
            by=who.identity.name,
        )
        return StoredResponse(201, return_json(record))

    idempotent = IdempotentRequest(
        who.identity.key_id, key, "POST", request.url.path, body.model_dump(mode="json")
    )
    try:
        outcome = run_once(state.engine, idempotent, act)
    except OrderNotFoundError:
        raise ApiError(
            404, f"no order {body.order_id} at store {who.store_id}", kind="not-found"
        ) from None
    except ReturnRefusedError as error:
        raise ApiError(
            422, str(error), kind="return-refused", errors=[(error.field, str(error))]
        ) from None
    except IdempotencyKeyReusedError as error:
        raise reused(error) from None
    return answer(outcome)
