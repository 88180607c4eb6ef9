"""The FastAPI application: wired once here from the settings (STYLE.md item 2).

``create_app(settings)`` builds everything a worker needs (the operational
store's engine, the snapshot watcher, the stock service, metrics, the rate
limit) and passes it down as plain values; ``factory`` is what ``partsflow
serve`` gives uvicorn (``api.app:factory``, ``--factory``), so every worker
process builds its own app.

At start-up (the lifespan) a worker upgrades the store's schema (serialised
across workers), reads the published snapshot if there is one, then polls for
a newer one every ``snapshot_poll_s`` in the background.

The planners' dashboard (:mod:`dashboard`) is mounted at ``/dashboard`` on the
same app, around the same state.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from fastapi import FastAPI

import dashboard
from api import logs
from api.config import ApiConfig
from api.deps import AppState
from api.keycache import KeyCache
from api.metrics import Metrics
from api.middleware import EdgeMiddleware
from api.problems import install
from api.promise import TravelTimes
from api.ratelimit import TokenBuckets
from api.routes import ROUTERS, docs
from api.snapshot import SnapshotWatcher
from api.stock import StockService
from api.storeio import StoreIO
from ops import KeyIdentity, make_async_engine, make_engine, upgrade, verify

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger("partsflow.api")


def create_app(settings: Settings | ApiConfig) -> FastAPI:
    """The API over the published snapshot and the operational store named in ``settings``."""
    config = settings if isinstance(settings, ApiConfig) else settings.api_config()
    engine = make_engine(config.ops_url)
    io = StoreIO(engine, make_async_engine(config.ops_url))
    watcher = SnapshotWatcher(config.snapshot_dir, engine, config.promise)
    metrics = Metrics()
    state = AppState(
        config=config,
        engine=engine,
        io=io,
        watcher=watcher,
        stock=StockService(TravelTimes(), config.promise),
        metrics=metrics,
    )

    def look() -> None:
        before = watcher.current.data if watcher.current else None
        try:
            watcher.refresh()
        except Exception:  # a bad or half-readable snapshot must not stop the server
            log.exception("reading the published snapshot failed; keeping the current one")
        after = watcher.current.data if watcher.current else None
        if after is not None and after is not before:
            metrics.inc("partsflow_snapshot_loads_total")

    async def poll() -> None:
        while True:
            await anyio.sleep(config.limits.snapshot_poll_s)
            await anyio.to_thread.run_sync(look)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(upgrade, engine)
        await anyio.to_thread.run_sync(look)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(poll)
            yield
            tasks.cancel_scope.cancel()
        await io.close()

    async def check_key(token: str) -> KeyIdentity | None:
        return await io.read(lambda conn: verify(conn, token))

    app = FastAPI(
        title="partsflow",
        summary=(
            "Availability with a delivery promise, part orders, returns and fitment for store "
            "systems; the published plan for planners"
        ),
        version="1",
        lifespan=lifespan,
        docs_url=None,  # api.routes.docs serves /docs from local assets
        redoc_url=None,
    )
    app.state.partsflow = state
    install(app)
    for router in ROUTERS:
        app.include_router(router)
    docs.mount_assets(app)
    app.mount("/dashboard", dashboard.build(state))
    app.add_middleware(
        EdgeMiddleware,
        verify=check_key,
        keys=KeyCache(config.limits.key_cache_s),
        buckets=TokenBuckets(config.limits.rate_per_s, config.limits.rate_burst),
        metrics=metrics,
        max_body_bytes=config.limits.max_body_bytes,
    )
    return app


def factory() -> FastAPI:
    """uvicorn's app factory: the settings from the environment, logs as JSON lines."""
    from settings import Settings

    logs.configure()
    return create_app(Settings())
