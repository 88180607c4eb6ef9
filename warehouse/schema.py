"""Opening the database and keeping its schema current.

Migrations are the numbered ``NNNN_name.sql`` files in ``warehouse/migrations``,
applied in order, each in its own transaction, and recorded in
``schema_version``. Opening an older database upgrades it; opening a database
written by a newer partsflow (a version this code does not know) is refused,
because writing to it could corrupt what the newer code relies on.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.frames import transaction

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: How long :func:`connect` waits for a file another process holds (a DuckDB shell, a
#: notebook) before giving up: a read-only handle held for 8 s used to fail the night.
LOCK_WAIT_S = 120.0

log = logging.getLogger("partsflow.warehouse")
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaError(RuntimeError):
    """The database cannot be used by this version of partsflow."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in ``directory``, ordered and checked for gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise SchemaError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaError(
                f"{migration.path}: expected migration {expected:04d}, the sequence has a gap"
            )
    return found


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the database (0 for an empty one)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    value = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    return int(value or 0)


def migrate(
    con: duckdb.DuckDBPyConnection,
    directory: Path = MIGRATIONS_DIR,
    target: int | None = None,
) -> list[int]:
    """Apply the migrations the database lacks, up to ``target`` (default: all).

    Returns the versions applied. Raises :class:`SchemaError` when the database
    is newer than the newest migration known here.
    """
    migrations = discover_migrations(directory)
    latest = migrations[-1].version if migrations else 0
    target = latest if target is None else target
    have = current_version(con)
    if have > latest:
        raise SchemaError(
            f"database schema version {have} is newer than this partsflow knows "
            f"(up to {latest}); upgrade partsflow to open it"
        )
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= have or migration.version > target:
            continue
        with transaction(con):
            con.execute(migration.sql())
            con.execute(
                "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
        applied.append(migration.version)
    return applied


def connect(
    path: str | Path, *, read_only: bool = False, lock_wait_s: float = LOCK_WAIT_S
) -> duckdb.DuckDBPyConnection:
    """Open the database at ``path``, creating and upgrading it as needed.

    A read-only connection never migrates: it refuses a database whose schema
    is not exactly the current one. A file another process holds (DuckDB lets
    one writer, or readers, at a time) is tried again with backoff, each wait
    logged, for up to ``lock_wait_s`` seconds; then DuckDB's error is raised.
    """
    path = Path(path)
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    if read_only:
        if not path.exists():
            raise SchemaError(f"{path}: no such database")
        con = _open(path, read_only=True, config=config, wait_s=lock_wait_s)
        _quiet(con)
        have, latest = current_version(con), len(discover_migrations())
        if have != latest:
            con.close()
            raise SchemaError(
                f"{path}: schema version {have}, this partsflow needs {latest}; "
                "open it read-write once to upgrade"
                if have < latest
                else f"{path}: schema version {have} is newer than this partsflow knows "
                f"(up to {latest}); upgrade partsflow to open it"
            )
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only=False, config=config, wait_s=lock_wait_s)
    _quiet(con)
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con


def _open(
    path: Path,
    *,
    read_only: bool,
    config: dict[str, str | bool | int | float | list[str]],
    wait_s: float,
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    pause = 0.25
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as error:
            left = deadline - time.monotonic()
            if "lock" not in str(error).lower() or left <= 0:
                raise
            pause = min(pause * 2, 10.0, left)
            log.warning(
                "%s is held by another process (%s); trying again in %.1f s, %.0f s left",
                path,
                " ".join(str(error).split())[-80:],
                pause,
                left,
            )
            time.sleep(pause)


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bars on stderr (a long migration or insert draws one): stderr is for errors."""
    con.execute("SET enable_progress_bar = false")
