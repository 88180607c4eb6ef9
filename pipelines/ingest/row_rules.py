"""Rules that span columns of one landing row: each gives a reason or null.

The kinds in :mod:`pipelines.ingest.kinds` name these in ``KindSpec.rules``.
"""

from __future__ import annotations

import polars as pl


def _reason_if(condition: pl.Expr, message: pl.Expr | str) -> pl.Expr:
    text = pl.lit(message) if isinstance(message, str) else message
    return pl.when(condition).then(text).otherwise(pl.lit(None, pl.String))


def dc_has_no_parent() -> pl.Expr:
    return _reason_if(
        (pl.col("kind") == "dc") & pl.col("parent_warehouse_id").is_not_null(),
        "parent_warehouse_id: must be empty for a DC",
    )


def forward_has_parent() -> pl.Expr:
    return _reason_if(
        (pl.col("kind") == "forward") & pl.col("parent_warehouse_id").is_null(),
        "parent_warehouse_id: missing (required for a forward warehouse)",
    )


def years_ordered() -> pl.Expr:
    return _reason_if(
        pl.col("year_to") < pl.col("year_from"),
        pl.format("year_to: must be >= year_from (got {} < {})", "year_to", "year_from"),
    )


def an_interval() -> pl.Expr:
    return _reason_if(
        pl.col("interval_km").is_null() & pl.col("interval_months").is_null(),
        "interval_km, interval_months: at least one is required",
    )


def first_of_month() -> pl.Expr:
    return _reason_if(
        pl.col("month").dt.day() != 1,
        pl.format("month: must be the first day of a month (got {})", pl.col("month")),
    )


def reserved_within_on_hand() -> pl.Expr:
    return _reason_if(
        pl.col("reserved") > pl.col("on_hand"),
        pl.format("reserved: must be <= on_hand (got {} > {})", "reserved", "on_hand"),
    )
