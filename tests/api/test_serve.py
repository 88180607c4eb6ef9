"""``partsflow serve`` for real: uvicorn with 2 workers on loopback, on each backend.

The whole module runs once on SQLite in WAL mode and once on PostgreSQL
(``module_store_url``): one server per backend. The concurrency claims are
checked here, across processes: orders racing for the last units never sell
more than there are, concurrent duplicates of one request make one order (or
one return), and a step sent many times at once happens once.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from ops import create_key, make_engine
from ops.schema import part_order_lines, part_orders
from tests._serve import PARTSFLOW, running_server
from tests.api._world import STORE
from tests.api.conftest import World
from tests.api.test_health_auth import is_problem

WORKERS = 2
BURST = 40  # per key and worker


@dataclass(frozen=True)
class Server:
    """A running ``partsflow serve``: its URL, its store, tokens by role, its log file."""

    url: str
    ops_url: str
    tokens: dict[str, str]
    log: Path

    def auth(self, who: str = "store") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _token(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(PARTSFLOW), "api-key", "create", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(
    world: World, module_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The small world served by 2 workers; a key made with ``partsflow api-key create``."""
    work = tmp_path_factory.mktemp("serve")
    ops_url = module_store_url
    env = {
        **os.environ,
        "PARTSFLOW_SNAPSHOT_DIR": str(world.snapshots),
        "PARTSFLOW_OPS_URL": ops_url,
        "PARTSFLOW_API_RATE_PER_S": "2",
        "PARTSFLOW_API_RATE_BURST": str(BURST),
    }
    tokens = {"store": _token(env, "--store", STORE)}  # the CLI, end to end, once
    engine = make_engine(ops_url)
    with engine.begin() as conn:
        for name in ("race", "limited", "life"):
            tokens[name] = create_key(conn, "store", store_id=STORE, name=name).token
        tokens["planner"] = create_key(conn, "planner", name="fw01-dispatch").token
        tokens["reader"] = create_key(conn, "planner", name="ann").token
    engine.dispose()
    with running_server(work, env, WORKERS) as (url, log):
        yield Server(url, ops_url, tokens, log)


def _order(server: Server, who: str, sku: str, quantity: int, key: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/stores/{STORE}/orders",
        json={"lines": [{"sku": sku, "quantity": quantity}]},
        headers={**server.auth(who), "Idempotency-Key": key},
        timeout=30,
    )


