"""The planner's read endpoints over the published plan: orders, a series, KPIs, exceptions."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

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


def test_transfer_orders_are_listed_by_id_and_paged(api: Api) -> None:
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


def test_a_transfer_order_has_its_lines_and_history(api: Api) -> None:
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
