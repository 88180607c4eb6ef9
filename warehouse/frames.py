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


def utc_frame(relation: duckdb.DuckDBPyRelation, schema: pl.Schema | None = None) -> pl.DataFrame:
    """The relation as polars, timestamps in ``UTC`` (DuckDB says ``Etc/UTC``)."""
    frame = relation.pl()
    frame = frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )
    return frame if schema is None else frame.cast(schema)
