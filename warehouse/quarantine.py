"""The quarantine's SQL: rows refused with their reason, and their resolution.

A row a load cannot take goes to ``quarantine`` once (:func:`quarantine_rows`),
as the strings it arrived with, cut where it was oversized. It is resolved when
it loads after all (its file again, or ``partsflow ingest --retry-quarantine``:
:func:`resolve_quarantine`, :func:`resolve_quarantine_ids`) or when another
file loads its key (:func:`resolve_superseded`); ``resolution`` says which.
:mod:`warehouse.loading` calls these inside a file's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import polars as pl

from warehouse.frames import registered, utc_frame
from warehouse.loading_types import KEYED_ROWS, QUARANTINE_ROWS


def has_quarantine(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    """Whether any row of the file with this digest is quarantined and unresolved."""
    return bool(
        con.execute(
            "SELECT count(*) FROM quarantine WHERE source_sha256 = ? AND resolved_at IS NULL",
            [sha256],
        ).fetchall()[0][0]
    )


def unresolved_quarantine(
    con: duckdb.DuckDBPyConnection, reason_patterns: Sequence[str]
) -> pl.DataFrame:
    """Unresolved quarantined rows whose reason matches one of the LIKE patterns."""
    where = " OR ".join("reason LIKE ?" for _ in reason_patterns) or "false"
    return utc_frame(
        con.sql(
            "SELECT quarantine_id, kind, source_file, source_sha256, row_number, raw, reason, "
            "raw_bytes, row_key, quarantined_at "
            f"FROM quarantine WHERE resolved_at IS NULL AND ({where}) "
            "ORDER BY source_sha256, row_number",
            params=list(reason_patterns),
        )
    )


def quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    rows: pl.DataFrame,
    *,
    kind: str,
    source_file: str,
    sha256: str,
    now: datetime,
) -> None:
    """Record ``rows`` (:data:`QUARANTINE_ROWS`; ``row_key`` and ``raw_bytes`` may be
    left out, as null); a row already there stays."""
    if rows.height == 0:
        return
    rows = rows.with_columns(
        pl.lit(None, dtype).alias(c)
        for c, dtype in QUARANTINE_ROWS.items()
        if c not in rows.columns
    )
    with registered(con, rows.select(*QUARANTINE_ROWS)) as name:
        con.execute(
            "INSERT INTO quarantine (kind, source_file, source_sha256, row_number, raw, reason, "
            "row_key, raw_bytes, quarantined_at) "
            f"SELECT ?, ?, ?, row_number, raw, reason, row_key, raw_bytes, ? FROM {name} "
            "ON CONFLICT (source_sha256, row_number) DO NOTHING",
            [kind, source_file, sha256, now],
        )


#: ``quarantine.resolution`` of a row that loaded itself (its file again, or a retry).
LOADED = "loaded"


def resolve_quarantine(
    con: duckdb.DuckDBPyConnection, sha256: str, row_numbers: pl.Series, now: datetime
) -> None:
    """Mark the quarantined rows of a file that have now been loaded as resolved."""
    if row_numbers.len() == 0:
        return
    with registered(con, pl.DataFrame({"row_number": row_numbers})) as name:
        con.execute(
            "UPDATE quarantine SET resolved_at = ?, resolution = ? WHERE source_sha256 = ? "
            f"AND resolved_at IS NULL AND row_number IN (SELECT row_number FROM {name})",
            [now, LOADED, sha256],
        )


def resolve_superseded(
    con: duckdb.DuckDBPyConnection,
    keys: pl.DataFrame,
    *,
    kind: str,
    source_file: str,
    sha256: str,
    now: datetime,
) -> int:
    """Resolve other files' quarantined rows of ``kind`` whose key this file loaded.

    ``keys``: ``row_number``, ``row_key`` of the rows loaded. The resolution
    names the first row of the key: ``superseded by <source_file> row 17``.
    Returns the number of rows resolved.
    """
    if keys.height == 0:
        return 0
    with registered(con, keys.select(*KEYED_ROWS).drop_nulls()) as name:
        result = con.execute(
            "UPDATE quarantine q SET resolved_at = ?, "
            "resolution = 'superseded by ' || ? || ' row ' || s.row_number "
            f"FROM (SELECT row_key, min(row_number) AS row_number FROM {name} GROUP BY row_key) s "
            "WHERE q.kind = ? AND q.resolved_at IS NULL AND q.row_key = s.row_key "
            "AND q.source_sha256 <> ?",
            [now, source_file, kind, sha256],
        ).fetchall()
    return int(result[0][0]) if result else 0


def resolve_quarantine_ids(
    con: duckdb.DuckDBPyConnection, ids: pl.Series, resolution: str, now: datetime
) -> None:
    """Mark the quarantined rows ``ids`` (``quarantine_id``) resolved, saying why."""
    if ids.len() == 0:
        return
    with registered(con, pl.DataFrame({"quarantine_id": ids})) as name:
        con.execute(
            "UPDATE quarantine SET resolved_at = ?, resolution = ? WHERE resolved_at IS NULL "
            f"AND quarantine_id IN (SELECT quarantine_id FROM {name})",
            [now, resolution],
        )
