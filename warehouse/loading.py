"""All SQL of ingestion: one read of what is loaded, one write of what was decided.

Ingesting a file is three steps. :func:`read_existing` fetches, in one call,
everything the load decision needs to know about the database for this
file's rows (an ``ExistingQuery`` says which keys); ``pipelines.ingest`` then
decides, with polars only, what to write (a ``Decision``); and
:func:`apply_decision` writes it inside the file's transaction, followed by
:func:`record_file`. Those types are in :mod:`warehouse.loading_types`; the
quarantine's statements in :mod:`warehouse.quarantine`.

Frames are handed to DuckDB by registration (no copy); table and column
names are checked as identifiers before they reach a statement, values
always travel as parameters or registered frames.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import astuple
from datetime import datetime

import duckdb
import polars as pl

from warehouse.frames import registered, utc_frame
from warehouse.loading_types import (
    LINE_FILLS,
    LINE_RETURNS,
    LINE_STATUSES,
    ORDER_HEADERS,
    RETURN_LINES,
    SEQ_BASE,
    SERVING,
    STATUS_EVENTS,
    STOCK_LEVELS,
    Decision,
    Existing,
    ExistingQuery,
    FileRecord,
    KeyQuery,
    LoadedQuery,
    TableWrite,
)
from warehouse.quarantine import quarantine_rows, resolve_quarantine, resolve_superseded

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

# --- SQL helpers --------------------------------------------------------------


def _q(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _cols(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + _q(n) for n in names)


def _on(key: Sequence[str], left: str = "s", right: str = "t") -> str:
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in key)


# --- the read -----------------------------------------------------------------


def known_keys(con: duckdb.DuckDBPyConnection, query: KeyQuery) -> pl.Series:
    """The values of ``query.values`` found in ``query.table.query.column``."""
    column = _q(query.column)
    where, params = "", []
    if query.filter_column is not None:
        where, params = f" WHERE t.{_q(query.filter_column)} = ?", [query.filter_value]
    values = pl.DataFrame({"value": query.values.cast(pl.String).drop_nulls().unique()})
    with registered(con, values) as name:
        sql = (
            f"SELECT DISTINCT t.{column} AS key FROM {_q(query.table)} t "
            f"JOIN {name} s ON s.value = t.{column}{where}"
        )
        return utc_frame(con.sql(sql, params=params))["key"]


def _loaded_rows(con: duckdb.DuckDBPyConnection, query: LoadedQuery) -> pl.DataFrame:
    key = query.keys.columns
    with registered(con, query.keys.unique()) as name:
        return utc_frame(
            con.sql(
                f"SELECT {_cols(key, 't.')}, {_cols(query.columns, 't.')} "
                f"FROM {name} s JOIN {_q(query.table)} t ON {_on(key)}"
            )
        )


def known_stock_levels(con: duckdb.DuckDBPyConnection, days: pl.DataFrame) -> pl.DataFrame:
    """Per (``warehouse_id``, ``sku``, ``as_of``) of ``days``, in their order: the
    latest loaded level on or before that day (``known_as_of``, ``known_on_hand``,
    ``known_reserved``, ``known_in_transit``; null when none)."""
    source = days.select("warehouse_id", "sku", "as_of").with_row_index("__i")
    with registered(con, source) as name:
        return utc_frame(
            con.sql(
                "SELECT s.warehouse_id, s.sku, s.as_of, t.as_of AS known_as_of, "
                "t.on_hand AS known_on_hand, t.reserved AS known_reserved, "
                "t.in_transit AS known_in_transit "
                f"FROM {name} s ASOF LEFT JOIN stock_levels t "
                "ON s.warehouse_id = t.warehouse_id AND s.sku = t.sku AND s.as_of >= t.as_of "
                "ORDER BY s.__i"
            ),
            STOCK_LEVELS,
        )


def _by_keys(
    con: duckdb.DuckDBPyConnection,
    keys: pl.DataFrame,
    sql: str,
    schema: pl.Schema,
    params: Sequence[object] = (),
) -> pl.DataFrame:
    """Run ``sql`` with ``{keys}`` naming the distinct ``keys`` as a table."""
    with registered(con, keys.unique()) as name:
        return utc_frame(con.sql(sql.format(keys=name), params=list(params)), schema)


_LINE_ON = "k.order_id = {t}.order_id AND k.line_no = {t}.line_no"


def _line_history(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, source_file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the last ``seq`` of each line, the statuses recorded from ``source_file``)."""
    on = _LINE_ON.format(t="h")
    base = _by_keys(
        con,
        lines,
        "SELECT h.order_id, h.line_no, max(h.seq) AS max_seq "
        f"FROM order_line_status_history h JOIN {{keys}} k ON {on} GROUP BY ALL",
        SEQ_BASE,
    )
    statuses = _by_keys(
        con,
        lines,
        "SELECT DISTINCT h.order_id, h.line_no, h.status "
        f"FROM order_line_status_history h JOIN {{keys}} k ON {on} WHERE h.source_file = ?",
        LINE_STATUSES,
        [source_file],
    )
    return base, statuses


