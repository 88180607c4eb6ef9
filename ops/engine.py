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

  Writers also queue *before* ``BEGIN IMMEDIATE``, in :class:`WriterQueue`
  (a lock per process, then a ``flock`` on ``<database>.writers`` across
  processes), so each waits for the previous writer's commit and starts
  within a fraction of a millisecond of it. SQLite's own busy handler polls
  instead, sleeping 1, 2, 5, 10 ... 100 ms between tries, so under a stream
  of short writes from several processes a waiter kept missing the free
  moments: 1.2 s p99 for an order at ~190 orders/s across 2 API workers
  (docs/BENCHMARKS.md). The queue orders partsflow's own writers only; the
  write lock itself is still SQLite's, and ``busy_timeout`` still bounds the
  wait for it (and for the queue).
* ``postgresql://`` (rewritten to the psycopg 3 driver): READ COMMITTED, in
  which a conditional ``UPDATE`` waits for a concurrent one on the same row
  and re-checks its condition on the committed row, which is all the
  reservations need.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: Where the operational store lives unless told otherwise (settings passes its URL down).
DEFAULT_URL = "sqlite:///data/ops.sqlite3"
#: How long a SQLite writer waits for the write lock before giving up.
BUSY_TIMEOUT_MS = 5000

_MIGRATIONS = Path(__file__).parent / "migrations"
# An execution option: a transaction that only reads may start deferred on SQLite.
_READ_ONLY = "ops_read_only"
# Seconds a PostgreSQL connection is reused before the pool opens a new one.
_PG_RECYCLE_S = 600
# PostgreSQL connections a pool keeps open, and never more: SQLAlchemy's default (5 kept,
# 10 more opened on demand and closed when returned) made every burst over 5 concurrent
# requests a worker open and close connections, each a fork of a server backend on the same
# 2 cores (4 % of an API worker's CPU in connect() at 16 concurrent connections, and the
# server's share besides). A request past the 10th waits for a free one, at most
# _PG_POOL_WAIT_S, then gets 503 ops-busy. An API worker has two pools (make_engine's and
# make_async_engine's): 4 workers stay below PostgreSQL's default max_connections (100).
_PG_POOL_SIZE = 10
_PG_POOL_WAIT_S = 10
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
    # No pool_pre_ping: it is a round trip on every check-out (every request), to a server
    # that shares the machine. A connection the server dropped fails once instead (the API
    # answers 503 ops-busy with Retry-After) and the pool discards it; pool_recycle retires
    # connections before server or network idle limits are likely to have closed them.
    return create_engine(
        parsed,
        pool_recycle=_PG_RECYCLE_S,
        pool_size=_PG_POOL_SIZE,
        max_overflow=0,
        pool_timeout=_PG_POOL_WAIT_S,
    )


def make_async_engine(url: str = DEFAULT_URL) -> AsyncEngine | None:
    """The same store for ``async`` code, or ``None`` for SQLite (whose reads are too short to
    be worth awaiting and whose writes wait on a file lock: threads serve it better).

    On PostgreSQL: psycopg's asyncio connections, pooled as :func:`make_engine`
    pools them. Run the store's (synchronous) functions on it through
    ``AsyncConnection.run_sync``: they execute in the event loop's thread, each
    round trip awaited, so a worker serves other requests meanwhile without a
    thread per transaction, or the hand-overs of the GIL between them.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return None
    return create_async_engine(
        parsed,
        pool_recycle=_PG_RECYCLE_S,
        pool_size=_PG_POOL_SIZE,
        max_overflow=0,
        pool_timeout=_PG_POOL_WAIT_S,
    )


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
    "database is locked" on SQLite, and is not a transaction on PostgreSQL
    (where reads run in autocommit). Never write inside it.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # In autocommit: under READ COMMITTED every statement reads its own snapshot, in
            # a transaction or not, so BEGIN and COMMIT would be two round trips for nothing
            # (psycopg sends each on its own); a read of one statement is then one round trip.
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
            return
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
    queue: WriterQueue | None = None
    if not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        queue = WriterQueue.for_file(Path(database))
    engine = create_engine(url, connect_args={"factory": _QueuedConnection})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself; _on_begin does (see the docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        _wal(cursor, busy_timeout_ms / 1000)
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        if queue is not None and isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.enter(queue, busy_timeout_ms / 1000)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _wal(cursor: sqlite3.Cursor, within_s: float) -> None:
    """Put the file in WAL mode (once per file; a no-op after), retrying while it is locked.

    Switching a new file to WAL takes an exclusive lock, and SQLite may answer
    "database is locked" at once rather than wait in the busy handler: three
    workers opening a new store together hit it now and then.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class WriterQueue:
    """partsflow's writers of one SQLite file, one after the other (see the module).

    One per file and process: a ``threading.Lock`` queues the process's own
    threads, and the one holding it takes an exclusive ``flock`` on
    ``<database>.writers``, trying every 0.2 ms, which other processes take
    the same way. Released when the transaction commits or rolls back (the
    kernel drops the ``flock`` of a process that dies).
    """

    _POLL_S = 0.0002

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.Lock()
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @classmethod
    def for_file(cls, database: Path) -> WriterQueue:
        """The queue of ``database`` in this process (a forked child gets its own)."""
        path = database.with_name(database.name + ".writers").resolve()
        key = (os.getpid(), str(path))
        with _QUEUES_MADE:
            if key not in _QUEUES:
                _QUEUES[key] = cls(path)
            return _QUEUES[key]

    def enter(self, timeout_s: float) -> None:
        """Wait for this process's and then every process's earlier writers (at most ``timeout_s``).

        Raises
        ------
        sqlalchemy.exc.OperationalError
            Not our turn within ``timeout_s``: "database is locked", as SQLite says (a 503).
        """
        deadline = time.monotonic() + timeout_s
        if not self.local.acquire(timeout=timeout_s):
            raise self._busy(timeout_s)
        try:
            while True:  # no timed flock: try every 0.2 ms (one thread a process does)
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._busy(timeout_s) from None
                    time.sleep(self._POLL_S)
        except BaseException:
            self.local.release()
            raise

    def leave(self) -> None:
        """Let the next writer in (the transaction has committed or rolled back)."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.local.release()

    def _busy(self, timeout_s: float) -> OperationalError:
        return OperationalError(
            "BEGIN IMMEDIATE",
            None,
            sqlite3.OperationalError(
                f"database is locked: no turn among the writers of {self.path.name} "
                f"in {timeout_s:g} s"
            ),
        )


# One WriterQueue per (process, file): every engine of the file in the process shares it.
_QUEUES: dict[tuple[int, str], WriterQueue] = {}
_QUEUES_MADE = threading.Lock()


class _QueuedConnection(sqlite3.Connection):
    """pysqlite's connection, leaving the :class:`WriterQueue` when its transaction ends."""

    _queue: WriterQueue | None = None

    def enter(self, queue: WriterQueue, timeout_s: float) -> None:
        if self._queue is None:  # not twice: a BEGIN that failed is rolled back, leaving it
            queue.enter(timeout_s)
            self._queue = queue

    def _leave(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.leave()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave()
