"""All SQL of ingestion: reference look-ups, comparisons with loaded rows, writes.

``pipelines.ingest`` validates frames with polars and calls these functions to
ask the database what is already known and to write what passed. A file is
written inside :func:`transaction` (all or nothing). Frames are handed to
DuckDB by registration (no copy); table and column names come from the
ingestion specs and are checked as identifiers before they reach a
statement, values always travel as parameters or registered frames.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import duckdb
import polars as pl

from warehouse.frames import registered

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _q(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _cols(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + _q(n) for n in names)


def _on(key: Sequence[str], left: str = "s", right: str = "t") -> str:
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in key)


def _frame(relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    """The relation as polars, timestamps in ``UTC`` (DuckDB says ``Etc/UTC``)."""
    frame = relation.pl()
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )


# --- look-ups -----------------------------------------------------------------


def known_keys(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    filter_column: str | None = None,
    filter_value: str | None = None,
) -> pl.Series:
    """The values of ``table.column`` (optionally where ``filter_column = filter_value``)."""
    sql = f"SELECT {_q(column)} AS key FROM {_q(table)}"
    params: list[object] = []
    if filter_column is not None:
        sql += f" WHERE {_q(filter_column)} = ?"
        params.append(filter_value)
    return _frame(con.sql(sql, params=params))["key"]


def store_warehouses(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``store_id`` and the ``serving_warehouse_id`` of every known store."""
    return _frame(con.sql("SELECT store_id, warehouse_id AS serving_warehouse_id FROM stores"))


def compare_loaded(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pl.DataFrame,
    key: Sequence[str],
    columns: Sequence[str],
    loaded: Sequence[str] = (),
) -> pl.DataFrame:
    """Compare ``rows`` with the loaded rows of ``table`` having the same key.

    Returns one row per input ``row_number``: ``present`` (the key is
    loaded), ``diff`` (null if absent, ``''`` if ``columns`` are equal, else
    ``"quantity 2 ≠ 4, sku A ≠ B"`` with the file's value first) and
    ``loaded_<c>`` for each column in ``loaded``.
    """
    if rows.height == 0:
        return pl.DataFrame(
            schema={"row_number": pl.Int64, "present": pl.Boolean, "diff": pl.String}
            | {f"loaded_{c}": pl.Null for c in loaded}
        )
    parts = ", ".join(
        f"CASE WHEN s.{_q(c)} IS DISTINCT FROM t.{_q(c)} THEN "
        f"'{c} ' || coalesce(s.{_q(c)}::VARCHAR, 'empty') || ' ≠ ' "
        f"|| coalesce(t.{_q(c)}::VARCHAR, 'empty') END"
        for c in columns
    )
    present = f"t.{_q(key[0])} IS NOT NULL"
    extra = "".join(f", t.{_q(c)} AS {_q('loaded_' + c)}" for c in loaded)
    source = rows.select("row_number", *dict.fromkeys([*key, *columns]))
    with registered(con, source) as name:
        return _frame(
            con.sql(
                f"SELECT s.row_number, {present} AS present, "
                f"CASE WHEN {present} THEN concat_ws(', ', {parts}) END AS diff{extra} "
                f"FROM {name} s LEFT JOIN {_q(table)} t ON {_on(key)} ORDER BY s.row_number"
            )
        )


def fetch_matching(
    con: duckdb.DuckDBPyConnection,
    table: str,
    keys: pl.DataFrame,
    columns: Sequence[str],
) -> pl.DataFrame:
    """The loaded ``columns`` of ``table`` for the distinct keys in ``keys`` (its columns)."""
    key = keys.columns
    with registered(con, keys.unique()) as name:
        return _frame(
            con.sql(
                f"SELECT {_cols(key, 's.')}, {_cols(columns, 't.')} "
                f"FROM {name} s JOIN {_q(table)} t ON {_on(key)}"
            )
        )


def status_seq_base(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame) -> pl.DataFrame:
    """``order_id``, ``line_no``, ``max_seq``: the last status-history entry of each line."""
    with registered(con, lines.select("order_id", "line_no").unique()) as name:
        return _frame(
            con.sql(
                "SELECT h.order_id, h.line_no, max(h.seq) AS max_seq "
                f"FROM order_line_status_history h JOIN {name} s "
                "ON s.order_id = h.order_id AND s.line_no = h.line_no GROUP BY ALL"
            )
        )


