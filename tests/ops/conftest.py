"""The operational store's fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is Debian's server run as a throw-away cluster (initdb + pg_ctl in a
temporary folder, as the ``postgres`` user when the tests run as root, trust
auth on 127.0.0.1 only, fsync off). It starts once per session and only if a
PostgreSQL test is selected. If it is not installed those tests FAIL: CI
installs it (.ci/run), and a green run must mean both backends were tested.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import Engine

from ops.engine import make_engine, upgrade
from tests._postgres import ClusterError, PostgresServer, throwaway_cluster

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster on a free loopback port (fsync off: starts in ~2 s)."""
    try:
        with throwaway_cluster() as server:
            yield server
    except ClusterError as error:
        pytest.fail(f"{error}; the ops store is tested on SQLite AND PostgreSQL", pytrace=False)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a temp SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"ops_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name):
        yield server.url(name)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated, empty operational store on the backend of ``store_url``."""
    store = make_engine(store_url)
    upgrade(store)
    yield store
    store.dispose()