def _return_lines(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the loaded order lines named, the loaded returns of those lines)."""
    found = _by_keys(
        con,
        lines,
        "SELECT l.order_id, l.line_no, l.store_id AS line_store_id, l.sku AS line_sku, "
        "l.quantity AS line_quantity, l.status AS line_status, "
        "l.ordered_at AS line_ordered_at FROM order_lines l JOIN {keys} k ON "
        + _LINE_ON.format(t="l"),
        RETURN_LINES,
    )
    returns = _by_keys(
        con,
        lines,
        "SELECT r.return_id, r.order_id, r.line_no, r.quantity "
        "FROM returns r JOIN {keys} k ON " + _LINE_ON.format(t="r"),
        LINE_RETURNS,
    )
    return found, returns


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object]) -> object:
    return con.execute(sql, list(params)).fetchall()[0][0]


def read_existing(con: duckdb.DuckDBPyConnection, query: ExistingQuery) -> Existing:
    """Read what the database holds about one file's rows (see :class:`ExistingQuery`).

    Parameters
    ----------
    con
        The warehouse, inside the file's transaction.
    query
        The file's digest and name, and the keys of each part to read.

    Returns
    -------
    Existing
        The parts asked for; the others are left empty.
    """
    unresolved = utc_frame(
        con.sql(
            "SELECT row_number FROM quarantine WHERE source_sha256 = ? AND resolved_at IS NULL "
            "ORDER BY row_number",
            params=[query.sha256],
        )
    )["row_number"]
    seen = _scalar(
        con, "SELECT count(*) FROM ingested_files WHERE source_sha256 = ?", [query.sha256]
    )
    awaited = _scalar(
        con,
        "SELECT count(*) FROM quarantine WHERE kind = ? AND resolved_at IS NULL "
        "AND row_key IS NOT NULL AND source_sha256 <> ?",
        [query.kind, query.sha256],
    )
    parts: dict[str, pl.DataFrame] = {}
    if query.loaded is not None:
        parts["loaded"] = _loaded_rows(con, query.loaded)
    if query.stores is not None:
        keys = pl.DataFrame({"store_id": query.stores})
        stores = _loaded_rows(con, LoadedQuery("stores", keys, ("warehouse_id",)))
        parts["serving"] = stores.rename({"warehouse_id": "serving_warehouse_id"}).cast(SERVING)
    if query.orders is not None:
        keys = pl.DataFrame({"order_id": query.orders})
        columns = ("store_id", "channel", "ordered_at")
        parts["orders"] = _loaded_rows(con, LoadedQuery("orders", keys, columns)).cast(
            ORDER_HEADERS
        )
    if query.line_history is not None:
        parts["seq_base"], parts["statuses"] = _line_history(
            con, query.line_history, query.source_file
        )
    if query.return_lines is not None:
        parts["lines"], parts["line_returns"] = _return_lines(con, query.return_lines)
    if query.stock_days is not None:
        parts["levels"] = known_stock_levels(con, query.stock_days.unique(maintain_order=True))
    return Existing(
        ingested_before=bool(seen),
        quarantined=unresolved.cast(pl.Int64),
        awaited=bool(awaited),
        known={q.name: known_keys(con, q) for q in query.references},
        time_zone=str(_scalar(con, "SELECT current_setting('TimeZone')", [])),
        **parts,
    )


def ingested_rows(con: duckdb.DuckDBPyConnection, sha256: str, kind: str) -> int | None:
    """Rows read when a file with this digest was last ingested as ``kind`` (None: never)."""
    rows = con.execute(
        "SELECT rows_read FROM ingested_files WHERE source_sha256 = ? AND kind = ? "
        "ORDER BY ingested_at DESC LIMIT 1",
        [sha256, kind],
    ).fetchall()
    return int(rows[0][0]) if rows else None


#: When a table's key was first loaded, where the table keeps it (master data does not).
_FIRST_LOADED = {
    "order_lines": "(SELECT min(h.recorded_at) FROM order_line_status_history h "
    "WHERE h.order_id = t.order_id AND h.line_no = t.line_no)",
    "returns": "t.loaded_at",
    "stock_levels": "t.loaded_at",
}


def loaded_keys(con: duckdb.DuckDBPyConnection, table: str, keys: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``keys`` (its columns name the key of ``table``) that ``table`` holds,
    with ``loaded_at``: when the key was loaded (null where the table does not say)."""
    key = keys.columns
    when = _FIRST_LOADED.get(table, "NULL::TIMESTAMPTZ")
    with registered(con, keys.unique()) as name:
        return utc_frame(
            con.sql(
                f"SELECT {_cols(key, 's.')}, {when} AS loaded_at "
                f"FROM {name} s JOIN {_q(table)} t ON {_on(key)}"
            )
        )


