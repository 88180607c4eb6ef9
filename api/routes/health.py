"""Liveness, readiness and metrics: what a load balancer and Prometheus ask, without a key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import AppState, StateDep
from api.problems import ApiError, problem_responses
from api.publication import check_publication
from ops import reading
from ops.workflow import latest_publication
from warehouse.published import latest_run

router = APIRouter(tags=["health"])
log = logging.getLogger("partsflow.api.health")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (nothing else is checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses(503))
async def readyz(state: StateDep) -> dict[str, Any]:
    """Ready to serve: a published plan is loaded and the operational store answers.

    ``publication`` says whether the snapshot is the latest committed night's and the
    store's (:mod:`api.publication`). A drift is reported, and logged, but is not a 503:
    every worker serves the same snapshot, and a plan a night old still answers stores
    correctly until the next nightly's start republishes; taking them all out of the
    load balancer would stop every store instead.
    """
    view = state.watcher.current
    if view is None:
        raise ApiError(503, "no plan is published yet", kind="no-published-plan")
    try:
        store_run = await anyio.to_thread.run_sync(_store_run, state)
    except Exception as error:  # any failure to reach the store means not ready
        raise ApiError(
            503, f"the operational store does not answer: {type(error).__name__}", kind="ops-down"
        ) from None
    data = view.data
    publication = check_publication(
        data.run_id,
        data.published_at,
        latest_run(state.watcher.snapshot_dir),
        store_run,
        datetime.now(UTC),
    )
    for problem in publication.problems:
        log.warning("publication drift: %s", problem)
    return {
        "status": "ready",
        "plan_run_id": data.run_id,
        "as_of": data.as_of,
        "publication": publication.as_dict(),
    }


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: StateDep) -> PlainTextResponse:
    """Prometheus text: requests and latencies per route, reservations, 409s, 429s."""
    return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")


def _store_run(state: AppState) -> str | None:
    """The store's latest published night (reading it is the store's liveness check)."""
    with reading(state.engine) as conn:
        night = latest_publication(conn)
    return night.run_id if night else None
