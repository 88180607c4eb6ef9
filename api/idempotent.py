"""Answering an idempotent write: the stored response, and the problem for a reused key."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from api.problems import ApiError
from ops import IdempotencyKeyReusedError, Outcome


def answer(outcome: Outcome, location: str | None = None) -> JSONResponse:
    """The first (or replayed) status and body, with ``Idempotent-Replayed`` and ``Location``."""
    headers = {"Idempotent-Replayed": "true" if outcome.replayed else "false"}
    if location and outcome.response.status_code == 201:
        headers["Location"] = location
    return JSONResponse(
        outcome.response.body, status_code=outcome.response.status_code, headers=headers
    )


def reused(error: IdempotencyKeyReusedError) -> ApiError:
    """The 422 for a key sent again with another body, method or path."""
    return ApiError(
        422, str(error), kind="idempotency-key-reused", errors=[("Idempotency-Key", str(error))]
    )
