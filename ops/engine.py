"""Opening the operational store and bringing its schema up to date.

One URL chooses the engine (DESIGN.md: choosing an environment is one lookup):

* ``sqlite:///PATH`` (the default, :data:`DEFAULT_URL`): WAL mode, so readers
  never block the one writer and the writer never blocks readers, across
  processes (several uvicorn workers, the CLI, the nightly). Every write
  transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up
  front, so concurrent writers queue on ``busy_timeout`` instead of two of
  them reading under a shared lock, both trying to upgrade it and one failing
  with "database is locked". pysqlite's own transaction handling would issue
  a plain deferred ``BEGIN`` (and none before DDL), hence SQLAlchemy's
  documented recipe: turn the driver's off and emit ``BEGIN`` ourselves.
  ``synchronous=NORMAL`` is durable against a crash of the process (WAL);
  only a power cut can lose the last commits, which the API's idempotency
  lets a client retry.
* ``postgresql://`` (rewritten to the psycopg 3 driver): READ COMMITTED, in
  which a conditional ``UPDATE`` waits for a concurrent one on the same row
  and re-checks its condition on the committed row, which is all the
  reservations need.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: Where the operational store lives unless told otherwise (settings passes its URL down).
DEFAULT_URL = "sqlite:///data/ops.sqlite3"
#: How long a SQLite writer waits for the write lock before giving up.
BUSY_TIMEOUT_MS = 5000

_MIGRATIONS = Path(__file__).parent / "migrations"
# An execution option: a transaction that only reads may start deferred on SQLite.
_READ_ONLY = "ops_read_only"
# Any constant: PostgreSQL's advisory lock that serialises concurrent schema upgrades.
_UPGRADE_LOCK = 7_212_301


def make_engine(url: str = DEFAULT_URL, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """Open the operational store at ``url`` (SQLite file or PostgreSQL server).

    Parameters
    ----------
    url
        ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
        ``postgresql://user:password@host:port/db`` (``postgresql+psycopg://``
        too). A SQLite file's folder is created if missing.
    busy_timeout_ms
        SQLite only: how long a writer waits for the write lock.

    Raises
    ------
    ValueError
        The URL cannot be parsed, names another database or driver, or a
        SQLite URL names no file (an in-memory database cannot be shared).
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    return create_engine(parsed, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (a no-op when it is there).

    The Alembic configuration is built here rather than read from an
    ``alembic.ini``, so an installed partsflow needs nothing on disk but the
    package. The whole upgrade is one transaction holding the write lock
    (SQLite) or an advisory lock (PostgreSQL): processes starting together
    upgrade one after the other, and the later ones find nothing to do.
    """
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it does not take the write lock.

    Use it for lists and lookups, so reads run alongside the writers (WAL)
    instead of queueing behind them; a write inside it may fail with
    "database is locked" on SQLite.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_READ_ONLY: True})
        with connection.begin():
            yield connection


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"ops store URL {url!r} is not a database URL") from None
    scheme, _, driver = parsed.drivername.partition("+")
    if scheme == "sqlite" and driver in ("", "pysqlite"):
        if parsed.database in (None, "", ":memory:") or "memory" in str(parsed.query):
            raise ValueError(
                f"ops store URL {url!r} names no file: use sqlite:///path/to/ops.sqlite3"
            )
        return parsed
    if scheme in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"ops store URL {url!r}: unsupported database or driver {parsed.drivername!r} "
        "(use sqlite:///PATH or postgresql://...)"
    )


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    if busy_timeout_ms < 0:
        raise ValueError(f"busy timeout must be >= 0 ms, got {busy_timeout_ms}")
    database = url.database
    assert database is not None  # _parse refused a URL without a file
    if not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself; _on_begin does (see the docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={int(busy_timeout_ms)}",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        deferred = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine
