"""The routes' dependencies as ``Annotated`` aliases: the snapshot, the store, the caller.

Every dependency that only looks at the request or memory is ``async def``:
FastAPI runs a plain ``def`` dependency in the thread pool, a hand-off that
cost more than the check itself on every request (``bench/bench_api_load.py``).

A route names what it needs in its signature (``view: SnapshotDep``,
``who: StoreAuth``) and gets it checked: no published plan is a 503, no key a
401 (already refused by :mod:`api.middleware` before the body is read), a
store key on another store's path a 404 (ids do not leak), a store key on a
planner endpoint a 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import duckdb
from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from api.config import ApiConfig
from api.metrics import Metrics
from api.problems import ApiError
from api.snapshot import LiveView, SnapshotWatcher, StoreReach
from api.stock import StockService
from api.storeio import StoreIO
from ops import KeyIdentity
from warehouse import published

_VISIBLE = frozenset(chr(code) for code in range(0x21, 0x7F))


@dataclass(frozen=True)
class AppState:
    """What the app built at start-up; routes reach it through the aliases below."""

    config: ApiConfig
    engine: Engine
    io: StoreIO
    watcher: SnapshotWatcher
    stock: StockService
    metrics: Metrics


@dataclass(frozen=True)
class StoreCaller:
    """A caller allowed to act for ``store_id`` (its own store, or any for a planner)."""

    identity: KeyIdentity
    store_id: str


async def _state(request: Request) -> AppState:
    state: AppState = request.app.state.partsflow
    return state


StateDep = Annotated[AppState, Depends(_state)]


async def _ops(state: StateDep) -> Engine:
    return state.engine


OpsDep = Annotated[Engine, Depends(_ops)]


async def _snapshot(state: StateDep) -> LiveView:
    view = state.watcher.current
    if view is None:
        raise ApiError(
            503,
            "no plan is published yet: availability and orders start once the nightly publishes",
            kind="no-published-plan",
            headers={"Retry-After": "60"},
        )
    return view


SnapshotDep = Annotated[LiveView, Depends(_snapshot)]


def _published(state: StateDep) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published file itself, read-only, for the reads kept out of memory.

    Fitment and the planner's pages read only what a request asks for, by
    key (the snapshot is sorted for it): holding every plan line, forecast and
    order in each worker's memory would cost far more than a keyed read.
    """
    try:
        with published.open_snapshot(state.config.snapshot_dir) as con:
            yield con
    except published.SnapshotError as error:  # not published yet, or another format
        raise ApiError(
            503,
            f"no readable published plan: {error}",
            kind="no-published-plan",
            headers={"Retry-After": "60"},
        ) from None


PublishedDep = Annotated[duckdb.DuckDBPyConnection, Depends(_published)]

# Documents the bearer scheme in the OpenAPI document; the middleware did the checking.
_bearer = HTTPBearer(auto_error=False, description="An API key: `partsflow api-key create`")


async def _caller(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> KeyIdentity:
    caller: KeyIdentity | None = getattr(request.state, "caller", None)
    if caller is None:
        raise ApiError(401, "a valid API key is required", kind="unauthorized")
    return caller


CallerDep = Annotated[KeyIdentity, Depends(_caller)]


async def _store_caller(
    store_id: Annotated[str, Path(min_length=1, max_length=64)], caller: CallerDep
) -> StoreCaller:
    if caller.role == "store" and caller.store_id != store_id:
        raise ApiError(404, f"no store {store_id}", kind="not-found")
    return StoreCaller(caller, store_id)


StoreAuth = Annotated[StoreCaller, Depends(_store_caller)]


async def _planner(caller: CallerDep) -> KeyIdentity:
    if caller.role != "planner":
        raise ApiError(403, "this endpoint needs a planner key", kind="forbidden")
    return caller


PlannerAuth = Annotated[KeyIdentity, Depends(_planner)]


async def _planner_for_store(
    store_id: Annotated[str, Path(min_length=1, max_length=64)], caller: PlannerAuth
) -> StoreCaller:
    return StoreCaller(caller, store_id)


#: A planner key acting on a store's path (a warehouse's dispatch system): a store key is 403.
PlannerStoreAuth = Annotated[StoreCaller, Depends(_planner_for_store)]


def known_store(view: LiveView, store_id: str) -> StoreReach:
    """The store in the published snapshot, or a 404."""
    store = view.data.stores.get(store_id)
    if store is None:
        raise ApiError(404, f"no store {store_id}", kind="not-found")
    return store


async def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1-255 visible ASCII characters; the same key and body replay the answer",
        ),
    ] = None,
) -> str:
    if key is None:
        raise ApiError(
            400,
            "an Idempotency-Key header is required to create something",
            kind="idempotency-key-missing",
            errors=[("Idempotency-Key", "required")],
        )
    if not 1 <= len(key) <= 255 or not set(key) <= _VISIBLE:
        raise ApiError(
            400,
            "Idempotency-Key must be 1-255 visible ASCII characters",
            kind="idempotency-key-invalid",
            errors=[("Idempotency-Key", "must be 1-255 visible ASCII characters")],
        )
    return key


IdempotencyKey = Annotated[str, Depends(_idempotency_key)]


async def _optional_idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    return None if key is None else await _idempotency_key(key)


OptionalIdempotencyKey = Annotated[str | None, Depends(_optional_idempotency_key)]
