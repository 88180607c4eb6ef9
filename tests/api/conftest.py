"""The API's fixtures: one small published plan, a fresh operational store per test.

The store is ``store_url`` (tests/conftest.py): every test that takes ``api``
runs on SQLite and on PostgreSQL, the store-facing endpoints' behaviour being
the backends' to get right (locks, constraints, time zones). A test whose
behaviour never depends on the store (/docs, the rate limit's buckets in
memory, unknown routes) pins SQLite with :data:`SQLITE_ONLY` and says why.

The app is driven in process by httpx over its ASGI transport; its start-up
(the lifespan: schema upgrade, first snapshot read, the poller) runs in a
blocking portal, the event loop thread that also serves the requests, so the
tests themselves stay plain functions. (Starlette's TestClient does the same
but warns that it is moving off httpx.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.config import ApiConfig, ApiLimits
from api.deps import AppState
from ops import create_key, revoke_key
from tests.api._world import OTHER_STORE, STORE, build


@dataclass(frozen=True)
class World:
    """The published snapshot folder and the run it publishes."""

    snapshots: Path
    run_id: str


class Client:
    """A synchronous face on an ``httpx.AsyncClient`` whose loop runs in a portal."""

    def __init__(self, app: FastAPI, portal: anyio.from_thread.BlockingPortal) -> None:
        self.app = app
        self._portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Api:
    """An app on its own store, a client that ran its start-up, and tokens by role."""

    client: Client
    state: AppState
    tokens: dict[str, str]

    def auth(self, who: str = "store") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def order(
        self, lines: list[tuple[str, int]], key: str, who: str = "store", store: str = STORE
    ) -> httpx.Response:
        return self.client.post(
            f"/v1/stores/{store}/orders",
            json={"lines": [{"sku": s, "quantity": q} for s, q in lines]},
            headers={**self.auth(who), "Idempotency-Key": key},
        )

    def available(self, *skus: str, who: str = "store", store: str = STORE) -> dict[str, Any]:
        answer = self.client.get(
            f"/v1/stores/{store}/availability", params={"sku": list(skus)}, headers=self.auth(who)
        )
        assert answer.status_code == 200, answer.text
        return {item["sku"]: item for item in answer.json()["items"]}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Six parts at two forward warehouses in reach of two stores (tests/api/_world.py)."""
    work = tmp_path_factory.mktemp("api-world")
    return World(work / "published", build(work / "night", work / "published"))


#: Pins a test (or a module, as ``pytestmark``) to the SQLite store.
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def config(snapshots: Path, store: str | Path, **limits: Any) -> ApiConfig:
    """An API on ``snapshots`` with its operational store at the URL ``store`` (a path: a
    SQLite file there)."""
    return ApiConfig(
        snapshot_dir=snapshots,
        ops_url=store if isinstance(store, str) else f"sqlite:///{store}",
        limits=ApiLimits(**{"rate_per_s": 1000.0, "rate_burst": 1000, **limits}),
    )


@contextmanager
def running(cfg: ApiConfig) -> Iterator[Api]:
    """Run the app's start-up, make the keys, yield; shut it down after."""
    app = create_app(cfg)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        client = Client(app, portal)
        state: AppState = app.state.partsflow
        with state.engine.begin() as conn:
            tokens = {
                "store": create_key(conn, "store", store_id=STORE).token,
                "other": create_key(conn, "store", store_id=OTHER_STORE).token,
                "planner": create_key(conn, "planner", name="ann").token,
            }
            revoked = create_key(conn, "store", store_id=STORE)
            revoke_key(conn, revoked.key.identity.key_id)
            tokens["revoked"] = revoked.token
        yield Api(client, state, tokens)


@pytest.fixture
def api(world: World, store_url: str) -> Iterator[Api]:
    """The API on the small world, with an empty operational store of its own (each backend)."""
    with running(config(world.snapshots, store_url)) as started:
        yield started