def return_lines(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, return_ids: pl.Series
) -> pl.DataFrame:
    """For each (``order_id``, ``line_no``) in ``lines`` that is loaded: the line's
    store, sku, quantity, status, ordered_at and ``returned_before`` (units of
    loaded returns whose ``return_id`` is not in ``return_ids``)."""
    ids = pl.DataFrame({"return_id": return_ids.unique()})
    with (
        registered(con, lines.select("order_id", "line_no").unique()) as keys,
        registered(con, ids) as others,
    ):
        return _frame(
            con.sql(
                "SELECT l.order_id, l.line_no, l.store_id AS line_store_id, l.sku AS line_sku, "
                "l.quantity AS line_quantity, l.status AS line_status, "
                "l.ordered_at AS line_ordered_at, "
                "coalesce((SELECT sum(r.quantity) FROM returns r WHERE r.order_id = l.order_id "
                "AND r.line_no = l.line_no "
                f"AND r.return_id NOT IN (SELECT return_id FROM {others})), 0)::BIGINT "
                "AS returned_before "
                f"FROM order_lines l JOIN {keys} k "
                "ON k.order_id = l.order_id AND k.line_no = l.line_no"
            )
        )


def known_stock_levels(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """Per ``row_number``: the latest loaded level on or before the row's ``as_of``
    (``known_as_of``, ``known_on_hand``, ``known_reserved``, ``known_in_transit``;
    null when none)."""
    source = rows.select("row_number", "warehouse_id", "sku", "as_of")
    with registered(con, source) as name:
        return _frame(
            con.sql(
                "SELECT s.row_number, t.as_of AS known_as_of, t.on_hand AS known_on_hand, "
                "t.reserved AS known_reserved, t.in_transit AS known_in_transit "
                f"FROM {name} s ASOF LEFT JOIN stock_levels t "
                "ON s.warehouse_id = t.warehouse_id AND s.sku = t.sku AND s.as_of >= t.as_of "
                "ORDER BY s.row_number"
            )
        )


def has_quarantine(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    """Whether any row of the file with this digest is quarantined and unresolved."""
    rows = con.execute(
        "SELECT count(*) FROM quarantine WHERE source_sha256 = ? AND resolved_at IS NULL",
        [sha256],
    ).fetchall()
    return bool(rows[0][0])


def file_ingested(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    """Whether a file with this digest was ingested before."""
    rows = con.execute(
        "SELECT count(*) FROM ingested_files WHERE source_sha256 = ?", [sha256]
    ).fetchall()
    return bool(rows[0][0])


def ingested_rows(con: duckdb.DuckDBPyConnection, sha256: str, kind: str) -> int | None:
    """Rows read when a file with this digest was last ingested as ``kind`` (None: never)."""
    rows = con.execute(
        "SELECT rows_read FROM ingested_files WHERE source_sha256 = ? AND kind = ? "
        "ORDER BY ingested_at DESC LIMIT 1",
        [sha256, kind],
    ).fetchall()
    return int(rows[0][0]) if rows else None


def statuses_recorded(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, source_file: str
) -> pl.DataFrame:
    """The (``order_id``, ``line_no``, ``status``) of ``lines`` that the status
    history already holds from ``source_file``."""
    with registered(con, lines.select("order_id", "line_no", "status").unique()) as name:
        return _frame(
            con.sql(
                "SELECT DISTINCT s.order_id, s.line_no, s.status "
                f"FROM {name} s JOIN order_line_status_history h "
                "ON h.order_id = s.order_id AND h.line_no = s.line_no AND h.status = s.status "
                "WHERE h.source_file = ?",
                params=[source_file],
            )
        )


def unresolved_quarantine(
    con: duckdb.DuckDBPyConnection, reason_patterns: Sequence[str]
) -> pl.DataFrame:
    """Unresolved quarantined rows whose reason matches one of the LIKE patterns."""
    where = " OR ".join("reason LIKE ?" for _ in reason_patterns) or "false"
    return _frame(
        con.sql(
            "SELECT quarantine_id, kind, source_file, source_sha256, row_number, raw, reason "
            f"FROM quarantine WHERE resolved_at IS NULL AND ({where}) "
            "ORDER BY source_sha256, row_number",
            params=list(reason_patterns),
        )
    )


# --- writes -------------------------------------------------------------------


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, columns: Sequence[str]
) -> None:
    """Insert the ``columns`` of ``rows`` (all new keys) into ``table``."""
    if rows.height == 0:
        return
    with registered(con, rows.select(columns)) as name:
        con.execute(
            f"INSERT INTO {_q(table)} ({_cols(columns)}) SELECT {_cols(columns)} FROM {name}"
        )


def upsert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pl.DataFrame,
    key: Sequence[str],
    columns: Sequence[str],
) -> None:
    """Insert ``rows`` into ``table``, updating the non-key columns of known keys."""
    if rows.height == 0:
        return
    updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in columns if c not in key)
    with registered(con, rows.select(columns)) as name:
        con.execute(
            f"INSERT INTO {_q(table)} ({_cols(columns)}) SELECT {_cols(columns)} FROM {name} "
            f"ON CONFLICT ({_cols(key)}) DO UPDATE SET {updates}"
        )


