"""Deciding master data loads (upserts) and stock counts (history of levels)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from pipelines.ingest.common import INSERTED, OUTCOME, UNCHANGED, UPDATED, LoadContext, outcomes
from pipelines.ingest.compare import compare_loaded
from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import flag_in_file_duplicates, ok
from warehouse.loading_types import Decision, Existing, ExistingQuery, LoadedQuery, TableWrite

_LEVELS = ("on_hand", "reserved", "in_transit")
_STOCK_DAY = ("warehouse_id", "sku", "as_of")


def _first_occurrences(rows: pl.DataFrame, spec: KindSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(all rows with in-file duplicates flagged, the good first occurrences)."""
    rows = flag_in_file_duplicates(rows, spec.key, spec.content_columns)
    first = rows.filter(ok() & (pl.col(ROW_NUMBER) == pl.col("first_row")))
    return rows, first


def master_query(spec: KindSpec, rows: pl.DataFrame, query: ExistingQuery) -> ExistingQuery:
    """Add to ``query`` the loaded records with the keys of ``rows``."""
    keys = rows.select(spec.key).drop_nulls()
    return replace(query, loaded=LoadedQuery(spec.table, keys, spec.content_columns))


def decide_master(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> Decision:
    """Upsert a master data snapshot: new keys insert, changed records update.

    Outcomes cover every row; a repeat of an identical row in the file is
    unchanged.
    """
    rows, first = _first_occurrences(rows, spec)
    compared = compare_loaded(
        first, existing.loaded, spec.key, spec.content_columns, time_zone=existing.time_zone
    )
    decided = first.join(compared, on=ROW_NUMBER, how="left").with_columns(
        pl.when(~pl.col("present"))
        .then(pl.lit(INSERTED))
        .when(pl.col("diff") == "")
        .then(pl.lit(UNCHANGED))
        .otherwise(pl.lit(UPDATED))
        .alias(OUTCOME)
    )
    changed = decided.filter(pl.col(OUTCOME) != UNCHANGED).select(spec.column_names)
    return Decision(
        outcomes=outcomes(rows, decided), writes=(TableWrite(spec.table, changed, spec.key),)
    )


def stock_query(spec: KindSpec, rows: pl.DataFrame, query: ExistingQuery) -> ExistingQuery:
    """Add to ``query`` the known level of every (warehouse, sku, day) of ``rows``."""
    return replace(query, stock_days=rows.select(_STOCK_DAY).drop_nulls())


def decide_stock(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> Decision:
    """Load a stock count into the level history.

    A row is stored only when its levels differ from the level known for its
    warehouse and sku on its ``as_of`` (the latest row on or before that day,
    counting earlier rows of the same file). A different count for a day
    already stored is a correction: the row is updated.
    """
    rows, first = _first_occurrences(rows, spec)
    group = ["warehouse_id", "sku"]
    ordered = (
        first.join(existing.levels, on=list(_STOCK_DAY), how="left")
        .sort([*group, "as_of"])
        .with_columns(
            pl.col("as_of").shift(1).over(group).alias("prev_as_of"),
            *(pl.col(c).shift(1).over(group).alias(f"prev_{c}") for c in _LEVELS),
        )
    )
    exact = pl.col("known_as_of") == pl.col("as_of")
    use_file = pl.col("prev_as_of").is_not_null() & (
        pl.col("known_as_of").is_null() | (pl.col("prev_as_of") > pl.col("known_as_of"))
    )
    reference = {
        c: pl.when(exact | ~use_file).then(pl.col(f"known_{c}")).otherwise(pl.col(f"prev_{c}"))
        for c in _LEVELS
    }
    same = pl.all_horizontal(pl.col(c).eq_missing(reference[c]) for c in _LEVELS)
    decided = ordered.with_columns(
        pl.when(same)
        .then(pl.lit(UNCHANGED))
        .when(exact)
        .then(pl.lit(UPDATED))
        .otherwise(pl.lit(INSERTED))
        .alias(OUTCOME)
    )
    changed = decided.filter(pl.col(OUTCOME) != UNCHANGED).select(
        *spec.column_names,
        pl.lit(ctx.source_file).alias("source_file"),
        pl.lit(ctx.now).alias("loaded_at"),
    )
    return Decision(
        outcomes=outcomes(rows, decided), writes=(TableWrite(spec.table, changed, spec.key),)
    )
