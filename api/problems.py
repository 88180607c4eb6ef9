"""Errors as RFC 9457 problem details (``application/problem+json``), for every failure.

Every error the API answers has ``type``, ``title``, ``status`` and
``detail``; bad fields are listed in ``errors: [{"field", "message"}]`` with
the field named as the client wrote it (``lines[0].quantity``, ``sku``,
``Idempotency-Key``). FastAPI's own validation errors, unknown routes and
methods, and anything unexpected (a 500 that hides its internals) all go
through here, so a client parses one shape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
#: Our problem types are URNs: stable names a client can switch on, nothing to fetch.
TYPE_PREFIX = "urn:partsflow:problem:"

log = logging.getLogger("partsflow.api")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(BaseModel):
    """One bad field and what is wrong with it."""

    field: str
    message: str


class ProblemModel(BaseModel):
    """The problem+json body (for the OpenAPI document)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


class ApiError(Exception):
    """An error answer: raise it anywhere below a route."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem_body(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Iterable[tuple[str, str]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON of a problem (``type`` is ``about:blank`` when the status says it all)."""
    return {
        "type": f"{TYPE_PREFIX}{kind}" if kind else "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "errors": [{"field": f, "message": m} for f, m in errors],
        **(extra or {}),
    }


def problem_response(problem: ApiError) -> JSONResponse:
    """The HTTP answer of a :class:`ApiError`."""
    return JSONResponse(
        problem_body(
            problem.status,
            problem.detail,
            kind=problem.kind,
            errors=problem.errors,
            extra=problem.extra,
        ),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_JSON,
    )


def field_name(loc: Sequence[int | str]) -> str:
    """``("body", "lines", 0, "sku")`` → ``lines[0].sku``; ``("query", "sku")`` → ``sku``."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_errors(error: RequestValidationError) -> list[tuple[str, str]]:
    """FastAPI's validation errors as (field, message), JSON decode errors included."""
    found = []
    for e in error.errors():
        loc = e.get("loc", ())
        if e.get("type") == "json_invalid":
            found.append(("body", f"not valid JSON: {e.get('ctx', {}).get('error', e['msg'])}"))
            continue
        found.append((field_name(loc), str(e.get("msg", "invalid"))))
    return found


def install(app: FastAPI) -> None:
    """Route every error of ``app`` through problem+json."""

    @app.exception_handler(ApiError)
    async def _problem(_request: Request, problem: ApiError) -> JSONResponse:
        return problem_response(problem)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = validation_errors(error)
        named = ", ".join(sorted({f for f, _ in errors}))
        return problem_response(
            ApiError(422, f"invalid request: {named}", kind="validation", errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else _TITLES.get(error.status_code)
        return problem_response(
            ApiError(error.status_code, str(detail or "error"), headers=error.headers)
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def _store_busy(
        request: Request, error: OperationalError | PoolTimeoutError
    ) -> JSONResponse:
        # A lock not granted within busy_timeout (SQLite), a lost connection, or no pooled
        # PostgreSQL connection free in time: the request did nothing (its transaction
        # rolled back, or never began); the client may retry.
        cause = error.orig if isinstance(error, OperationalError) else error
        log.warning(
            "operational store unavailable",
            extra={"path": request.url.path, "error": str(cause).splitlines()[0]},
        )
        return problem_response(
            ApiError(
                503,
                "the operational store is busy or unreachable; nothing was changed, retry",
                kind="ops-busy",
                headers={"Retry-After": "1"},
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": request.url.path})
        return problem_response(
            ApiError(500, "an unexpected error occurred; it is logged with the request id")
        )


#: OpenAPI ``responses=`` entries for the problems a route may answer.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for these statuses, all problem+json."""
    return {
        status: {
            "model": ProblemModel,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
