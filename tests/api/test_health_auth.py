"""Health, readiness, metrics, keys and the problem+json shape (in process, ASGI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter
from httpx import Response

from api.deps import PlannerAuth
from api.problems import PROBLEM_JSON
from tests.api._world import OTHER_STORE, STORE
from tests.api.conftest import SQLITE_ONLY, Api, World, config, running


def is_problem(answer: Response, status: int) -> dict[str, object]:
    """The problem+json body of ``answer``, checked for RFC 9457's members and ``errors``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = answer.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["status"] == status and isinstance(body["errors"], list)
    return body


def test_healthz_and_readyz_name_the_published_run(api: Api, world: World) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["plan_run_id"] == world.run_id


def test_without_a_published_plan_readyz_and_data_endpoints_say_503(
    tmp_path: Path, store_url: str
) -> None:
    with running(config(tmp_path / "empty", store_url)) as api:
        is_problem(api.client.get("/readyz"), 503)
        answer = api.client.get(f"/v1/stores/{STORE}/availability?sku=P1", headers=api.auth())
        assert is_problem(answer, 503)["type"] == "urn:partsflow:problem:no-published-plan"
        assert api.client.get("/healthz").status_code == 200


def test_no_unknown_or_revoked_key_is_401_before_the_body_is_read(api: Api) -> None:
    path = f"/v1/stores/{STORE}/availability?sku=P1"
    none = api.client.get(path)
    assert is_problem(none, 401) and none.headers["www-authenticate"] == "Bearer"
    for token in ("nonsense", "pf_0000000000000000_guess", api.tokens["revoked"]):
        is_problem(api.client.get(path, headers={"Authorization": f"Bearer {token}"}), 401)
    malformed = api.client.post(
        f"/v1/stores/{STORE}/orders", content=b"{not json", headers={"Idempotency-Key": "k"}
    )
    is_problem(malformed, 401)


def test_a_store_key_on_another_store_is_404_and_a_planner_key_sees_any(api: Api) -> None:
    other = f"/v1/stores/{OTHER_STORE}/availability?sku=P1"
    assert is_problem(api.client.get(other, headers=api.auth()), 404)["detail"] == (
        f"no store {OTHER_STORE}"
    )
    assert api.client.get(other, headers=api.auth("planner")).status_code == 200
    unknown = api.client.get("/v1/stores/S9999/availability?sku=P1", headers=api.auth("planner"))
    is_problem(unknown, 404)


def test_a_store_key_on_a_planner_endpoint_is_403(api: Api) -> None:
    probe = APIRouter()

    @probe.get("/v1/planner-probe")
    def planner_only(who: PlannerAuth) -> dict[str, str]:
        return {"name": who.name}

    api.client.app.include_router(probe)
    is_problem(api.client.get("/v1/planner-probe", headers=api.auth()), 403)
    assert api.client.get("/v1/planner-probe", headers=api.auth("planner")).json() == {
        "name": "ann"
    }


@SQLITE_ONLY  # never reaches the store
def test_unknown_routes_and_methods_are_problems_too(api: Api) -> None:
    is_problem(api.client.get("/nowhere"), 404)
    is_problem(api.client.delete("/healthz"), 405)


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    answer = api.client.post(
        f"/v1/stores/{STORE}/orders",
        content=b"x" * (64 * 1024 + 1),
        headers={**api.auth(), "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    is_problem(answer, 413)


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b"x" * 1024

    answer = api.client.post(
        f"/v1/stores/{STORE}/orders",
        content=chunks(),
        headers={**api.auth(), "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    is_problem(answer, 413)


@SQLITE_ONLY  # the buckets live in the worker's memory, whatever the store
def test_past_the_burst_a_key_gets_429_with_retry_after(world: World, store_url: str) -> None:
    with running(config(world.snapshots, store_url, rate_per_s=0.5, rate_burst=3)) as api:
        path = f"/v1/stores/{STORE}/availability?sku=P1"
        codes = [api.client.get(path, headers=api.auth()).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = api.client.get(path, headers=api.auth())
        is_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        # another key has its own bucket
        assert api.client.get(path, headers=api.auth("planner")).status_code == 200
        assert "partsflow_rate_limited_total" in api.client.get("/metrics").text


@SQLITE_ONLY  # never reaches the store
def test_the_request_id_is_echoed_or_made(api: Api) -> None:
    assert api.client.get("/healthz", headers={"X-Request-ID": "abc-1"}).headers[
        "x-request-id"
    ] == ("abc-1")
    assert len(api.client.get("/healthz").headers["x-request-id"]) == 32


def test_metrics_count_requests_and_latency_per_route(api: Api) -> None:
    api.available("P1")
    text = api.client.get("/metrics").text
    assert "# TYPE partsflow_http_requests_total counter" in text
    route = 'route="/v1/stores/{store_id}/availability"'
    assert any(
        line.startswith("partsflow_http_requests_total{")
        and route in line
        and 'status="200"' in line
        for line in text.splitlines()
    )
    assert f'partsflow_http_request_duration_seconds_bucket{{method="GET",{route}' in text


@SQLITE_ONLY  # never reaches the store
def test_the_openapi_document_lists_the_routes_and_the_bearer_scheme(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert {
        "/v1/stores/{store_id}/availability",
        "/v1/stores/{store_id}/orders",
        "/v1/stores/{store_id}/orders/{order_id}",
        "/v1/stores/{store_id}/orders/{order_id}/cancel",
    } <= set(document["paths"])
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
