"""The operational store as a landing source: its part orders and returns become demand.

API.md: orders placed through the API are demand like the OMS's. Each night
the store's changes (``ops.exports.read_changes``) are turned into rows of
the ``order_lines`` and ``returns`` landing kinds, as strings exactly as a
reader returns a file, and go through the same validation, quarantine and
idempotent upsert as a landing file (:func:`pipelines.ingest.ingest.process_rows`),
with ``ops:<url without password>`` where a file's path is recorded.

Mapping (``docs/DATA_FORMATS.md``, "The night reads the store"):

* An order line: ``ordered_at`` = the order's ``created_at`` (the demand day
  is its Asia/Shanghai date, as for every line); ``channel`` ``store`` (a store
  system placed it); ``status`` from :data:`ORDER_STATUS` (confirmed,
  dispatched and delivered are asked-for units, ``completed``; ``cancelled``
  stays cancelled, a status change when the line was loaded before);
  ``unit_price``: the store keeps none, so a line is recorded at its SKU's
  list price when first loaded and keeps that price after
  (``warehouse.ops_intake.line_prices``); ``warehouse_id`` is left empty, so
  the line is the demand of its store's serving warehouse, as every landing
  line is (a line the API served from a neighbour is still the own
  warehouse's demand: the neighbour covered its stock-out);
  ``vehicle_model_id`` only when the catalogue knows it (the API does not
  check it, and an unknown one would quarantine the demand with it).
* A return names an order and a SKU; the history names an order line. Each
  (order, SKU)'s returns, oldest first, fill its lines in line order: a
  return spanning two lines becomes two rows, ``<return_id>`` and
  ``<return_id>#2``. ``reason`` is the store's text when it is one of the
  landing reasons, else ``other``.

Idempotency: a night reads the orders updated, and the returns created, since
its previous read of the same store less :data:`REREAD` (a transaction still
open then, or a clock of another host a little behind, is not missed); rows
read twice are unchanged the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from ops.exports import StoreChanges
from pipelines.ingest.common import (
    INSERTED,
    OLDER,
    OUTCOME,
    QUARANTINED,
    UNCHANGED,
    UPDATED,
    LoadContext,
)
from pipelines.ingest.ingest import process_rows
from pipelines.ingest.kinds import SPECS, VEHICLE_MODEL, KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from warehouse import frames, loading, ops_intake
from warehouse.loading_types import FileRecord, KeyQuery

#: The store's order status → the order-line status of the landing kind.
ORDER_STATUS = {
    "confirmed": "completed",
    "dispatched": "completed",
    "delivered": "completed",
    "cancelled": "cancelled",
}
#: Every order placed through the API comes from a store system.
CHANNEL = "store"
#: A return's reason when the store's text is not one of the landing kind's.
OTHER_REASON = "other"
#: How far before the previous read of the store the next one starts.
REREAD = timedelta(hours=1)

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.f%:z"
_ORDER_COLUMNS = SPECS["order_lines"].column_names
_RETURN_COLUMNS = SPECS["returns"].column_names

#: Reads the store's changes since (orders updated, returns created); None: everything.
Reader = Callable[[datetime | None, datetime | None], StoreChanges]


def order_line_rows(
    lines: pl.DataFrame, prices: pl.DataFrame, known_models: pl.Series
) -> pl.DataFrame:
    """The store's order lines as ``order_lines`` landing rows (strings, ``row_number``).

    Parameters
    ----------
    lines
        ``ops.exports.ORDER_LINES``.
    prices
        ``warehouse.ops_intake.LINE_PRICES`` for those lines (a missing price
        quarantines its line).
    known_models
        The vehicle models the catalogue knows; another is left out.

    Returns
    -------
    pl.DataFrame
        The landing kind's columns as strings, by order and line, and ``row_number``.
    """
    known = known_models.cast(pl.String).implode()
    model = pl.col("vehicle_model_id")
    rows = lines.sort("order_id", "line_no").join(
        prices, on=["order_id", "line_no"], how="left", maintain_order="left"
    )
    return _numbered(
        rows.select(
            pl.col("order_id"),
            pl.col("line_no").cast(pl.String),
            pl.col("created_at").dt.to_string(_TIMESTAMP).alias("ordered_at"),
            pl.col("store_id"),
            pl.col("sku"),
            pl.col("quantity").cast(pl.String),
            pl.col("unit_price").cast(pl.String),
            pl.lit(CHANNEL).alias("channel"),
            pl.col("status").replace_strict(ORDER_STATUS, default=pl.col("status")),
            pl.lit(None, pl.String).alias("warehouse_id"),
            pl.when(model.is_in(known)).then(model).alias("vehicle_model_id"),
        ).select(_ORDER_COLUMNS)
    )


def return_rows(returns: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The store's returns as ``returns`` landing rows, each on the order lines it takes back.

    Per (order, SKU) the returns, oldest first, take the units of the lines in
    line order (the last line takes any excess, which ingestion refuses). A
    return without a line of its SKU keeps an empty ``line_no`` (quarantined).

    Parameters
    ----------
    returns
        ``ops.exports.RETURNS``: every return of each (order, SKU) concerned,
        so the split of the newest comes out the same every night.
    lines
        ``ops.exports.ORDER_LINES`` of those orders.
    """
    pair = ["order_id", "sku"]
    line_end = pl.col("quantity").cum_sum().over(pair)
    spans = (
        lines.sort("order_id", "sku", "line_no")
        .with_columns(line_end.alias("line_end"))
        .select(
            *pair,
            "line_no",
            (pl.col("line_end") - pl.col("quantity")).alias("line_start"),
            # The last line of a SKU is open-ended: an excess lands on it and is refused there.
            pl.when(pl.col("line_no") == pl.col("line_no").last().over(pair))
            .then(None)
            .otherwise(pl.col("line_end"))
            .alias("line_end"),
        )
    )
    taken = (
        returns.sort("order_id", "sku", "created_at", "return_id")
        .with_columns(line_end.alias("end"))
        .with_columns((pl.col("end") - pl.col("quantity")).alias("start"))
        .join(spans, on=pair, how="left")
    )
    part = pl.min_horizontal("end", pl.coalesce("line_end", "end")) - pl.max_horizontal(
        "start", "line_start"
    )
    parts = (
        taken.with_columns(part.alias("part"))
        .filter(pl.col("line_no").is_null() | (pl.col("part") > 0))
        .sort("created_at", "return_id", "line_no")
        .with_columns((pl.int_range(pl.len()) + 1).over("return_id").alias("nth"))
    )
    reason = pl.col("reason").str.strip_chars().str.to_lowercase()
    allowed = list(SPECS["returns"].column("reason").enum)
    return _numbered(
        parts.select(
            pl.when(pl.col("nth") > 1)
            .then(pl.format("{}#{}", "return_id", "nth"))
            .otherwise(pl.col("return_id"))
            .alias("return_id"),
            pl.col("order_id"),
            pl.col("line_no").cast(pl.String),
            pl.col("store_id"),
            pl.col("sku"),
            pl.coalesce("part", "quantity").cast(pl.String).alias("quantity"),
            pl.col("created_at").dt.to_string(_TIMESTAMP).alias("returned_at"),
            pl.when(reason.is_in(allowed)).then(reason).otherwise(pl.lit(OTHER_REASON)),
        ).select(_RETURN_COLUMNS)
    )


