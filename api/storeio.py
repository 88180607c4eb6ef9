"""How ``async`` routes reach the operational store, without a needless thread hop.

* **SQLite.** A keyed read of the file (WAL: a reader never waits for the
  writer) takes ~0.1 ms, less than handing it to the thread pool and back
  (~0.2 ms of CPU and a wake-up of the event loop), so reads run in the loop.
  Writes run in a thread: they can wait seconds for the write lock.
* **PostgreSQL.** Every read and write runs on psycopg's asyncio connections
  (:func:`ops.make_async_engine`), the store's synchronous functions called
  through ``AsyncConnection.run_sync``: each round trip is awaited in the
  event loop, so a worker serves other requests meanwhile. Through the thread
  pool instead, a transaction of a dozen round trips handed the GIL back and
  forth a dozen times among the threads in flight, and the latency tail grew
  with every hand-over. Reads run in autocommit, as :func:`ops.reading` does.

Either way the functions given run with a plain SQLAlchemy ``Connection``,
so the same code serves the CLI, the nightly and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ops import reading

T = TypeVar("T")


class StoreIO:
    """The operational store for the API's routes: ``read`` and ``write`` (see the module)."""

    def __init__(self, engine: Engine, async_engine: AsyncEngine | None) -> None:
        self.engine = engine
        self.async_engine = async_engine

    async def read(self, what: Callable[[Connection], T]) -> T:
        """``what``, statements that only read (each its own snapshot, as under READ COMMITTED)."""
        if self.async_engine is None:
            with reading(self.engine) as conn:
                return what(conn)
        async with self.async_engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await autocommit.run_sync(what)

    async def write(self, what: Callable[[Connection], T]) -> T:
        """``what`` in one transaction, committed if it returns, rolled back if it raises."""
        if self.async_engine is None:

            def run() -> T:
                with self.engine.begin() as conn:
                    return what(conn)

            return await anyio.to_thread.run_sync(run)
        async with self.async_engine.begin() as conn:
            return await conn.run_sync(what)

    async def close(self) -> None:
        """Close the pooled connections (the sync engine's too)."""
        if self.async_engine is not None:
            await self.async_engine.dispose()
        self.engine.dispose()
