"""What every read of the snapshot shares: typed frames and keyset pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged list.

    ``rows`` has the list's schema; ``next_after`` is the key of its last row
    when more rows follow (pass it as ``after`` for the next page), else None.
    """

    rows: pl.DataFrame
    next_after: str | None


def frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any], schema: pl.Schema
) -> pl.DataFrame:
    """Run a parameterised query and return exactly ``schema`` (columns in its order)."""
    return con.sql(sql, params=dict(params)).pl().select(schema.names()).cast(schema)


def keyset_page(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, Any],
    schema: pl.Schema,
    key: str,
    limit: int,
) -> Page:
    """The first ``limit`` rows of ``sql`` (ordered by the unique ``key``) and the next cursor.

    ``sql`` filters on ``$after`` itself (``$after IS NULL OR key > $after``) and ends
    with its ORDER BY: keyset paging, so a page deep in a 1.3 M-line plan costs what
    the first one does (an OFFSET would scan every row before it).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    # One row more than asked says whether another page follows without a count(*).
    rows = frame(con, f"{sql} LIMIT $limit", {**params, "limit": limit + 1}, schema)
    more = rows.height > limit
    rows = rows.head(limit)
    return Page(rows, str(rows[key][-1]) if more else None)
