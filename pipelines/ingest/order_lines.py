"""Deciding order line loads: orders headers, status changes and their history.

Within a file, repeated keys are taken in occurrence order: an identical
repeat is unchanged, a repeat differing only in ``status`` is a status
change, any other difference is quarantined (the first occurrence wins).
Against the database, a loaded key with only another status is a status
change (counted as loaded and updated) when the file is newer news than the
file that set the loaded status (:mod:`pipelines.ingest.freshness`); an older
file's status is already superseded (unchanged). With other differences the
row is quarantined. A loaded line missing its ``vehicle_model_id`` (a file
that arrived cut) takes it from a later row that has it (updated).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from pipelines.ingest.common import (
    INSERTED,
    OLDER,
    OUTCOME,
    UNCHANGED,
    UPDATED,
    LoadContext,
    outcomes,
    shanghai_date,
)
from pipelines.ingest.compare import compare_loaded
from pipelines.ingest.freshness import file_version, loaded_versions
from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import add_reasons, flag_in_file_duplicates, ok, quoted
from warehouse.loading_types import Decision, Existing, ExistingQuery, LoadedQuery, TableWrite

KEY = ("order_id", "line_no")
# What makes a line the same line (status may change; DATA_FORMATS.md).
CONTENT = ("ordered_at", "store_id", "sku", "quantity", "unit_price", "channel")
ORDER_FIELDS = ("store_id", "channel", "ordered_at")
#: Where the loaded status came from: how new it is (``freshness``).
STATUS_SOURCE = ("status", "source_file", "loaded_at")
#: Optional fields a later row fills when the loaded line lacks them.
FILLABLE = ("vehicle_model_id",)
#: A row that changes its line's status (a fill alone is updated too, but changes none).
CHANGED = "__status_changed"
LINE_COLUMNS = (
    "order_id",
    "line_no",
    "ordered_at",
    "demand_date",
    "store_id",
    "warehouse_id",
    "sku",
    "quantity",
    "unit_price",
    "channel",
    "status",
    "vehicle_model_id",
    "source_file",
    "loaded_at",
)
ORDER_COLUMNS = (
    "order_id",
    "store_id",
    "warehouse_id",
    "channel",
    "ordered_at",
    "demand_date",
    "vehicle_model_id",
)


def order_lines_query(spec: KindSpec, rows: pl.DataFrame, query: ExistingQuery) -> ExistingQuery:
    """Add to ``query`` what the file's keys, orders and stores already have loaded."""
    keys = rows.select(KEY).drop_nulls()
    return replace(
        query,
        loaded=LoadedQuery("order_lines", keys, (*CONTENT, *STATUS_SOURCE, *FILLABLE)),
        stores=rows["store_id"].drop_nulls(),
        orders=rows["order_id"].drop_nulls(),
        line_history=keys,
    )


def _serving_warehouse(rows: pl.DataFrame, serving: pl.DataFrame) -> pl.DataFrame:
    """Check a given ``warehouse_id`` against the store's and use the store's."""
    rows = rows.join(serving, on="store_id", how="left", maintain_order="left")
    given, store = pl.col("warehouse_id"), pl.col("serving_warehouse_id")
    rows = add_reasons(
        rows,
        [
            (
                given.is_not_null() & store.is_not_null() & (given != store),
                pl.format(
                    "warehouse_id: {} is not the serving warehouse of store {} ({})",
                    quoted(given),
                    quoted(pl.col("store_id")),
                    quoted(store),
                ),
            )
        ],
    )
    return rows.with_columns(store.alias("warehouse_id")).drop("serving_warehouse_id")


