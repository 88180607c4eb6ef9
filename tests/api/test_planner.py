"""The planner's read endpoints over the published plan: orders, a series, KPIs, exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.exc import OperationalError

from flows.store import adopt_workflow
from ops import audit
from ops import workflow as store
from tests.api._world import today
from tests.api.conftest import Api, World, config, running
from tests.api.test_health_auth import is_problem

PLANNER_PATHS = [
    "/v1/transfer-orders",
    "/v1/transfer-orders/x",
    "/v1/purchase-orders",
    "/v1/purchase-orders/x",
    "/v1/warehouses/FW01/series/P1",
    "/v1/kpis",
    "/v1/exceptions",
]


@pytest.mark.parametrize("path", PLANNER_PATHS)
def test_a_store_key_is_403_on_every_planner_endpoint(api: Api, path: str) -> None:
    is_problem(api.client.get(path, headers=api.auth()), 403)


@pytest.fixture
def adopted(api: Api, world: World) -> Api:
    """The API whose store took over the world's orders, as a first night with a store does."""
    assert adopt_workflow(world.snapshots.parent / "night" / "w.duckdb", api.state.engine) == {
        "transfer": 2,
        "purchase": 0,
    }
    return api


def test_transfer_orders_are_listed_by_id_and_paged(adopted: Api) -> None:
    api = adopted
    first = api.client.get("/v1/transfer-orders", params={"limit": 1}, headers=api.auth("planner"))
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    second = api.client.get(
        "/v1/transfer-orders",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=api.auth("planner"),
    ).json()
    assert second["next_cursor"] is None
    orders = page["items"] + second["items"]
    assert [(o["to_warehouse_id"], o["status"], o["units"]) for o in orders] == [
        ("FW01", "released", 3),
        ("FW01", "released", 8),
    ]
    filtered = api.client.get(
        "/v1/transfer-orders",
        params={"warehouse_id": "FW02", "status": "released"},
        headers=api.auth("planner"),
    ).json()
    assert filtered["items"] == []


def test_a_transfer_order_has_its_lines_and_history(adopted: Api) -> None:
    api = adopted
    listed = api.client.get("/v1/transfer-orders", headers=api.auth("planner")).json()
    transfer_id = listed["items"][1]["transfer_id"]
    answer = api.client.get(
        f"/v1/transfer-orders/{quote(transfer_id, safe='')}", headers=api.auth("planner")
    )
    assert answer.status_code == 200, answer.text
    order = answer.json()
    assert order["transfer_id"] == transfer_id
    assert [(ln["sku"], ln["quantity"], ln["reason"]) for ln in order["lines"]] == [
        ("P3", 6, "why"),
        ("P5", 2, "why"),
    ]
    assert [s["status"] for s in order["status_history"]] == ["proposed", "approved", "released"]
    assert order["needed_by"] > today().isoformat()


def test_unknown_orders_warehouses_statuses_and_cursors_are_named(api: Api) -> None:
    planner = api.auth("planner")
    is_problem(api.client.get("/v1/transfer-orders/nope", headers=planner), 404)
    is_problem(api.client.get("/v1/purchase-orders/nope", headers=planner), 404)
    for params, field in (
        ({"warehouse_id": "FW99"}, "warehouse_id"),
        ({"status": "shipped"}, "status"),
        ({"cursor": "not-ours"}, "cursor"),
    ):
        problem = is_problem(
            api.client.get("/v1/transfer-orders", params=params, headers=planner), 422
        )
        assert problem["errors"][0]["field"] == field  # type: ignore[index]


def test_purchase_orders_list_is_empty_without_any(api: Api) -> None:
    body = api.client.get("/v1/purchase-orders", headers=api.auth("planner")).json()
    assert body == {"items": [], "next_cursor": None}


def test_a_series_shows_history_forecast_and_the_plan_line(api: Api, world: World) -> None:
    answer = api.client.get("/v1/warehouses/FW01/series/P1", headers=api.auth("planner"))
    assert answer.status_code == 200, answer.text
    series = answer.json()
    assert series["plan_run_id"] == world.run_id
    assert (series["demand_class"], series["model"]) == ("intermittent", "CrostonSBA")
    assert (series["position"], series["order_up_to"], series["reason"]) == (2, 8, "S 8 for A")
    assert series["plan_line"]["cut_by"] == "dc_stock+shelf"
    assert len(series["history"]) == 28 and {d["y"] for d in series["history"]} == {0}
    assert [f["q95"] for f in series["forecast"]] == [2.0, 2.0, 2.0]
    missing = api.client.get("/v1/warehouses/FW01/series/P6", headers=api.auth("planner"))
    is_problem(missing, 404)
    is_problem(api.client.get("/v1/warehouses/FW99/series/P1", headers=api.auth("planner")), 404)


def test_kpis_are_the_published_nights_summary(api: Api, world: World) -> None:
    body = api.client.get("/v1/kpis", headers=api.auth("planner")).json()
    assert body["plan_run_id"] == world.run_id
    assert body["summary"] == {"lines_proposed": 4}
    assert body["accuracy"] is None and body["allocations"] == []