def _numbered(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_row_index(ROW_NUMBER, offset=1).with_columns(pl.col(ROW_NUMBER).cast(pl.Int64))


@dataclass(frozen=True)
class KindReport:
    """One kind taken in from the store: the rows read and what became of them."""

    kind: str
    since: datetime | None
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def __post_init__(self) -> None:
        assert self.loaded + self.unchanged + self.quarantined == self.rows_read, self
        assert self.updated <= self.loaded, self

    def render(self) -> str:
        since = self.since.isoformat() if self.since else "the beginning"
        return (
            f"{self.kind} since {since}: read {self.rows_read}, loaded {self.loaded} "
            f"(updated {self.updated}), unchanged {self.unchanged}, "
            f"quarantined {self.quarantined}"
        )


@dataclass(frozen=True)
class StoreReport:
    """One night's intake of the store: order lines, then returns."""

    source: str
    kinds: tuple[KindReport, ...]

    def total(self, field_name: str) -> int:
        """The sum of a count (``rows_read``, ``loaded``, ...) over the kinds."""
        return sum(int(getattr(k, field_name)) for k in self.kinds)

    def render(self) -> str:
        return f"{self.source}: " + "; ".join(k.render() for k in self.kinds)


def ingest_store(
    con: duckdb.DuckDBPyConnection,
    source: str,
    read: Reader,
    *,
    now: datetime | None = None,
    reread: timedelta = REREAD,
) -> StoreReport:
    """Take in what changed in the operational store since it was last read.

    Parameters
    ----------
    con
        An open warehouse (master data loaded: stores and SKUs are checked).
    source
        The store's name in ``source_file`` (``ops.exports.source_name``); the
        watermark is kept per source.
    read
        Reads the store's changes since the two moments it is given.
    now
        The ingestion moment (default: now), taken before the store is read:
        the next night reads again from it (less ``reread``).
    reread
        How far before the previous read the next one starts.

    Returns
    -------
    StoreReport
        Per kind (order lines first: returns reference them), each loaded in
        one transaction with its ``ingested_files`` record.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    since = {
        kind: _since(ops_intake.last_ingested(con, source, kind), reread)
        for kind in ("order_lines", "returns")
    }
    changes = read(since["order_lines"], since["returns"])
    lines = changes.lines
    prices = ops_intake.line_prices(con, lines)
    models = loading.known_keys(
        con,
        KeyQuery(
            VEHICLE_MODEL.label,
            VEHICLE_MODEL.table,
            VEHICLE_MODEL.column,
            lines["vehicle_model_id"].drop_nulls(),
        ),
    )
    rows = {
        "order_lines": order_line_rows(lines, prices, models),
        "returns": return_rows(changes.returns, changes.returned_lines),
    }
    return StoreReport(
        source,
        tuple(
            _load(con, SPECS[kind], strings, source, moment, since[kind])
            for kind, strings in rows.items()
        ),
    )


def _since(last: datetime | None, reread: timedelta) -> datetime | None:
    return None if last is None else last.astimezone(UTC) - reread


def _load(
    con: duckdb.DuckDBPyConnection,
    spec: KindSpec,
    strings: pl.DataFrame,
    source: str,
    now: datetime,
    since: datetime | None,
) -> KindReport:
    """Load one kind's rows like a file, in one transaction, and record the read.

    The rows are not a replay of an earlier read (``replay=False``): each read
    is the store's state, whose status changes apply unless the line already
    has that status. Their digest stands for a file's: quarantined rows are
    kept under it.
    """
    digest = hashlib.sha256(
        f"{source}\n{spec.name}\n".encode() + strings.write_csv().encode()
    ).hexdigest()
    ctx = LoadContext(source, digest, now, replay=False)
    with frames.transaction(con):
        counts = dict.fromkeys((INSERTED, UPDATED, UNCHANGED, OLDER, QUARANTINED), 0)
        if strings.height:
            outcomes = process_rows(con, spec, strings, ctx)[OUTCOME].value_counts()
            counts |= {str(outcome): int(n) for outcome, n in outcomes.iter_rows()}
        report = KindReport(
            spec.name,
            since,
            rows_read=strings.height,
            loaded=counts[INSERTED] + counts[UPDATED],
            updated=counts[UPDATED],
            unchanged=counts[UNCHANGED] + counts[OLDER],
            quarantined=counts[QUARANTINED],
        )
        record = FileRecord(
            digest,
            ctx.source_file,
            spec.name,
            None,
            report.rows_read,
            report.loaded,
            report.unchanged,
            report.updated,
            report.quarantined,
        )
        loading.record_file(con, record, ctx.now)
    return report