# --- the write ----------------------------------------------------------------


def _write_rows(con: duckdb.DuckDBPyConnection, write: TableWrite) -> None:
    """Insert ``write.rows``; with a key, a known key's other columns are updated."""
    if write.rows.height == 0:
        return
    columns = write.rows.columns
    sql = f"INSERT INTO {_q(write.table)} ({_cols(columns)}) SELECT {_cols(columns)} FROM {{}}"
    if write.key:
        updates = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in columns if c not in write.key)
        sql += f" ON CONFLICT ({_cols(write.key)}) DO UPDATE SET {updates}"
    with registered(con, write.rows) as name:
        con.execute(sql.format(name))


def _update_status(
    con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, source_file: str, now: datetime
) -> None:
    """Set the ``status`` of loaded order lines (``order_id``, ``line_no``, ``status``)."""
    if lines.height == 0:
        return
    with registered(con, lines.select(*LINE_STATUSES)) as name:
        con.execute(
            f"UPDATE order_lines t SET status = s.status, source_file = ?, loaded_at = ? "
            f"FROM {name} s WHERE {_on(('order_id', 'line_no'))}",
            [source_file, now],
        )


def _fill_lines(con: duckdb.DuckDBPyConnection, fills: pl.DataFrame) -> None:
    """Set ``vehicle_model_id`` on loaded lines, and their orders, that have none."""
    if fills.height == 0:
        return
    with registered(con, fills.select(*LINE_FILLS)) as name:
        con.execute(
            f"UPDATE order_lines t SET vehicle_model_id = s.vehicle_model_id FROM {name} s "
            f"WHERE {_on(('order_id', 'line_no'))} AND t.vehicle_model_id IS NULL"
        )
        con.execute(
            "UPDATE orders t SET vehicle_model_id = s.vehicle_model_id FROM ("
            "SELECT order_id, arg_min(vehicle_model_id, line_no) AS vehicle_model_id "
            f"FROM {name} GROUP BY order_id) s "
            "WHERE t.order_id = s.order_id AND t.vehicle_model_id IS NULL"
        )


def _append_status_history(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, source_file: str, now: datetime
) -> None:
    """Append (``order_id``, ``line_no``, ``seq``, ``status``) to the status history."""
    if events.height == 0:
        return
    with registered(con, events.select(*STATUS_EVENTS)) as name:
        con.execute(
            "INSERT INTO order_line_status_history "
            "(order_id, line_no, seq, status, recorded_at, source_file) "
            f"SELECT order_id, line_no, seq, status, ?, ? FROM {name}",
            [now, source_file],
        )


def apply_decision(
    con: duckdb.DuckDBPyConnection,
    decision: Decision,
    *,
    kind: str,
    source_file: str,
    sha256: str,
    now: datetime,
) -> None:
    """Write one file's :class:`Decision` (call inside the file's transaction).

    Parameters
    ----------
    con
        The warehouse, inside the file's transaction.
    decision
        What to write.
    kind, source_file, sha256
        The file: stamped on status changes, history and quarantine rows.
    now
        The ingestion moment, stamped the same way.
    """
    for write in decision.writes:
        _write_rows(con, write)
    _update_status(con, decision.status_changes, source_file, now)
    _fill_lines(con, decision.line_fills)
    _append_status_history(con, decision.status_events, source_file, now)
    quarantine_rows(
        con, decision.quarantine, kind=kind, source_file=source_file, sha256=sha256, now=now
    )
    resolve_quarantine(con, sha256, decision.resolved, now)
    resolve_superseded(
        con, decision.loaded_keys, kind=kind, source_file=source_file, sha256=sha256, now=now
    )


def record_file(con: duckdb.DuckDBPyConnection, record: FileRecord, now: datetime) -> None:
    """Append the file's ingestion to ``ingested_files``."""
    con.execute(
        "INSERT INTO ingested_files (source_sha256, source_file, kind, encoding, rows_read, "
        "loaded, unchanged, updated, quarantined, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*astuple(record), now],
    )