def test_exceptions_filter_by_warehouse_category_and_kind(api: Api) -> None:
    def ids(**params: str) -> list[tuple[str, list[str]]]:
        answer = api.client.get("/v1/exceptions", params=params, headers=api.auth("planner"))
        assert answer.status_code == 200, answer.text
        return [(e["series_id"], e["kinds"]) for e in answer.json()["items"]]

    assert ids(kind="cut") == [("FW01/P1", ["cut", "stock_out"])]
    assert ids(warehouse_id="FW02", kind="pull_back") == [("FW02/P3", ["stock_out", "pull_back"])]
    assert len(ids(category="filters")) == 5
    assert ids(category="tyres") == []


def test_without_a_published_plan_planner_reads_say_503(tmp_path: Path) -> None:
    with running(config(tmp_path / "empty", tmp_path / "ops.sqlite3")) as api:
        for path in ("/v1/kpis", "/v1/transfer-orders", "/v1/exceptions"):
            answer = api.client.get(path, headers=api.auth("planner"))
            assert is_problem(answer, 503)["type"] == "urn:partsflow:problem:no-published-plan"


def _night(api: Api) -> dict[str, str]:
    """A night's two transfers of P1 (DC01 has 10 free) and a purchase order, in the store."""
    day = today() + timedelta(days=1)
    heads, lines = [], []
    for to, quantity in (("FW01", 6), ("FW02", 6)):
        transfer_id = f"r9/DC01>{to}/x"
        heads.append(
            {
                "transfer_id": transfer_id,
                "from_warehouse_id": "DC01",
                "to_warehouse_id": to,
                "needed_by": day,
            }
        )
        lines.append(
            {
                "transfer_id": transfer_id,
                "line_no": 1,
                "sku": "P1",
                "proposed_quantity": quantity,
                "quantity": quantity,
                "allocated_quantity": quantity,
                "reason": "below S",
            }
        )
    purchase = store.OrderSet(
        [{"po_id": "r9/SUP1>DC01/x", "supplier_id": "SUP1", "dc_id": "DC01", "expected_on": day}],
        [{"po_id": "r9/SUP1>DC01/x", "line_no": 1, "sku": "P1", "proposed_quantity": 24,
          "quantity": 24, "unit_cost": 1.5, "reason": "below s", "case_pack": 12, "moq": 12}],
    )  # fmt: skip
    with api.state.engine.begin() as conn:
        store.publish_orders(
            conn,
            store.Publication("r9", today(), datetime.now(UTC)),
            store.OrderSet(heads, lines),
            purchase,
            [("DC01", "P1", 10)],
        )
    return {"one": quote(heads[0]["transfer_id"], safe=""),
            "two": quote(heads[1]["transfer_id"], safe=""),
            "po": quote("r9/SUP1>DC01/x", safe="")}  # fmt: skip


