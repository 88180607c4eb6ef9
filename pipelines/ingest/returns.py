"""Deciding returns: each against its loaded order line and the 90-day rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from pipelines.ingest.common import (
    INSERTED,
    OUTCOME,
    UNCHANGED,
    LoadContext,
    outcomes,
    shanghai_date,
)
from pipelines.ingest.compare import compare_loaded
from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import Check, add_reasons, flag_in_file_duplicates, ok, quoted
from warehouse.loading_types import Decision, Existing, ExistingQuery, LoadedQuery, TableWrite

RETURN_WINDOW = timedelta(days=90)
LINE = ("order_id", "line_no")
COLUMNS = (
    "return_id",
    "order_id",
    "line_no",
    "store_id",
    "sku",
    "quantity",
    "returned_at",
    "return_date",
    "reason",
    "source_file",
    "loaded_at",
)


def _line_checks(new: pl.Expr) -> list[Check]:
    line = pl.format("order line ({}, {})", "order_id", "line_no")
    loaded = pl.col("line_status").is_not_null()
    return [
        (new & ~loaded, line + pl.lit(" is not loaded")),
        (new & (pl.col("line_status") == "cancelled"), line + pl.lit(" is cancelled")),
        (
            new & loaded & (pl.col("store_id") != pl.col("line_store_id")),
            pl.format(
                "store_id: {} is not the line's store {}",
                quoted(pl.col("store_id")),
                quoted(pl.col("line_store_id")),
            ),
        ),
        (
            new & loaded & (pl.col("sku") != pl.col("line_sku")),
            pl.format(
                "sku: {} is not the line's sku {}",
                quoted(pl.col("sku")),
                quoted(pl.col("line_sku")),
            ),
        ),
        (
            new & (pl.col("returned_at") < pl.col("line_ordered_at")),
            pl.lit("return before the order"),
        ),
        (
            new & (pl.col("returned_at") > pl.col("line_ordered_at") + RETURN_WINDOW),
            pl.lit("return after the 90-day window"),
        ),
    ]


def _quantities(rows: pl.DataFrame, new: pl.Expr) -> pl.DataFrame:
    """Quarantine new returns beyond the line's remaining quantity, in file order.

    Greedy: the first exceeding return of a line is refused, then the line
    is re-checked without it, so a later smaller return can still fit.
    """
    while True:
        returned = pl.col("returned_before") + pl.col("quantity").filter(ok()).cum_sum().over(LINE)
        cumulative = rows.filter(ok()).with_columns(returned.alias("__returned"))
        exceeding = cumulative.filter(new & (pl.col("__returned") > pl.col("line_quantity")))
        if exceeding.height == 0:
            return rows
        first = exceeding.group_by(LINE).agg(pl.col(ROW_NUMBER).min())[ROW_NUMBER]
        rows = add_reasons(
            rows,
            [
                (
                    pl.col(ROW_NUMBER).is_in(first.implode()),
                    pl.lit("returned quantity exceeds the line's remaining quantity"),
                )
            ],
        )


def returns_query(spec: KindSpec, rows: pl.DataFrame, query: ExistingQuery) -> ExistingQuery:
    """Add to ``query`` the loaded returns with the file's ids, and the lines returned."""
    return replace(
        query,
        loaded=LoadedQuery("returns", rows.select(spec.key).drop_nulls(), spec.content_columns),
        return_lines=rows.select(LINE).drop_nulls(),
    )


def _lines(existing: Existing, return_ids: pl.Series) -> pl.DataFrame:
    """The loaded lines with ``returned_before``: the units of their loaded returns
    other than ``return_ids`` (those are being decided now)."""
    others = existing.line_returns.filter(~pl.col("return_id").is_in(return_ids.implode()))
    returned = others.group_by(LINE).agg(pl.col("quantity").sum().alias("returned_before"))
    return existing.lines.join(returned, on=list(LINE), how="left").with_columns(
        pl.col("returned_before").fill_null(0).cast(pl.Int64)
    )


def decide_returns(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing, ctx: LoadContext
) -> Decision:
    """Insert new returns that pass the line checks; a loaded identical return is unchanged."""
    rows = flag_in_file_duplicates(rows, spec.key, spec.content_columns)
    first = rows.filter(ok() & (pl.col(ROW_NUMBER) == pl.col("first_row")))
    compared = compare_loaded(
        first, existing.loaded, spec.key, spec.content_columns, time_zone=existing.time_zone
    )
    rows = rows.join(compared, on=ROW_NUMBER, how="left", maintain_order="left")
    rows = add_reasons(
        rows,
        [(ok() & (pl.col("diff") != ""), pl.lit("conflicts with loaded row: ") + pl.col("diff"))],
    )
    lines = _lines(existing, rows.filter(ok())["return_id"])
    rows = rows.join(lines, on=list(LINE), how="left", maintain_order="left")
    new = ok() & (pl.col(ROW_NUMBER) == pl.col("first_row")) & ~pl.col("present").fill_null(True)
    rows = add_reasons(rows, _line_checks(new))
    rows = _quantities(rows, new)
    decided = rows.filter(new).with_columns(
        pl.lit(INSERTED).alias(OUTCOME),
        shanghai_date("returned_at").alias("return_date"),
        pl.lit(ctx.source_file).alias("source_file"),
        pl.lit(ctx.now).alias("loaded_at"),
    )
    rest = rows.filter(ok() & ~new).with_columns(pl.lit(UNCHANGED).alias(OUTCOME))
    return Decision(
        outcomes=outcomes(
            rows,
            pl.concat([decided.select(ROW_NUMBER, OUTCOME), rest.select(ROW_NUMBER, OUTCOME)]),
        ),
        writes=(TableWrite("returns", decided.select(COLUMNS)),),
    )
