"""Opening the database and keeping its schema current.

Migrations are the numbered ``NNNN_name.sql`` files in ``warehouse/migrations``,
applied in order, each in its own transaction, and recorded in
``schema_version``. Opening an older database upgrades it; opening a database
written by a newer partsflow (a version this code does not know) is refused,
because writing to it could corrupt what the newer code relies on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.frames import transaction

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
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


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database at ``path``, creating and upgrading it as needed.

    A read-only connection never migrates: it refuses a database whose schema
    is not exactly the current one.
    """
    path = Path(path)
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    if read_only:
        if not path.exists():
            raise SchemaError(f"{path}: no such database")
        con = duckdb.connect(str(path), read_only=True, config=config)
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
    con = duckdb.connect(str(path), config=config)
    _quiet(con)
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bars on stderr (a long migration or insert draws one): stderr is for errors."""
    con.execute("SET enable_progress_bar = false")
