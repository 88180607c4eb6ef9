"""Short reads of the operational store from ``async`` routes, without a needless thread hop.

A keyed read of the SQLite file (WAL: a reader never waits for the writer)
takes ~0.1 ms, less than handing it to the thread pool and back (~0.2 ms of
CPU and a wake-up of the event loop), so it runs in the loop. Anything else
(PostgreSQL: a round trip to a server) runs in a worker thread, so the loop
serves other requests meanwhile, and in autocommit: one round trip, where a
transaction adds ``BEGIN`` and ``COMMIT`` (under READ COMMITTED each
statement reads its own snapshot either way). Writes always run in a
thread: on SQLite they can wait seconds for the write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine

from ops import reading

T = TypeVar("T")


async def read(engine: Engine, what: Callable[[Connection], T]) -> T:
    """``what``, one statement that only reads: in the event loop on SQLite (a read-only
    transaction), else in a thread, in autocommit."""
    if engine.dialect.name == "sqlite":
        with reading(engine) as conn:
            return what(conn)

    def run() -> T:
        with engine.connect() as conn:
            return what(conn.execution_options(isolation_level="AUTOCOMMIT"))

    return await anyio.to_thread.run_sync(run)