def _order_consistency(rows: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """Quarantine lines disagreeing with their order's loaded header or first line."""
    loaded = orders.select("order_id", *ORDER_FIELDS).rename(
        {c: f"order_{c}" for c in ORDER_FIELDS}
    )
    rows = rows.join(loaded, on="order_id", how="left", maintain_order="left").with_columns(
        pl.coalesce(pl.col(f"order_{c}"), pl.col(c).filter(ok()).first().over("order_id")).alias(
            f"expected_{c}"
        )
        for c in ORDER_FIELDS
    )
    differing = [
        pl.when(pl.col(c).ne_missing(pl.col(f"expected_{c}"))).then(pl.lit(c)) for c in ORDER_FIELDS
    ]
    fields = pl.concat_str(differing, separator=", ", ignore_nulls=True)
    whose = pl.when(pl.col("order_store_id").is_not_null()).then(
        pl.lit("order disagrees with its loaded order on ")
    )
    message = pl.concat_str(
        [whose.otherwise(pl.lit("order disagrees with its other lines on ")), fields]
    )
    rows = add_reasons(rows, [(ok() & (fields != ""), message)])
    return rows.drop(
        *(f"order_{c}" for c in ORDER_FIELDS), *(f"expected_{c}" for c in ORDER_FIELDS)
    )


def _with_kept_columns(loaded: pl.DataFrame) -> pl.DataFrame:
    """``loaded`` with the columns the decision keeps (null where a caller left one out)."""
    if loaded.width == 0:
        return loaded
    wanted: dict[str, pl.DataType] = {
        "status": pl.String(),
        "source_file": pl.String(),
        "loaded_at": pl.Datetime("us", "UTC"),
        "vehicle_model_id": pl.String(),
    }
    return loaded.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in wanted.items() if c not in loaded.columns
    )


