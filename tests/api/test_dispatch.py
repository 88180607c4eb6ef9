"""The warehouse's side of an order: dispatch and deliver, with a planner key (in process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from tests.api._world import OTHER_STORE, STORE
from tests.api.conftest import Api
from tests.api.test_health_auth import is_problem

ORDERS = f"/v1/stores/{STORE}/orders"
SHANGHAI = timezone(timedelta(hours=8))


def _placed(api: Api, key: str, sku: str = "P1", quantity: int = 1) -> dict[str, Any]:
    answer = api.order([(sku, quantity)], key=key)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def _step(
    api: Api,
    order_id: str,
    step: str,
    body: dict[str, Any] | None = None,
    who: str = "planner",
    key: str | None = None,
    store: str = STORE,
) -> httpx.Response:
    headers = {**api.auth(who), **({"Idempotency-Key": key} if key else {})}
    return api.client.post(
        f"/v1/stores/{store}/orders/{order_id}/{step}", json=body, headers=headers
    )


def test_an_order_is_dispatched_then_delivered_with_who_when_and_why(api: Api) -> None:
    placed = _placed(api, "o1")
    dispatched = _step(api, placed["order_id"], "dispatch")
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["status"] == "dispatched"
    handed = datetime.now(SHANGHAI)  # a rider's scan, in local time
    delivered = _step(
        api, placed["order_id"], "deliver", {"at": handed.isoformat(), "reason": "bay 3"}
    )
    assert delivered.status_code == 200, delivered.text
    body = delivered.json()
    assert body["lines"] == placed["lines"]
    history = [(h["status"], h["changed_by"], h["reason"]) for h in body["status_history"]]
    assert history == [
        ("confirmed", f"store {STORE}", None),
        ("dispatched", "ann", None),  # the planner key's name: the dispatch system's
        ("delivered", "ann", "bay 3"),
    ]
    assert body["status_history"][-1]["changed_at"] == handed.astimezone(UTC).isoformat()
    read = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth())
    assert read.json() == body


def test_a_step_may_say_it_happened_earlier_but_not_before_the_last_one(api: Api) -> None:
    placed = _placed(api, "o1b")
    created = datetime.fromisoformat(placed["created_at"])
    at_once = _step(api, placed["order_id"], "dispatch", {"at": placed["created_at"]})
    assert at_once.status_code == 200, at_once.text
    assert datetime.fromisoformat(at_once.json()["status_history"][-1]["changed_at"]) == created
    early = _step(
        api, placed["order_id"], "deliver", {"at": (created - timedelta(seconds=1)).isoformat()}
    )
    assert "is before order" in str(is_problem(early, 422)["detail"])


def test_dispatched_units_stay_taken_and_the_order_can_no_longer_be_cancelled(api: Api) -> None:
    placed = _placed(api, "o2", quantity=2)
    assert _step(api, placed["order_id"], "dispatch").status_code == 200
    assert api.available("P1")["P1"]["available"] == 3
    refused = is_problem(
        api.client.post(f"{ORDERS}/{placed['order_id']}/cancel", headers=api.auth()), 409
    )
    assert refused["order_status"] == "dispatched"
    assert "is dispatched: it cannot become cancelled" in str(refused["detail"])


def test_a_step_the_workflow_does_not_allow_is_409_naming_the_status(api: Api) -> None:
    placed = _placed(api, "o3")
    early = is_problem(_step(api, placed["order_id"], "deliver"), 409)
    assert early["type"] == "urn:partsflow:problem:order-status"
    assert (early["order_status"], early["detail"]) == (
        "confirmed",
        f"order {placed['order_id']} is confirmed: it cannot become delivered before it is "
        "dispatched",
    )
    assert _step(api, placed["order_id"], "dispatch").status_code == 200
    again = is_problem(_step(api, placed["order_id"], "dispatch"), 409)
    assert again["order_status"] == "dispatched"
    assert "cannot become dispatched again" in str(again["detail"])
    cancelled = _placed(api, "o4")
    api.client.post(f"{ORDERS}/{cancelled['order_id']}/cancel", headers=api.auth())
    gone = is_problem(_step(api, cancelled["order_id"], "dispatch"), 409)
    assert gone["order_status"] == "cancelled"


def test_a_step_retried_with_its_key_answers_the_first_200(api: Api) -> None:
    placed = _placed(api, "o5")
    first = _step(api, placed["order_id"], "dispatch", {"reason": "van 2"}, key="d-1")
    again = _step(api, placed["order_id"], "dispatch", {"reason": "van 2"}, key="d-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert (first.headers["idempotent-replayed"], again.headers["idempotent-replayed"]) == (
        "false",
        "true",
    )
    other_body = _step(api, placed["order_id"], "dispatch", {"reason": "van 3"}, key="d-1")
    assert is_problem(other_body, 422)["type"] == "urn:partsflow:problem:idempotency-key-reused"
    other_order = _placed(api, "o6")
    other_path = _step(api, other_order["order_id"], "dispatch", {"reason": "van 2"}, key="d-1")
    is_problem(other_path, 422)  # the same key on another order's path
    history = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth()).json()
    assert [h["status"] for h in history["status_history"]] == ["confirmed", "dispatched"]


def test_a_time_without_offset_before_the_last_step_or_ahead_of_now_is_422(api: Api) -> None:
    placed = _placed(api, "o7")
    created = datetime.fromisoformat(placed["created_at"])
    for at in (
        "2026-12-06T10:42:00",  # no offset
        1_765_000_000,  # a Unix time
        "1765000000",
        "2026-12-06",
        (created - timedelta(minutes=1)).isoformat(),  # before it was placed
        (datetime.now(UTC) + timedelta(hours=8)).isoformat(),  # local time sent as UTC
    ):
        problem = is_problem(_step(api, placed["order_id"], "dispatch", {"at": at}), 422)
        assert [e["field"] for e in problem["errors"]] == ["at"], (at, problem)  # type: ignore[attr-defined]
    unknown = _step(api, placed["order_id"], "dispatch", {"when": "now"})
    assert is_problem(unknown, 422)["errors"][0]["field"] == "when"  # type: ignore[index]
    read = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth()).json()
    assert read["status"] == "confirmed"


def test_only_a_planner_key_moves_an_order_and_only_on_its_store(api: Api) -> None:
    placed = _placed(api, "o8")
    for step in ("dispatch", "deliver"):
        is_problem(_step(api, placed["order_id"], step, who="store"), 403)
        is_problem(_step(api, placed["order_id"], step, who="other", store=OTHER_STORE), 403)
        no_key = api.client.post(f"{ORDERS}/{placed['order_id']}/{step}")
        is_problem(no_key, 401)
    wrong_store = _step(api, placed["order_id"], "dispatch", store=OTHER_STORE)
    assert is_problem(wrong_store, 404)["detail"] == (
        f"no order {placed['order_id']} at store {OTHER_STORE}"
    )
    is_problem(_step(api, "ORD-NOPE", "dispatch"), 404)
    read = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth()).json()
    assert read["status"] == "confirmed"


def test_dispatching_takes_the_order_off_the_warehouses_load(api: Api) -> None:
    idle = api.available("P1")["P1"]["promise_minutes"]
    placed = [_placed(api, f"load-{n}", sku="P4") for n in range(3)]  # FW01: one full wave
    api.state.watcher.refresh()  # the poll that measures loads, without waiting for it
    assert api.available("P1")["P1"]["promise_minutes"] > idle
    for order in placed:
        assert _step(api, order["order_id"], "dispatch").status_code == 200
    api.state.watcher.refresh()
    assert api.available("P1")["P1"]["promise_minutes"] == idle


def test_steps_are_counted_and_documented(api: Api) -> None:
    placed = _placed(api, "o9")
    _step(api, placed["order_id"], "dispatch")
    _step(api, placed["order_id"], "dispatch")  # a 409 is not a step
    text = api.client.get("/metrics").text
    assert any(
        line.startswith("partsflow_order_status_changes_total{")
        and 'status="dispatched"' in line
        and line.endswith(" 1")
        for line in text.splitlines()
    )
    document = api.client.get("/openapi.json").json()
    for step in ("dispatch", "deliver"):
        operation = document["paths"][f"/v1/stores/{{store_id}}/orders/{{order_id}}/{step}"]["post"]
        assert operation["tags"] == ["dispatch"]
        assert {"200", "403", "404", "409", "422"} <= set(operation["responses"])
    body = document["components"]["schemas"]["OrderStepRequest"]["properties"]["at"]
    assert {"type": "string", "format": "date-time"} in body["anyOf"]
