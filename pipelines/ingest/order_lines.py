"""Deciding order line loads: orders headers, status changes and their history.

Within a file, repeated keys are taken in occurrence order: an identical
repeat is unchanged, a repeat differing only in ``status`` is a status
change, any other difference is quarantined (the first occurrence wins).
Against the database, a loaded key with only another status is a status
change (counted as loaded and updated); with other differences it is
quarantined.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from pipelines.ingest.common import (
    INSERTED,
    OUTCOME,
    UNCHANGED,
    UPDATED,
    LoadContext,
    outcomes,
    shanghai_date,
)
from pipelines.ingest.compare import compare_loaded
from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import add_reasons, flag_in_file_duplicates, ok, quoted
from warehouse.loading_types import Decision, Existing, ExistingQuery, LoadedQuery, TableWrite

KEY = ("order_id", "line_no")
# What makes a line the same line (status may change; DATA_FORMATS.md).
CONTENT = ("ordered_at", "store_id", "sku", "quantity", "unit_price", "channel")
ORDER_FIELDS = ("store_id", "channel", "ordered_at")
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
        loaded=LoadedQuery("order_lines", keys, (*CONTENT, "status")),
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


def _sequence(
    rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Flag conflicts with loaded lines; return (the good rows classified, all rows)."""
    good = rows.filter(ok())
    compared = compare_loaded(
        good, existing.loaded, KEY, CONTENT, time_zone=existing.time_zone, keep=("status",)
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
    return _skip_replayed_changes(decided, existing.statuses, ctx), rows


def _skip_replayed_changes(
    decided: pl.DataFrame, recorded: pl.DataFrame, ctx: LoadContext
) -> pl.DataFrame:
    """Status changes this file has applied before are already present.

    Without this, re-loading an older file after a newer one changed a
    status would flip the status back: loading the same files again must
    change nothing. ``recorded``: the statuses the history holds from this
    source file.
    """
    change = (pl.col(OUTCOME) == UPDATED) & pl.col("present")
    if ctx.replay:
        replayed = change
    else:
        changes = decided.filter(change)
        if changes.height == 0:
            return decided
        seen = recorded.select(*KEY, "status").join(
            changes.select(*KEY, "status"), on=[*KEY, "status"], how="semi"
        )
        if seen.height == 0:
            return decided
        decided = decided.join(
            seen.unique().with_columns(pl.lit(True).alias("__seen")),
            on=[*KEY, "status"],
            how="left",
            maintain_order="left",
        )
        replayed = change & pl.col("__seen").fill_null(False)
    return decided.with_columns(
        pl.when(replayed).then(pl.lit(UNCHANGED)).otherwise(pl.col(OUTCOME)).alias(OUTCOME)
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
    events = stamped.filter(pl.col(OUTCOME).is_in([INSERTED, UPDATED]))
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
    changes = stamped.filter((pl.col(OUTCOME) == UPDATED) & pl.col("present"))
    return Decision(
        writes=(
            TableWrite("orders", _new_orders(new_lines, existing.orders).select(ORDER_COLUMNS)),
            TableWrite("order_lines", new_lines.select(LINE_COLUMNS)),
        ),
        status_changes=changes.unique(KEY, keep="last", maintain_order=True).select(*KEY, "status"),
        status_events=_status_events(stamped, existing.seq_base).select(*KEY, "seq", "status"),
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
