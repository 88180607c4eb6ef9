"""What every request goes through before a route: id, log, metrics, size, key, rate.

One pure ASGI middleware (no per-request task or body copy, unlike
Starlette's ``BaseHTTPMiddleware``), in this order:

1. **Request id**: the client's ``X-Request-ID`` when it is 1-128 visible
   ASCII characters, else a new one; echoed on the response and written in
   the access log line.
2. **Body limit**: a ``Content-Length`` above the limit is refused at once
   (413); a body sent without one is counted as it is read and refused when
   it passes the limit.
3. **Key and rate** for ``/v1``: the bearer token is verified before the
   body is parsed, so a caller without a valid key learns nothing but 401
   (not even that its JSON was malformed); a key verified in the last few
   seconds is taken from :class:`api.keycache.KeyCache` without a store
   read. Then the key's token bucket (429 + ``Retry-After``). The identity
   is left in ``request.state.caller``.
4. **Metrics and access log** once the answer is sent: one JSON line per
   request (``partsflow.api.access``) and the route's count and latency.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.keycache import KeyCache
from api.metrics import Metrics
from api.problems import ApiError, problem_response
from api.ratelimit import TokenBuckets
from ops import KeyIdentity

access_log = logging.getLogger("partsflow.api.access")

_VISIBLE = frozenset(range(0x21, 0x7F))
_PROTECTED = "/v1"


class EdgeMiddleware:
    """The checks and records around every HTTP request (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verify: Callable[[str], Awaitable[KeyIdentity | None]],
        keys: KeyCache,
        buckets: TokenBuckets,
        metrics: Metrics,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.verify = verify
        self.keys = keys
        self.buckets = buckets
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        request_id = _request_id(headers.get("x-request-id"))
        status = 500
        caller: KeyIdentity | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            refusal = self._too_large(headers)
            path: str = scope["path"]
            if refusal is None and (path == _PROTECTED or path.startswith(_PROTECTED + "/")):
                caller = await self._caller(headers.get("authorization"))
                refusal = self._refuse(caller)
            if refusal is not None:
                await problem_response(refusal)(scope, receive, send_with_id)
            else:
                scope.setdefault("state", {})["caller"] = caller
                await self.app(scope, self._limited(receive), send_with_id)
        finally:
            self._record(scope, request_id, status, started, caller)

    def _too_large(self, headers: dict[str, bytes]) -> ApiError | None:
        length = headers.get("content-length", b"0")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return ApiError(
                413,
                f"request body of {int(length)} bytes is over the limit of "
                f"{self.max_body_bytes} bytes",
                kind="body-too-large",
            )
        return None

    async def _caller(self, authorization: bytes | None) -> KeyIdentity | None:
        scheme, _, token = (authorization or b"").decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        caller = self.keys.get(token)
        if caller is None:
            caller = await self.verify(token)
            if caller is not None:
                self.keys.put(token, caller)
        return caller

    def _refuse(self, caller: KeyIdentity | None) -> ApiError | None:
        if caller is None:
            return ApiError(
                401,
                "a valid API key is required: Authorization: Bearer <token>",
                kind="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        wait = self.buckets.take(caller.key_id)
        if wait:
            self.metrics.inc("partsflow_rate_limited_total")
            return ApiError(
                429,
                f"rate limit of {self.buckets.rate:g} requests/s (burst {self.buckets.burst}) "
                f"for this key reached; retry in {wait} s",
                kind="rate-limited",
                headers={"Retry-After": str(wait)},
            )
        return None

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that refuses a body once it passes the limit (413 through the app)."""
        received = 0
        limit = self.max_body_bytes

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI's body reading passes it on as it is.
                    raise StarletteHTTPException(
                        413, f"request body is over the limit of {limit} bytes"
                    )
            return message

        return limited

    def _record(
        self,
        scope: Scope,
        request_id: str,
        status: int,
        started: float,
        caller: KeyIdentity | None,
    ) -> None:
        elapsed = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.inc(
            "partsflow_http_requests_total", method=method, route=route, status=str(status)
        )
        self.metrics.observe(elapsed, method=method, route=route)
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": method,
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "key_id": caller.key_id if caller else None,
                "client": (scope.get("client") or ("", 0))[0],
            },
        )


# A request id is this process's random prefix and a count: 32 hex digits like a UUID's,
# unique across workers and restarts, without a read of the kernel's random pool per request.
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNT = itertools.count(1)


def _request_id(given: bytes | None) -> str:
    if given and len(given) <= 128 and set(given) <= _VISIBLE:
        return given.decode("ascii")
    return f"{_ID_PREFIX}{next(_ID_COUNT):016x}"