def test_planners_approve_override_and_release_transfer_orders(api: Api) -> None:
    ids, planner = _night(api), api.auth("planner")
    base = "/v1/transfer-orders"
    approved = api.client.post(f"{base}/{ids['one']}/approve", headers=planner)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    api.client.post(f"{base}/{ids['two']}/approve", json={"reason": "ok"}, headers=planner)
    released = api.client.post(f"{base}/{ids['one']}/release", headers=planner).json()
    assert [s["status"] for s in released["status_history"]] == ["proposed", "approved", "released"]
    assert released["status_history"][-1]["changed_by"] == "ann"
    # 4 of DC01's 10 are left: a release of 6 more is refused and changes nothing.
    short = is_problem(api.client.post(f"{base}/{ids['two']}/release", headers=planner), 409)
    assert "'P1': 6 asked, 4 free at DC01" in str(short["detail"])
    line = f"{base}/{ids['two']}/lines/P1"
    no_reason = is_problem(
        api.client.request("PATCH", line, json={"quantity": 4}, headers=planner), 422
    )
    assert no_reason["errors"][0]["field"] == "reason"  # type: ignore[index]
    not_on = api.client.request(
        "PATCH",
        f"{base}/{ids['two']}/lines/P2",
        json={"quantity": 1, "reason": "x"},
        headers=planner,
    )
    assert "not on this order" in str(is_problem(not_on, 422)["detail"])
    patched = api.client.request(
        "PATCH", line, json={"quantity": 4, "reason": "what DC01 has"}, headers=planner
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["status"] == "overridden"
    assert [(ln["proposed_quantity"], ln["quantity"]) for ln in body["lines"]] == [(6, 4)]
    assert api.client.post(f"{base}/{ids['two']}/release", headers=planner).status_code == 200
    late = api.client.post(f"{base}/{ids['two']}/cancel", json={"reason": "x"}, headers=planner)
    assert "cannot go from released to cancelled" in str(is_problem(late, 409)["detail"])
    listed = api.client.get(base, params={"status": "released"}, headers=planner).json()
    assert [(o["to_warehouse_id"], o["units"]) for o in listed["items"]] == [
        ("FW01", 6),
        ("FW02", 4),
    ]
    with api.state.engine.connect() as conn:
        trail = audit.history(conn, "transfer_order", "r9/DC01>FW02/x")
    assert [(e.action, e.who, e.why) for e in trail] == [
        ("approve", "ann", "ok"),
        ("override", "ann", "what DC01 has"),
        ("release", "ann", None),
    ]
    assert (trail[1].before, trail[1].after) == (
        {"quantities": {"P1": 6}},
        {"status": "overridden", "quantities": {"P1": 4}},
    )


def test_purchase_orders_keep_to_the_suppliers_cases(api: Api) -> None:
    ids, planner = _night(api), api.auth("planner")
    line = f"/v1/purchase-orders/{ids['po']}/lines/P1"
    odd = api.client.request(
        "PATCH", line, json={"quantity": 30, "reason": "more"}, headers=planner
    )
    assert "whole cases of 12" in str(is_problem(odd, 409)["detail"])
    assert (
        api.client.request(
            "PATCH", line, json={"quantity": 36, "reason": "more"}, headers=planner
        ).json()["lines"][0]["quantity"]
        == 36
    )
    released = api.client.post(f"/v1/purchase-orders/{ids['po']}/release", headers=planner)
    assert released.status_code == 200 and released.json()["status"] == "released"
    no_reason = api.client.post(f"/v1/purchase-orders/{ids['po']}/cancel", headers=planner)
    is_problem(no_reason, 422)


def test_workflow_steps_need_a_planner_and_a_known_order(api: Api) -> None:
    ids = _night(api)
    store_key = api.client.post(f"/v1/transfer-orders/{ids['one']}/approve", headers=api.auth())
    is_problem(store_key, 403)
    unknown = api.client.post("/v1/transfer-orders/nope/approve", headers=api.auth("planner"))
    is_problem(unknown, 404)
    extra = api.client.post(
        f"/v1/transfer-orders/{ids['one']}/approve",
        json={"reason": "x", "quantity": 3},
        headers=api.auth("planner"),
    )
    is_problem(extra, 422)


def test_a_transfer_released_today_is_stock_the_store_can_order(api: Api) -> None:
    """Availability = count + released transfers due − reservations: a release made in the
    store after the night read it counts from the next poll, on every worker."""
    transfer_id = "r9/DC01>FW01/today"
    with api.state.engine.begin() as conn:
        store.publish_orders(
            conn,
            store.Publication("r9", today(), datetime.now(UTC)),
            store.OrderSet(
                [
                    {
                        "transfer_id": transfer_id,
                        "from_warehouse_id": "DC01",
                        "to_warehouse_id": "FW01",
                        "needed_by": today(),
                    }
                ],
                [
                    {
                        "transfer_id": transfer_id,
                        "line_no": 1,
                        "sku": "P2",
                        "proposed_quantity": 7,
                        "quantity": 7,
                        "allocated_quantity": 7,
                        "reason": "below S",
                    }
                ],
            ),
            store.OrderSet([], []),
            [("DC01", "P2", 10)],
        )
    before = api.available("P2")["P2"]
    assert (before["warehouse_id"], before["available"]) == ("FW01", 0)
    planner = api.auth("planner")
    path = f"/v1/transfer-orders/{quote(transfer_id, safe='')}"
    api.client.post(f"{path}/approve", headers=planner)
    assert api.client.post(f"{path}/release", headers=planner).status_code == 200
    api.state.watcher.refresh()  # the poll, without waiting for it
    after = api.available("P2")["P2"]
    assert (after["warehouse_id"], after["available"]) == ("FW01", 7)
    assert api.order([("P2", 7)], "k-p2").status_code == 201
    api.state.watcher.refresh()  # nothing new released: the reservation stands
    assert api.available("P2")["P2"]["available"] == 0


def test_a_store_that_cannot_take_the_write_is_a_503_to_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock not granted within the busy timeout is not the client's mistake, nor a 500."""

    def locked(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE transfer_orders ...", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "approve", locked)
    answer = api.client.post("/v1/transfer-orders/x/approve", headers=api.auth("planner"))
    problem = is_problem(answer, 503)
    assert problem["type"] == "urn:partsflow:problem:ops-busy"
    assert answer.headers["Retry-After"] == "1"


def test_lists_keep_one_nights_orders_when_asked(adopted: Api, world: World) -> None:
    """The world's two orders are an earlier night's; tonight (the published run) has none."""
    api, planner = adopted, adopted.auth("planner")
    listed = api.client.get("/v1/transfer-orders", headers=planner).json()["items"]
    earlier = {o["run_id"] for o in listed}
    assert len(earlier) == 1 and world.run_id not in earlier
    (night,) = earlier
    only = api.client.get("/v1/transfer-orders", params={"run_id": night}, headers=planner)
    assert [o["transfer_id"] for o in only.json()["items"]] == [o["transfer_id"] for o in listed]
    tonight = api.client.get(
        "/v1/transfer-orders", params={"run_id": world.run_id}, headers=planner
    )
    assert tonight.json() == {"items": [], "next_cursor": None}
