"""Loading returns: each against its loaded order line and the 90-day rule."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl

from pipelines.ingest.common import (
    INSERTED,
    OUTCOME,
    UNCHANGED,
    LoadContext,
    outcomes,
    shanghai_date,
)
from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.validate import Check, add_reasons, flag_in_file_duplicates, ok, quoted
from warehouse import loading

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


def load_returns(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, rows: pl.DataFrame, ctx: LoadContext
) -> pl.DataFrame:
    """Insert new returns that pass the line checks; a loaded identical return is unchanged."""
    rows = flag_in_file_duplicates(rows, spec.key, spec.content_columns)
    first = rows.filter(ok() & (pl.col(ROW_NUMBER) == pl.col("first_row")))
    compared = loading.compare_loaded(con, "returns", first, spec.key, spec.content_columns)
    rows = rows.join(compared, on=ROW_NUMBER, how="left", maintain_order="left")
    rows = add_reasons(
        rows,
        [(ok() & (pl.col("diff") != ""), pl.lit("conflicts with loaded row: ") + pl.col("diff"))],
    )
    lines = loading.return_lines(con, rows.filter(ok()), rows.filter(ok())["return_id"])
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
    loading.insert_rows(con, "returns", decided, COLUMNS)
    rest = rows.filter(ok() & ~new).with_columns(pl.lit(UNCHANGED).alias(OUTCOME))
    return outcomes(
        rows, pl.concat([decided.select(ROW_NUMBER, OUTCOME), rest.select(ROW_NUMBER, OUTCOME)])
    )
