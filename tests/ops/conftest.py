"""The operational store's fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is Debian's server run as a throw-away cluster (initdb + pg_ctl in a
temporary folder, as the ``postgres`` user when the tests run as root, trust
auth on 127.0.0.1 only, fsync off). It starts once per session and only if a
PostgreSQL test is selected. If it is not installed those tests FAIL: CI
installs it (.ci/run), and a green run must mean both backends were tested.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import Engine

from ops.engine import make_engine, upgrade

BACKENDS = ["sqlite", "postgresql"]
_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def _postgres_bindir() -> Path:
    """The newest installed server's bin folder (the version is found, never assumed)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "run `apt-get install -y postgresql`; the ops store is tested on SQLite AND PostgreSQL",
            pytrace=False,
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster on a free loopback port (fsync off: starts in ~2 s)."""
    bindir = _postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="partsflow-pg-"))
    as_postgres = ["runuser", "-u", _USER, "--"] if os.geteuid() == 0 else []
    if as_postgres:  # root may not run the server; the postgres user owns the cluster
        shutil.chown(root, _USER)
    data, port = root / "data", _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
    )

    def run(*command: str | Path) -> None:
        done = subprocess.run(
            [*as_postgres, *map(str, command)], check=False, capture_output=True, text=True
        )
        if done.returncode:
            log = root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"{Path(command[0]).name} failed: {done.stderr.strip()}\n{tail}")

    run(bindir / "initdb", "-D", data, "-U", _USER, "-A", "trust", "-E", "UTF8", "--locale=C")
    run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
    try:
        yield PostgresServer("127.0.0.1", port, _USER)
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
