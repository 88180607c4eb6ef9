"""Returns over the API: delivered orders only, 90 days, never more than bought, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from ops.schema import part_order_status_history
from tests.api._world import OTHER_STORE, STORE
from tests.api.conftest import Api
from tests.api.test_health_auth import is_problem

RETURNS = f"/v1/stores/{STORE}/returns"
ORDERS = f"/v1/stores/{STORE}/orders"


def _delivered(api: Api, lines: list[tuple[str, int]], key: str) -> str:
    """An order placed through the API, then dispatched and delivered by the warehouse's
    dispatch system (a planner key)."""
    placed = api.order(lines, key=key)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]
    for step in ("dispatch", "deliver"):
        moved = api.client.post(f"{ORDERS}/{order_id}/{step}", headers=api.auth("planner"))
        assert moved.status_code == 200, moved.text
    return order_id


def _return(
    api: Api, order_id: str, quantity: int, key: str, sku: str = "P1", who: str = "store"
) -> dict[str, object]:
    answer = api.client.post(
        RETURNS,
        json={"order_id": order_id, "sku": sku, "quantity": quantity, "reason": "wrong size"},
        headers={**api.auth(who), "Idempotency-Key": key},
    )
    return {"status": answer.status_code, "body": answer.json(), "answer": answer}


def test_a_return_is_201_and_replayed_not_repeated(api: Api) -> None:
    order_id = _delivered(api, [("P1", 3)], "o1")
    first = _return(api, order_id, 2, "r1")
    assert first["status"] == 201
    body = first["body"]
    assert isinstance(body, dict)
    assert (body["order_id"], body["store_id"], body["sku"], body["quantity"]) == (
        order_id,
        STORE,
        "P1",
        2,
    )
    assert body["return_id"].startswith("RET-") and body["created_at"].endswith("+00:00")
    again = _return(api, order_id, 2, "r1")
    assert (again["status"], again["body"]) == (201, body)
    # Only 1 left to return: a second real return of 2 is refused, naming the quantity.
    refused = is_problem(_return(api, order_id, 2, "r2")["answer"], 422)  # type: ignore[arg-type]
    assert refused["type"] == "urn:partsflow:problem:return-refused"
    assert refused["errors"] == [
        {"field": "quantity", "message": refused["detail"]},
    ]
    assert "at most 1" in str(refused["detail"])


def test_an_undelivered_order_is_cancelled_not_returned(api: Api) -> None:
    placed = api.order([("P1", 1)], key="o2").json()
    refused = is_problem(_return(api, placed["order_id"], 1, "r3")["answer"], 422)  # type: ignore[arg-type]
    assert "cancel it instead" in str(refused["detail"])


def test_more_than_90_days_after_delivery_is_422(api: Api) -> None:
    order_id = _delivered(api, [("P1", 1)], "o3")
    history = part_order_status_history.c
    # A delivery's ``at`` cannot precede the order's placing, which the API stamps now: the
    # stored delivery is moved back instead. (ops tests the window's edge with its clock.)
    with api.state.engine.begin() as conn:  # delivered 91 days ago
        conn.execute(
            update(part_order_status_history)
            .where(history.order_id == order_id, history.status == "delivered")
            .values(changed_at=datetime.now(UTC) - timedelta(days=91))
        )
    refused = is_problem(_return(api, order_id, 1, "r4")["answer"], 422)  # type: ignore[arg-type]
    assert "90 days after delivery" in str(refused["detail"])
    assert refused["errors"][0]["field"] == "order_id"  # type: ignore[index]


def test_a_return_key_reused_with_another_body_is_422_and_returns_nothing(api: Api) -> None:
    order_id = _delivered(api, [("P1", 2)], "o5")
    assert _return(api, order_id, 1, "r-same")["status"] == 201
    reused = is_problem(_return(api, order_id, 2, "r-same")["answer"], 422)  # type: ignore[arg-type]
    assert reused["type"] == "urn:partsflow:problem:idempotency-key-reused"
    assert _return(api, order_id, 1, "r-next")["status"] == 201  # 1 of 2 was left: no more
    assert "at most 0" in str(
        is_problem(_return(api, order_id, 1, "r-last")["answer"], 422)["detail"]  # type: ignore[arg-type]
    )


def test_a_dispatched_order_is_returned_once_delivered(api: Api) -> None:
    placed = api.order([("P1", 1)], key="o6").json()
    api.client.post(f"{ORDERS}/{placed['order_id']}/dispatch", headers=api.auth("planner"))
    on_its_way = is_problem(_return(api, placed["order_id"], 1, "r-early")["answer"], 422)  # type: ignore[arg-type]
    assert "it can be returned once delivered" in str(on_its_way["detail"])
    api.client.post(f"{ORDERS}/{placed['order_id']}/deliver", headers=api.auth("planner"))
    assert _return(api, placed["order_id"], 1, "r-early")["status"] == 201  # refusals are not kept


def test_another_stores_order_and_path_are_404(api: Api) -> None:
    order_id = _delivered(api, [("P1", 1)], "o4")
    on_other_path = api.client.post(
        f"/v1/stores/{OTHER_STORE}/returns",
        json={"order_id": order_id, "sku": "P1", "quantity": 1, "reason": "r"},
        headers={**api.auth("other"), "Idempotency-Key": "r5"},
    )
    is_problem(on_other_path, 404)  # its own path, but not its order
    is_problem(
        api.client.post(
            RETURNS,
            json={"order_id": order_id, "sku": "P1", "quantity": 1, "reason": "r"},
            headers={**api.auth("other"), "Idempotency-Key": "r6"},
        ),
        404,  # another store's path
    )


def test_a_return_needs_an_idempotency_key_and_a_valid_body(api: Api) -> None:
    body = {"order_id": "ORD-1", "sku": "P1", "quantity": 1, "reason": "r"}
    is_problem(api.client.post(RETURNS, json=body, headers=api.auth()), 400)
    bad = {**body, "quantity": 0, "colour": "red"}
    problem = is_problem(
        api.client.post(RETURNS, json=bad, headers={**api.auth(), "Idempotency-Key": "k"}), 422
    )
    assert {e["field"] for e in problem["errors"]} == {"quantity", "colour"}  # type: ignore[attr-defined]
