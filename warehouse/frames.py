"""Small helpers every writer in ``warehouse`` shares: frames as SQL tables, transactions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb
import polars as pl

_names = itertools.count()


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Iterator[str]:
    """Expose ``frame`` to SQL under a fresh name for the duration of the block."""
    name = f"__frame_{next(_names)}"
    con.register(name, frame)
    try:
        yield name
    finally:
        # In an aborted transaction this fails too; the original error matters.
        with suppress(duckdb.Error):
            con.unregister(name)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body in one transaction: commit on success, roll back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
