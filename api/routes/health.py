"""Liveness, readiness and metrics: what a load balancer and Prometheus ask, without a key."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from api.deps import AppState, StateDep
from api.problems import ApiError, problem_responses
from ops import reading

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (nothing else is checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses(503))
async def readyz(state: StateDep) -> dict[str, Any]:
    """Ready to serve: a published plan is loaded and the operational store answers."""
    view = state.watcher.current
    if view is None:
        raise ApiError(503, "no plan is published yet", kind="no-published-plan")
    try:
        await anyio.to_thread.run_sync(_ping, state)
    except Exception as error:  # any failure to reach the store means not ready
        raise ApiError(
            503, f"the operational store does not answer: {type(error).__name__}", kind="ops-down"
        ) from None
    return {"status": "ready", "plan_run_id": view.data.run_id, "as_of": view.data.as_of}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: StateDep) -> PlainTextResponse:
    """Prometheus text: requests and latencies per route, reservations, 409s, 429s."""
    return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")


def _ping(state: AppState) -> None:
    with reading(state.engine) as conn:
        conn.execute(text("SELECT 1"))
