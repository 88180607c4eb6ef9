"""Fitment over the API: the parts that fit, with a store's availability, and what is due."""

from __future__ import annotations

import polars as pl

from api.fitment import due_services, service_point
from tests.api._world import OTHER_STORE, STORE
from tests.api.conftest import Api
from tests.api.test_health_auth import is_problem
from warehouse.published import MAINTENANCE_SCHEDULE


def test_the_parts_that_fit_come_with_the_stores_availability(api: Api) -> None:
    answer = api.client.get(
        "/v1/fitment", params={"vehicle_model_id": "VM1", "store_id": STORE}, headers=api.auth()
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["vehicle"]["powertrain"] == "ice" and body["maintenance"] is None
    parts = {p["sku"]: p for p in body["parts"]}
    assert [(p["sku"], p["position"], p["quantity"]) for p in body["parts"]] == [
        ("P1", "engine", 1),
        ("P2", "front", 4),
    ]
    assert parts["P1"]["availability"]["available"] == 5
    assert parts["P2"]["availability"]["alternative"]["warehouse_id"] == "FW02"


def test_without_a_store_there_is_no_availability(api: Api) -> None:
    body = api.client.get(
        "/v1/fitment", params={"vehicle_model_id": "VM2"}, headers=api.auth()
    ).json()
    assert [(p["sku"], p["availability"]) for p in body["parts"]] == [("P6", None)]


def test_maintenance_due_at_a_mileage_or_an_age(api: Api) -> None:
    def due(**car: int) -> list[tuple[str, list[str], list[str]]]:
        body = api.client.get(
            "/v1/fitment", params={"vehicle_model_id": "VM1", **car}, headers=api.auth()
        ).json()
        return [(d["part_type"], d["due_by"], d["skus"]) for d in body["maintenance"]["due"]]

    assert due(mileage_km=9_500) == [("oil_filter", ["km"], ["P1"])]
    assert due(mileage_km=15_000) == []
    assert due(mileage_km=15_000, age_months=24) == [("oil_filter", ["months"], ["P1"])]
    assert due(mileage_km=59_000) == [("oil_filter", ["km"], ["P1"]), ("t", ["km"], ["P2"])]


def test_service_points_are_the_nearest_multiple_past_zero() -> None:
    assert [service_point(v, 10_000) for v in (0, 500, 14_999, 15_000, 26_000)] == [
        10_000,
        10_000,
        10_000,
        20_000,
        30_000,
    ]
    schedule = pl.DataFrame([("oil", 10_000, 12)], schema=MAINTENANCE_SCHEDULE, orient="row")
    assert due_services(schedule, 500, None) == []
    assert [d.due_by for d in due_services(schedule, 10_900, 13)] == [("km", "months")]


def test_an_unknown_model_is_422_and_another_store_404(api: Api) -> None:
    unknown = is_problem(
        api.client.get("/v1/fitment", params={"vehicle_model_id": "VM9"}, headers=api.auth()),
        422,
    )
    assert unknown["errors"][0]["field"] == "vehicle_model_id"  # type: ignore[index]
    is_problem(
        api.client.get(
            "/v1/fitment",
            params={"vehicle_model_id": "VM1", "store_id": OTHER_STORE},
            headers=api.auth(),
        ),
        404,
    )
    missing = api.client.get("/v1/fitment", headers=api.auth())
    assert is_problem(missing, 422)["errors"][0]["field"] == "vehicle_model_id"  # type: ignore[index]
