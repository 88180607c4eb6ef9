"""What ingestion reads from the warehouse and what it writes: frames and frozen types.

:func:`warehouse.loading.read_existing` answers an :class:`ExistingQuery` with
an :class:`Existing`; ``pipelines.ingest`` turns that into a :class:`Decision`
with polars alone; :func:`warehouse.loading.apply_decision` writes it. The
types live in ``warehouse`` (which never imports ``pipelines``) so both
sides share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

# Instances, not classes, beside it: a dict mixing the two does not type-check.
_UTC = pl.Datetime("us", "UTC")

# --- frame contracts ----------------------------------------------------------

SERVING = pl.Schema({"store_id": pl.String, "serving_warehouse_id": pl.String})
ORDER_HEADERS = pl.Schema(
    {"order_id": pl.String(), "store_id": pl.String(), "channel": pl.String(), "ordered_at": _UTC}
)
SEQ_BASE = pl.Schema({"order_id": pl.String, "line_no": pl.Int64, "max_seq": pl.Int64})
LINE_STATUSES = pl.Schema({"order_id": pl.String, "line_no": pl.Int64, "status": pl.String})
LINE_FILLS = pl.Schema({"order_id": pl.String, "line_no": pl.Int64, "vehicle_model_id": pl.String})
STATUS_EVENTS = pl.Schema(
    {"order_id": pl.String, "line_no": pl.Int64, "seq": pl.Int64, "status": pl.String}
)
RETURN_LINES = pl.Schema(
    {
        "order_id": pl.String(),
        "line_no": pl.Int64(),
        "line_store_id": pl.String(),
        "line_sku": pl.String(),
        "line_quantity": pl.Int64(),
        "line_status": pl.String(),
        "line_ordered_at": _UTC,
    }
)
LINE_RETURNS = pl.Schema(
    {"return_id": pl.String, "order_id": pl.String, "line_no": pl.Int64, "quantity": pl.Int64}
)
STOCK_LEVELS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "as_of": pl.Date,
        "known_as_of": pl.Date,
        "known_on_hand": pl.Int64,
        "known_reserved": pl.Int64,
        "known_in_transit": pl.Int64,
    }
)
QUARANTINE_ROWS = pl.Schema(
    {
        "row_number": pl.Int64,
        "raw": pl.String,
        "reason": pl.String,
        "row_key": pl.String,
        "raw_bytes": pl.Int64,
    }
)
KEYED_ROWS = pl.Schema({"row_number": pl.Int64, "row_key": pl.String})
OUTCOMES = pl.Schema({"row_number": pl.Int64, "outcome": pl.String, "reason": pl.String})


def _empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _no_rows() -> pl.Series:
    return pl.Series("row_number", [], pl.Int64)


# --- what to read, what was read, what to write -------------------------------


@dataclass(frozen=True)
class KeyQuery:
    """Which of ``values`` are keys of ``table.column`` (where ``filter_column = filter_value``)."""

    name: str
    table: str
    column: str
    values: pl.Series
    filter_column: str | None = None
    filter_value: str | None = None


@dataclass(frozen=True)
class LoadedQuery:
    """The loaded rows of ``table`` whose key is one of ``keys`` (its columns name the key)."""

    table: str
    keys: pl.DataFrame
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ExistingQuery:
    """What one file's decision needs to know; each part is read only when given.

    Every part names only keys found in the file, so a read stays bounded by
    the file's size, not the database's.
    """

    sha256: str
    source_file: str
    references: tuple[KeyQuery, ...] = ()
    #: The file's kind: whose quarantined rows may wait for one of its keys.
    kind: str = ""
    loaded: LoadedQuery | None = None
    #: ``store_id``s whose serving warehouse is needed (order lines).
    stores: pl.Series | None = None
    #: ``order_id``s whose loaded header is needed (order lines).
    orders: pl.Series | None = None
    #: (``order_id``, ``line_no``) whose status history is needed (order lines).
    line_history: pl.DataFrame | None = None
    #: (``order_id``, ``line_no``) that returns name (returns).
    return_lines: pl.DataFrame | None = None
    #: (``warehouse_id``, ``sku``, ``as_of``) whose known level is needed (stock).
    stock_days: pl.DataFrame | None = None


@dataclass(frozen=True)
class Existing:
    """The database state one file's load decision depends on, read before deciding.

    The defaults describe an empty warehouse, so a test can state only what
    matters to it.
    """

    #: A file with this SHA-256 was ingested before (its status events are applied).
    ingested_before: bool = False
    #: Row numbers of this file's rows still unresolved in quarantine.
    quarantined: pl.Series = field(default_factory=_no_rows)
    #: Unresolved quarantined rows of other files of the kind wait for a key to load.
    awaited: bool = False
    #: Per :class:`KeyQuery` name, the asked values that are known keys.
    known: Mapping[str, pl.Series] = field(default_factory=dict)
    #: Loaded rows matching the file's keys: the key and the asked columns.
    loaded: pl.DataFrame = field(default_factory=pl.DataFrame)
    serving: pl.DataFrame = field(default_factory=lambda: _empty(SERVING))
    orders: pl.DataFrame = field(default_factory=lambda: _empty(ORDER_HEADERS))
    #: The last status-history ``seq`` of each line.
    seq_base: pl.DataFrame = field(default_factory=lambda: _empty(SEQ_BASE))
    #: The statuses the history holds from this very source file.
    statuses: pl.DataFrame = field(default_factory=lambda: _empty(LINE_STATUSES))
    lines: pl.DataFrame = field(default_factory=lambda: _empty(RETURN_LINES))
    #: The loaded returns of those lines.
    line_returns: pl.DataFrame = field(default_factory=lambda: _empty(LINE_RETURNS))
    #: The latest level on or before each asked day (``known_*`` null if none).
    levels: pl.DataFrame = field(default_factory=lambda: _empty(STOCK_LEVELS))
    #: The session time zone DuckDB renders timestamps in; reasons quote
    #: loaded values the way DuckDB shows them.
    time_zone: str = "UTC"


@dataclass(frozen=True)
class TableWrite:
    """Rows to write to ``table``: exactly the columns written; with ``key``, a
    row whose key is loaded updates it (upsert), else every row is new."""

    table: str
    rows: pl.DataFrame
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Everything one file's load writes, and each row's outcome for the report.

    ``writes`` apply in order (an order header before its lines).
    ``status_changes`` (``order_id``, ``line_no``, ``status``) update loaded
    lines; ``status_events`` are appended to their history; ``line_fills``
    (``order_id``, ``line_no``, ``vehicle_model_id``) set the field on loaded
    lines (and their orders) that lack it. ``quarantine``
    rows are recorded (a row already there stays); ``resolved`` row numbers of
    this file leave quarantine (loaded); ``loaded_keys`` (``row_number``,
    ``row_key``) are the keys this file loaded, which resolve quarantined rows
    of other files waiting for them (superseded).
    """

    outcomes: pl.DataFrame = field(default_factory=lambda: _empty(OUTCOMES))
    writes: tuple[TableWrite, ...] = ()
    status_changes: pl.DataFrame = field(default_factory=lambda: _empty(LINE_STATUSES))
    status_events: pl.DataFrame = field(default_factory=lambda: _empty(STATUS_EVENTS))
    line_fills: pl.DataFrame = field(default_factory=lambda: _empty(LINE_FILLS))
    quarantine: pl.DataFrame = field(default_factory=lambda: _empty(QUARANTINE_ROWS))
    resolved: pl.Series = field(default_factory=_no_rows)
    loaded_keys: pl.DataFrame = field(default_factory=lambda: _empty(KEYED_ROWS))


@dataclass(frozen=True)
class FileRecord:
    """One file's ingestion, as ``ingested_files`` keeps it."""

    sha256: str
    source_file: str
    kind: str
    encoding: str | None
    rows_read: int
    loaded: int
    unchanged: int
    updated: int
    quarantined: int