def _sequence(
    rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Flag conflicts with loaded lines; return (the good rows classified, all rows)."""
    good = rows.filter(ok())
    compared = compare_loaded(
        good,
        _with_kept_columns(existing.loaded),
        KEY,
        CONTENT,
        time_zone=existing.time_zone,
        keep=(*STATUS_SOURCE, *FILLABLE),
    )
    rows = rows.join(compared, on=ROW_NUMBER, how="left", maintain_order="left")
    rows = add_reasons(
        rows,
        [(ok() & (pl.col("diff") != ""), pl.lit("conflicts with loaded row: ") + pl.col("diff"))],
    )
    good = rows.filter(ok())
    if good.select(pl.struct(KEY).is_duplicated().any()).item():
        previous = pl.coalesce(pl.col("status").shift(1).over(KEY), pl.col("loaded_status"))
        final = pl.col("status").last().over(KEY)
    else:  # the common case needs no window over the key
        previous, final = pl.col("loaded_status"), pl.col("status")
    decided = good.with_columns(
        pl.when(previous.is_null())
        .then(pl.lit(INSERTED))
        .when(pl.col("status") == previous)
        .then(pl.lit(UNCHANGED))
        .otherwise(pl.lit(UPDATED))
        .alias(OUTCOME),
        final.alias("final_status"),
    )
    decided = _keep_news(decided, existing.statuses, ctx)
    return _fill_missing(decided.with_columns((pl.col(OUTCOME) == UPDATED).alias(CHANGED))), rows


def _keep_news(decided: pl.DataFrame, recorded: pl.DataFrame, ctx: LoadContext) -> pl.DataFrame:
    """A status change of a loaded line applies only when it is news.

    It is not when the file is older than the one that set the loaded status
    (:mod:`pipelines.ingest.freshness`): re-sending an older file after a newer
    one once turned 98 cancelled lines back to completed. Nor when this file
    applied it before (``recorded``: the statuses the history holds from this
    source file), so loading the same files again changes nothing. Either is
    already present (``OLDER``, ``UNCHANGED``).
    """
    change = (pl.col(OUTCOME) == UPDATED) & pl.col("present")
    if decided.filter(change).height == 0:
        return decided
    if ctx.replay:
        return _outcome_where(decided, change, UNCHANGED)
    version = file_version(ctx.source_file, ctx.now)
    stamped = loaded_versions(pl.col("loaded_source_file"), pl.col("loaded_loaded_at"), decided)
    newer_loaded = (pl.col("version_as_of") > version.as_of) | (
        (pl.col("version_as_of") == version.as_of) & (pl.col("version_name") > version.name)
    )
    decided = stamped.with_columns(newer_loaded.fill_null(False).alias("__superseded")).drop(
        "version_as_of", "version_name"
    )
    changes = decided.filter(change)
    seen = recorded.select(*KEY, "status").join(
        changes.select(*KEY, "status"), on=[*KEY, "status"], how="semi"
    )
    decided = decided.join(
        seen.unique().with_columns(pl.lit(True).alias("__seen")),
        on=[*KEY, "status"],
        how="left",
        maintain_order="left",
    )
    decided = _outcome_where(decided, change & pl.col("__superseded"), OLDER)
    decided = _outcome_where(decided, change & pl.col("__seen").fill_null(False), UNCHANGED)
    return decided.drop("__superseded", "__seen")


def _outcome_where(decided: pl.DataFrame, condition: pl.Expr, outcome: str) -> pl.DataFrame:
    return decided.with_columns(
        pl.when(condition).then(pl.lit(outcome)).otherwise(pl.col(OUTCOME)).alias(OUTCOME)
    )


def _fill_missing(decided: pl.DataFrame) -> pl.DataFrame:
    """A loaded line without a ``vehicle_model_id`` takes this file's (first row of the key).

    A file that arrived cut left the optional field empty; the complete file
    must not leave it so. Counted as updated; a loaded value is never blanked
    or replaced.
    """
    fills = pl.col("present") & pl.col("loaded_vehicle_model_id").is_null()
    fills = fills & pl.col("vehicle_model_id").is_not_null()
    first = decided.filter(fills).unique(KEY, keep="first", maintain_order=True)[ROW_NUMBER]
    filling = pl.col(ROW_NUMBER).is_in(first.implode())
    return decided.with_columns(
        filling.alias("__fills"),
        pl.when(filling).then(pl.lit(UPDATED)).otherwise(pl.col(OUTCOME)).alias(OUTCOME),
    )


def _new_orders(new_lines: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """One header per order not loaded yet, from its first new line."""
    headers = new_lines.unique("order_id", keep="first", maintain_order=True)
    if new_lines["vehicle_model_id"].null_count() < new_lines.height:
        models = (
            new_lines.filter(pl.col("vehicle_model_id").is_not_null())
            .unique("order_id", keep="first")
            .select("order_id", pl.col("vehicle_model_id").alias("__model"))
        )
        headers = headers.join(models, on="order_id", how="left").with_columns(
            pl.col("__model").alias("vehicle_model_id")
        )
    return headers.join(orders.select("order_id"), on="order_id", how="anti")


def _status_events(stamped: pl.DataFrame, seq_base: pl.DataFrame) -> pl.DataFrame:
    """The history entries: every insert and status change, numbered per line."""
    events = stamped.filter((pl.col(OUTCOME) == INSERTED) | pl.col(CHANGED))
    if events.select(pl.struct(KEY).is_duplicated().any()).item():
        nth = pl.col(ROW_NUMBER).cum_count().over(KEY)
    else:
        nth = pl.lit(1, pl.UInt32)
    events = events.with_columns(nth.alias("nth"))
    loaded = events.filter(pl.col("present").fill_null(False))
    if loaded.height == 0:
        return events.with_columns(pl.col("nth").alias("seq"))
    base = seq_base.join(loaded.select(KEY), on=list(KEY), how="semi")
    return events.join(base, on=list(KEY), how="left").with_columns(
        (pl.col("max_seq").fill_null(0) + pl.col("nth")).alias("seq")
    )


def _writes(decided: pl.DataFrame, existing: Existing, ctx: LoadContext) -> Decision:
    """The headers and lines to insert, the status changes and history events."""
    stamped = decided.with_columns(
        shanghai_date("ordered_at").alias("demand_date"),
        pl.lit(ctx.source_file).alias("source_file"),
        pl.lit(ctx.now).alias("loaded_at"),
    )
    new_lines = stamped.filter(pl.col(OUTCOME) == INSERTED).with_columns(
        pl.col("final_status").alias("status")
    )
    changes = stamped.filter(pl.col(CHANGED) & pl.col("present"))
    fills = stamped.filter(pl.col("__fills")).select(*KEY, *FILLABLE)
    return Decision(
        writes=(
            TableWrite("orders", _new_orders(new_lines, existing.orders).select(ORDER_COLUMNS)),
            TableWrite("order_lines", new_lines.select(LINE_COLUMNS)),
        ),
        status_changes=changes.unique(KEY, keep="last", maintain_order=True).select(*KEY, "status"),
        status_events=_status_events(stamped, existing.seq_base).select(*KEY, "seq", "status"),
        line_fills=fills,
    )


def decide_order_lines(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> Decision:
    """Decide an order lines file (see the module docstring); one outcome per row."""
    rows = _serving_warehouse(rows, existing.serving)
    rows = flag_in_file_duplicates(rows, KEY, [*CONTENT, "vehicle_model_id"])
    rows = _order_consistency(rows, existing.orders)
    decided, rows = _sequence(rows, existing, ctx)
    return replace(_writes(decided, existing, ctx), outcomes=outcomes(rows, decided))
