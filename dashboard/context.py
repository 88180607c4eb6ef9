"""What a page's layout or callback may reach: the app's state, the planner, the snapshot.

Dash runs layouts and callbacks inside a Flask request of the dashboard's own
server (:mod:`dashboard.app`), which the running API built around its
:class:`api.deps.AppState`; these functions find it there. Outside a request
they raise :class:`RuntimeError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import flask

from api.deps import AppState
from api.snapshot import LiveView
from ops import KeyIdentity
from warehouse import published

#: The published snapshot's connection, as pages name it in their signatures (this module
#: is the dashboard's one import of DuckDB: an import-linter contract keeps it so).
Snapshot = duckdb.DuckDBPyConnection

#: Where :mod:`dashboard.app` leaves the app's state in the Flask server's config.
STATE_KEY = "PARTSFLOW_STATE"


class NotSignedInError(RuntimeError):
    """A page asked for the planner outside a signed-in request."""


def state() -> AppState:
    """The running app's state: ``config``, ``engine`` (ops store), ``watcher``, ``stock``."""
    found: AppState = flask.current_app.config[STATE_KEY]
    return found


def planner() -> KeyIdentity:
    """The signed-in planner (their key: ``name`` is who the audit log records).

    Raises
    ------
    NotSignedInError
        Outside a signed-in request (the session guard lets none through to a page).
    """
    who = signed_in()
    if who is None:
        raise NotSignedInError("no planner is signed in to this request")
    return who


def signed_in() -> KeyIdentity | None:
    """The signed-in planner, or None (the login page's own requests)."""
    if not flask.has_request_context():
        return None
    who: KeyIdentity | None = flask.g.get("planner")
    return who


def live() -> LiveView | None:
    """The snapshot the API serves from memory (stores, reach, stock), or None before one."""
    return state().watcher.current


@contextmanager
def snapshot() -> Iterator[Snapshot]:
    """The published snapshot, read-only, for :mod:`warehouse.published`'s readers.

    Raises
    ------
    warehouse.published.SnapshotError
        No plan is published yet (``NoPublishedPlanError``) or it has another format;
        pages catch it and say so (see :func:`dashboard.components.no_plan`).
    """
    with published.open_snapshot(state().config.snapshot_dir) as con:
        yield con
