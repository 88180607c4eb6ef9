"""A throw-away PostgreSQL cluster from Debian's server, for the tests and the API benchmark.

``initdb`` + ``pg_ctl`` in a temporary folder, as the ``postgres`` user when
run as root (root may not run the server), trust auth on 127.0.0.1 only,
fsync off: it starts in ~2 s and leaves nothing behind. Kept out of
``tests/ops/conftest.py`` so that ``bench/bench_api_load.py`` starts the very
same cluster the store's tests do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "postgres"


class ClusterError(RuntimeError):
    """PostgreSQL is not installed, or the cluster could not be made or started."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def postgres_bindir() -> Path:
    """The newest installed server's bin folder (the version is found, never assumed)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise ClusterError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "run `apt-get install -y postgresql`"
        )
    return found[-1].parent


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def throwaway_cluster(max_connections: int = 60) -> Iterator[PostgresServer]:
    """A new cluster on a free loopback port, stopped and removed on exit.

    Raises
    ------
    ClusterError
        No server installed, or ``initdb``/``pg_ctl`` failed (with the log's tail).
    """
    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="partsflow-pg-"))
    as_postgres = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, USER)
    data, port = root / "data", free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off "
        f"-c max_connections={int(max_connections)}"
    )

    def run(*command: str | Path) -> None:
        done = subprocess.run(
            [*as_postgres, *map(str, command)], check=False, capture_output=True, text=True
        )
        if done.returncode:
            log = root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ClusterError(f"{Path(command[0]).name} failed: {done.stderr.strip()}\n{tail}")

    try:
        run(bindir / "initdb", "-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C")
        run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
        try:
            yield PostgresServer("127.0.0.1", port, USER)
        finally:
            run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
