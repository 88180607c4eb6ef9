"""Short reads of the operational store from ``async`` routes, without a needless thread hop.

A keyed read of the SQLite file (WAL: a reader never waits for the writer)
takes ~0.1 ms, less than handing it to the thread pool and back (~0.2 ms of
CPU and a wake-up of the event loop), so it runs in the loop. Anything else
(PostgreSQL: a round trip to a server) runs in a worker thread, so the loop
serves other requests meanwhile. Writes always run in a thread: on SQLite
they can wait seconds for the write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine

from ops import reading

T = TypeVar("T")


async def read(engine: Engine, what: Callable[[Connection], T]) -> T:
    """``what`` in a read-only transaction: in the event loop on SQLite, else in a thread."""

    def run() -> T:
        with reading(engine) as conn:
            return what(conn)

    if engine.dialect.name == "sqlite":
        return run()
    return await anyio.to_thread.run_sync(run)