def update_status(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, source_file: str, now: datetime
) -> None:
    """Set the ``status`` of loaded order lines (``order_id``, ``line_no``, ``status``)."""
    if lines.height == 0:
        return
    with registered(con, lines.select("order_id", "line_no", "status")) as name:
        con.execute(
            f"UPDATE order_lines t SET status = s.status, source_file = ?, loaded_at = ? "
            f"FROM {name} s WHERE {_on(('order_id', 'line_no'))}",
            [source_file, now],
        )


def append_status_history(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, source_file: str, now: datetime
) -> None:
    """Append (``order_id``, ``line_no``, ``seq``, ``status``) to the status history."""
    if events.height == 0:
        return
    with registered(con, events.select("order_id", "line_no", "seq", "status")) as name:
        con.execute(
            "INSERT INTO order_line_status_history "
            "(order_id, line_no, seq, status, recorded_at, source_file) "
            f"SELECT order_id, line_no, seq, status, ?, ? FROM {name}",
            [now, source_file],
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
    """Record ``rows`` (``row_number``, ``raw``, ``reason``); a row already there stays."""
    if rows.height == 0:
        return
    with registered(con, rows.select("row_number", "raw", "reason")) as name:
        con.execute(
            "INSERT INTO quarantine "
            "(kind, source_file, source_sha256, row_number, raw, reason, quarantined_at) "
            f"SELECT ?, ?, ?, row_number, raw, reason, ? FROM {name} "
            "ON CONFLICT (source_sha256, row_number) DO NOTHING",
            [kind, source_file, sha256, now],
        )


def resolve_quarantine(
    con: duckdb.DuckDBPyConnection, sha256: str, row_numbers: pl.Series, now: datetime
) -> None:
    """Mark the quarantined rows of a file that have now been loaded as resolved."""
    if row_numbers.len() == 0:
        return
    with registered(con, pl.DataFrame({"row_number": row_numbers})) as name:
        con.execute(
            "UPDATE quarantine SET resolved_at = ? WHERE source_sha256 = ? "
            f"AND resolved_at IS NULL AND row_number IN (SELECT row_number FROM {name})",
            [now, sha256],
        )


def record_file(
    con: duckdb.DuckDBPyConnection,
    *,
    sha256: str,
    source_file: str,
    kind: str,
    encoding: str | None,
    rows_read: int,
    loaded: int,
    unchanged: int,
    updated: int,
    quarantined: int,
    now: datetime,
) -> None:
    """Append the file's ingestion to ``ingested_files``."""
    con.execute(
        "INSERT INTO ingested_files (source_sha256, source_file, kind, encoding, rows_read, "
        "loaded, unchanged, updated, quarantined, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sha256,
            source_file,
            kind,
            encoding,
            rows_read,
            loaded,
            unchanged,
            updated,
            quarantined,
            now,
        ],
    )