def test_healthz_readyz_and_keys(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    path = f"{server.url}/v1/stores/{STORE}/availability?sku=P1"
    is_problem(httpx.get(path), 401)
    is_problem(httpx.get(path.replace(STORE, "S0002"), headers=server.auth()), 404)
    answer = httpx.get(path, headers={**server.auth(), "X-Request-ID": "trace-7"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "trace-7"
    assert answer.json()["items"][0]["available"] >= 1


def test_keep_alive_answers_are_not_held_for_a_delayed_ack(server: Server) -> None:
    """With 2 workers uvicorn's listener leaves Nagle on: ~44 ms an answer (api/transport.py)."""
    with httpx.Client() as client:
        client.get(f"{server.url}/healthz")
        took = []
        for _ in range(20):
            started = time.perf_counter()
            assert client.get(f"{server.url}/healthz").status_code == 200
            took.append(time.perf_counter() - started)
    assert statistics.median(took) < 0.02, took


def test_orders_racing_for_the_last_units_never_oversell(server: Server) -> None:
    """20 concurrent orders of 1 unit for the 5 units of P4 (at FW01 only)."""
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = Counter(
            pool.map(lambda n: _order(server, "race", "P4", 1, f"race-{n}").status_code, range(20))
        )
    assert codes == {201: 5, 409: 15}
    engine = make_engine(server.ops_url)
    with engine.connect() as conn:
        sold = conn.execute(
            select(func.sum(part_order_lines.c.quantity))
            .select_from(part_order_lines.join(part_orders))
            .where(part_order_lines.c.sku == "P4", part_orders.c.status != "cancelled")
        ).scalar_one()
    engine.dispose()
    assert sold == 5
    available = httpx.get(
        f"{server.url}/v1/stores/{STORE}/availability?sku=P4", headers=server.auth()
    ).json()["items"][0]["available"]
    assert available == 0


def test_concurrent_duplicates_make_one_order(server: Server) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: _order(server, "store", "P1", 1, "dup-1"), range(10)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["order_id"] for a in answers}) == 1
    assert sum(a.headers["idempotent-replayed"] == "false" for a in answers) == 1


def test_cancel_frees_the_units_across_workers(server: Server) -> None:
    before = _available(server, "P1")
    placed = _order(server, "store", "P1", 1, "to-cancel").json()
    cancel = httpx.post(
        f"{server.url}/v1/stores/{STORE}/orders/{placed['order_id']}/cancel",
        headers=server.auth(),
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert _available(server, "P1") == before


def test_a_part_goes_from_ordered_to_returned(server: Server) -> None:
    """Every store endpoint and the dispatch system's, in the order a part's life takes them."""
    orders = f"{server.url}/v1/stores/{STORE}/orders"
    placed = _order(server, "life", "P1", 2, "life-1")
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    read = httpx.get(f"{orders}/{order_id}", headers=server.auth("life"))
    assert read.status_code == 200 and read.json()["lines"] == placed.json()["lines"]
    listed = httpx.get(orders, params={"limit": 500}, headers=server.auth("life")).json()
    assert order_id in {o["order_id"] for o in listed["items"]}
    for step in ("dispatch", "deliver"):
        moved = httpx.post(f"{orders}/{order_id}/{step}", headers=server.auth("planner"))
        assert moved.status_code == 200, moved.text
    assert [h["status"] for h in moved.json()["status_history"]] == [
        "confirmed",
        "dispatched",
        "delivered",
    ]
    body = {"order_id": order_id, "sku": "P1", "quantity": 1, "reason": "wrong size"}

    def give_back(_: int) -> httpx.Response:
        return httpx.post(
            f"{server.url}/v1/stores/{STORE}/returns",
            json=body,
            headers={**server.auth("life"), "Idempotency-Key": "life-return-1"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        returns = list(pool.map(give_back, range(8)))
    assert {r.status_code for r in returns} == {201}, [r.text for r in returns]
    assert len({r.json()["return_id"] for r in returns}) == 1
    assert sum(r.headers["idempotent-replayed"] == "false" for r in returns) == 1
    fitment = httpx.get(
        f"{server.url}/v1/fitment",
        params={"vehicle_model_id": "VM1", "store_id": STORE},
        headers=server.auth("life"),
    )
    assert fitment.status_code == 200 and fitment.json()["parts"][0]["availability"]


def test_a_step_sent_many_times_at_once_happens_once(server: Server) -> None:
    """Ten dispatches of one order: one 200, nine 409s naming it dispatched; ten deliveries
    with one Idempotency-Key: ten times the same 200."""
    placed = _order(server, "life", "P1", 1, "life-2")
    assert placed.status_code == 201, placed.text
    path = f"{server.url}/v1/stores/{STORE}/orders/{placed.json()['order_id']}"

    def step(name: str, key: str | None) -> httpx.Response:
        headers = {**server.auth("planner"), **({"Idempotency-Key": key} if key else {})}
        return httpx.post(f"{path}/{name}", headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        dispatches = list(pool.map(lambda _: step("dispatch", None), range(10)))
        deliveries = list(pool.map(lambda _: step("deliver", "deliver-1"), range(10)))
    assert Counter(a.status_code for a in dispatches) == {200: 1, 409: 9}
    assert {a.json()["order_status"] for a in dispatches if a.status_code == 409} == {"dispatched"}
    assert {a.status_code for a in deliveries} == {200}
    assert len({a.text for a in deliveries}) == 1
    assert sum(a.headers["idempotent-replayed"] == "false" for a in deliveries) == 1
    history = httpx.get(path, headers=server.auth("life")).json()["status_history"]
    assert [h["status"] for h in history] == ["confirmed", "dispatched", "delivered"]


def test_the_planners_reads_and_the_documents_answer(server: Server) -> None:
    """The endpoints the other tests here do not call, once each on the real server."""
    for path in (
        "/v1/transfer-orders",
        "/v1/purchase-orders",
        "/v1/warehouses/FW01/series/P1",
        "/v1/kpis",
        "/v1/exceptions",
    ):
        answer = httpx.get(f"{server.url}{path}", headers=server.auth("reader"))
        assert answer.status_code == 200, (path, answer.text)
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/stores/{store_id}/orders/{order_id}/deliver" in document["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_a_body_over_the_limit_is_413(server: Server) -> None:
    answer = httpx.post(
        f"{server.url}/v1/stores/{STORE}/orders",
        content=b"{" + b" " * (64 * 1024) + b"}",
        headers={
            **server.auth(),
            "Idempotency-Key": "big",
            "Content-Type": "application/json",
        },
    )
    is_problem(answer, 413)


def test_a_key_past_its_burst_gets_429_with_retry_after(server: Server) -> None:
    path = f"{server.url}/v1/stores/{STORE}/availability?sku=P1"
    with httpx.Client() as client:
        answers = [
            client.get(path, headers=server.auth("limited")) for _ in range(WORKERS * BURST + 20)
        ]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, Counter(a.status_code for a in answers)
    assert {a.status_code for a in answers} == {200, 429}
    assert int(limited[0].headers["retry-after"]) >= 1
    is_problem(limited[0], 429)


def test_metrics_and_json_access_logs(server: Server) -> None:
    path = f"{server.url}/v1/stores/{STORE}/availability?sku=P1"
    assert httpx.get(path, headers={**server.auth(), "X-Request-ID": "trace-7"}).status_code == 200
    text = httpx.get(f"{server.url}/metrics").text
    assert "partsflow_http_request_duration_seconds_bucket" in text
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    traced = [line for line in lines if line.get("request_id") == "trace-7"]
    assert traced and traced[0]["status"] == 200 and traced[0]["route"].endswith("/availability")


def _available(server: Server, sku: str) -> int:
    answer = httpx.get(
        f"{server.url}/v1/stores/{STORE}/availability?sku={sku}", headers=server.auth()
    )
    available: int = answer.json()["items"][0]["available"]
    return available
