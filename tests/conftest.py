"""Session-wide test set-up: an isolated Prefect home, one Prefect test server, and the
operational store's two backends (one PostgreSQL cluster for tests/ops and tests/api).

Every test of the operational store and of the API's store-facing endpoints runs
on SQLite and on PostgreSQL (``store_url``, or ``module_store_url`` for a module's
server). PostgreSQL is a throw-away cluster (tests/_postgres.py) started once per
session, only if a PostgreSQL test is selected. If it is not installed those
tests FAIL: CI installs it (.ci/run), and a green run must mean both backends
were tested.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from settings import use_prefect_defaults
from tests._postgres import ClusterError, PostgresServer, throwaway_cluster

BACKENDS = ["sqlite", "postgresql"]

# Each test run gets its own Prefect home, set before Prefect is imported anywhere.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="partsflow-prefect-")
# ... and its own default operational store: a command run without PARTSFLOW_OPS_URL
# (partsflow linehaul, nightly) must not write into the checkout's data/ops.sqlite3.
os.environ.setdefault(
    "PARTSFLOW_OPS_URL",
    f"sqlite:///{Path(tempfile.mkdtemp(prefix='partsflow-ops-')) / 'ops.sqlite3'}",
)
use_prefect_defaults()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One Prefect test server for the whole session (it takes 15-40 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster on a free loopback port (fsync off: starts in ~2 s)."""
    try:
        with throwaway_cluster() as server:
            yield server
    except ClusterError as error:
        pytest.fail(
            f"{error}; the ops store and the API are tested on SQLite AND PostgreSQL",
            pytrace=False,
        )


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a temp SQLite file, or a new PostgreSQL database."""
    with _database(request, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``store_url`` for a module's tests together (e.g. one ``partsflow serve`` per backend)."""
    with _database(request, tmp_path_factory.mktemp("store")) as url:
        yield url


@contextmanager
def _database(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'ops.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"ops_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name):
        yield server.url(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Keep pytest's summary the last thing printed (see quiet_interpreter_teardown)."""
    import atexit

    from partsflow_cli import quiet_interpreter_teardown

    atexit.register(quiet_interpreter_teardown)
