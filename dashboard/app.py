"""The dashboard's server: Flask + Dash, built once per worker around the API's state.

:func:`build` is what :func:`api.app.create_app` mounts at ``/dashboard``
(through ``a2wsgi.WSGIMiddleware``: Dash is a WSGI app, its layouts and
callbacks run in a thread pool of their own, off the API's event loop).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import dash
import flask
from a2wsgi import WSGIMiddleware
from starlette.types import ASGIApp

from api.deps import AppState
from dashboard import auth, components, layout
from dashboard.context import STATE_KEY
from dashboard.session import SECRET_NAME, CookieSigner, Planners, load_secret
from ops import KeyIdentity, list_keys, reading, verify

#: Where the dashboard is served, and what Dash's pages and assets are relative to.
PREFIX = "/dashboard/"

_HERE = Path(__file__).parent

#: Threads serving layouts and callbacks per worker (a2wsgi's pool).
_THREADS = 8


def build(state: AppState) -> ASGIApp:
    """The dashboard for one API worker, as an ASGI app to mount at ``/dashboard``."""
    server = flask.Flask("dashboard")
    server.config[STATE_KEY] = state
    engine = state.engine

    def check_token(token: str) -> KeyIdentity | None:
        with reading(engine) as conn:
            return verify(conn, token)

    def planner_key(key_id: str) -> KeyIdentity | None:
        with reading(engine) as conn:
            found = list_keys(conn, key_id=key_id)
        if not found or found[0].revoked_at is not None:
            return None
        return found[0].identity

    secret = load_secret(Path(state.config.snapshot_dir).parent / SECRET_NAME)
    # The guard first: Dash's own hooks (set up on the first request) must not run for a
    # caller without a session.
    auth.install(
        server, signer=CookieSigner(secret), planners=Planners(planner_key), verify=check_token
    )
    app = dash.Dash(
        "dashboard",
        server=server,  # type: ignore[arg-type]  # Dash's hint misses Flask
        requests_pathname_prefix=PREFIX,
        routes_pathname_prefix="/",
        use_pages=True,
        pages_folder=str(_HERE / "pages"),
        assets_folder=str(_HERE / "assets"),
        serve_locally=True,
        title="partsflow planning",
        update_title=None,  # type: ignore[arg-type]  # None: no "Updating..." title
        suppress_callback_exceptions=True,
        compress=False,
    )
    app.layout = layout.shell
    components.register_callbacks(app)
    return cast(ASGIApp, WSGIMiddleware(server, workers=_THREADS))  # type: ignore[arg-type]
