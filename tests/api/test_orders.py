"""Part orders over the API: all or nothing, idempotent, listed, cancelled (in process)."""

from __future__ import annotations

from tests.api._world import OTHER_STORE, STORE
from tests.api.conftest import Api
from tests.api.test_health_auth import is_problem

ORDERS = f"/v1/stores/{STORE}/orders"


def test_an_order_is_201_with_where_and_when_each_line_comes_from(api: Api) -> None:
    answer = api.order([("P1", 2), ("P2", 1)], key="order-1")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["store_id"], body["status"]) == (STORE, "confirmed")
    assert [
        (ln["line_no"], ln["sku"], ln["quantity"], ln["warehouse_id"]) for ln in body["lines"]
    ] == [
        (1, "P1", 2, "FW01"),
        (2, "P2", 1, "FW02"),  # none at FW01: the warehouse in reach that has it
    ]
    assert all(ln["deliver_by"].endswith("+00:00") for ln in body["lines"])
    assert answer.headers["location"] == f"{ORDERS}/{body['order_id']}"
    assert api.available("P1")["P1"]["available"] == 3


def test_the_same_key_and_body_again_replays_the_first_answer(api: Api) -> None:
    first = api.order([("P1", 1)], key="again")
    replay = api.order([("P1", 1)], key="again")
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    assert api.available("P1")["P1"]["available"] == 4  # reserved once


def test_the_same_key_with_another_body_is_422(api: Api) -> None:
    assert api.order([("P1", 1)], key="reused").status_code == 201
    body = is_problem(api.order([("P1", 2)], key="reused"), 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"  # type: ignore[index]


def test_an_order_needs_an_idempotency_key(api: Api) -> None:
    lines = {"lines": [{"sku": "P1", "quantity": 1}]}
    missing = api.client.post(ORDERS, json=lines, headers=api.auth())
    assert is_problem(missing, 400)["errors"] == [
        {"field": "Idempotency-Key", "message": "required"}
    ]
    bad = api.client.post(ORDERS, json=lines, headers={**api.auth(), "Idempotency-Key": "a b"})
    is_problem(bad, 400)


def test_a_short_line_is_409_naming_it_and_nothing_is_reserved(api: Api) -> None:
    answer = api.order([("P1", 3), ("P6", 1), ("P4", 6)], key="short")
    body = is_problem(answer, 409)
    assert body["type"] == "urn:partsflow:problem:out-of-stock"
    assert {s["sku"] for s in body["short"]} == {"P6", "P4"}  # type: ignore[attr-defined]
    assert [e["field"] for e in body["errors"]] == [  # type: ignore[attr-defined]
        "lines[1].quantity",
        "lines[2].quantity",
    ]
    assert api.available("P1")["P1"]["available"] == 5
    # a refused order is not recorded: the same key may be tried again
    assert api.order([("P1", 3), ("P6", 1), ("P4", 6)], key="short").status_code == 409
    assert api.order([("P1", 3)], key="short").status_code == 201


def test_bad_fields_are_422_naming_them(api: Api) -> None:
    def post(body: object) -> dict[str, object]:
        answer = api.client.post(
            ORDERS, json=body, headers={**api.auth(), "Idempotency-Key": "bad"}
        )
        return is_problem(answer, 422)

    fields = [
        (post({"lines": [{"sku": "P1", "quantity": "2"}]}), "lines[0].quantity"),
        (post({"lines": [{"sku": "P1", "quantity": 1000}]}), "lines[0].quantity"),
        (post({"lines": [{"sku": "P1", "quantity": 1, "qty": 2}]}), "lines[0].qty"),
        (post({"lines": []}), "lines"),
        (post({"lines": [{"sku": "NOPE", "quantity": 1}]}), "lines[0].sku"),
    ]
    for body, field in fields:
        assert [e["field"] for e in body["errors"]] == [field]  # type: ignore[attr-defined]
    malformed = api.client.post(
        ORDERS, content=b"{nope", headers={**api.auth(), "Idempotency-Key": "bad"}
    )
    assert is_problem(malformed, 422)["errors"][0]["field"] == "body"  # type: ignore[index]


def test_an_order_reads_back_with_its_history(api: Api) -> None:
    placed = api.order([("P1", 1)], key="read").json()
    answer = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth())
    assert answer.status_code == 200
    body = answer.json()
    assert body["lines"] == placed["lines"]
    assert [h["status"] for h in body["status_history"]] == ["confirmed"]


def test_another_stores_orders_are_404(api: Api) -> None:
    placed = api.order([("P1", 1)], key="mine").json()
    theirs = f"/v1/stores/{OTHER_STORE}/orders/{placed['order_id']}"
    is_problem(api.client.get(theirs, headers=api.auth("other")), 404)
    is_problem(api.client.get(theirs, headers=api.auth("planner")), 404)
    is_problem(api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth("other")), 404)
    assert (
        api.client.get(f"/v1/stores/{OTHER_STORE}/orders", headers=api.auth("other")).json()[
            "items"
        ]
        == []
    )
    is_problem(api.client.get(ORDERS, headers=api.auth("other")), 404)  # B listing A's
    for path in (f"{ORDERS}/{placed['order_id']}", theirs):  # on A's path, and on its own
        is_problem(api.client.post(f"{path}/cancel", headers=api.auth("other")), 404)
    mine = api.client.get(f"{ORDERS}/{placed['order_id']}", headers=api.auth()).json()
    assert mine["status"] == "confirmed"  # B's cancellations did nothing


def test_orders_list_newest_first_page_by_page(api: Api) -> None:
    ids = [api.order([("P1", 1)], key=f"list-{n}").json()["order_id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(ORDERS, params=params, headers=api.auth()).json()
        seen += [order["order_id"] for order in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    bad = api.client.get(ORDERS, params={"cursor": "garbage"}, headers=api.auth())
    assert is_problem(bad, 422)["errors"][0]["field"] == "cursor"  # type: ignore[index]
    is_problem(api.client.get(ORDERS, params={"limit": 501}, headers=api.auth()), 422)


def test_cancel_frees_the_stock_and_twice_is_409(api: Api) -> None:
    placed = api.order([("P4", 5)], key="all-of-p4").json()
    assert api.available("P4")["P4"]["available"] == 0
    cancel = f"{ORDERS}/{placed['order_id']}/cancel"
    answer = api.client.post(cancel, json={"reason": "car left"}, headers=api.auth())
    assert answer.status_code == 200
    assert [h["status"] for h in answer.json()["status_history"]] == ["confirmed", "cancelled"]
    assert api.available("P4")["P4"]["available"] == 5
    is_problem(api.client.post(cancel, headers=api.auth()), 409)


def test_a_cancel_retried_with_its_key_answers_the_first_200(api: Api) -> None:
    placed = api.order([("P1", 1)], key="to-cancel").json()
    cancel = f"{ORDERS}/{placed['order_id']}/cancel"
    headers = {**api.auth(), "Idempotency-Key": "cancel-1"}
    first = api.client.post(cancel, headers=headers)
    again = api.client.post(cancel, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    is_problem(api.client.post(f"{ORDERS}/ORD-NOPE/cancel", headers=api.auth()), 404)


def test_metrics_count_reservations_and_409s(api: Api) -> None:
    api.order([("P1", 2)], key="m-1")
    api.order([("P6", 1)], key="m-2")
    text = api.client.get("/metrics").text
    assert any(
        line.startswith("partsflow_units_reserved_total{") and line.endswith(" 2")
        for line in text.splitlines()
    )
    assert any(
        line.startswith("partsflow_orders_refused_total{") and line.endswith(" 1")
        for line in text.splitlines()
    )
