"""Quarantined rows that a later load resolves: by their key, or loaded themselves.

A file that arrived cut (a row cut short, a field missing) has rows
quarantined; when the whole file arrives, its rows load and the cut rows of
the same keys are *superseded*: marked resolved, naming the row that loaded.
The key is kept with the quarantined row (``quarantine.row_key``, the JSON
of its typed values) so a load finds them with one join.

Only a row that would have brought a new key is resolved so: one whose key
was not loaded (nor loaded by another row of its file) when it was
quarantined. A row of a key already loaded was a change that failed (a
status change, a master data update) or a conflict (another quantity); that
the key is loaded serves neither, and it stays for a person to look at.
"""

from __future__ import annotations

import polars as pl

from pipelines.ingest.kinds import KindSpec
from pipelines.ingest.readers import ROW_NUMBER

ROW_KEY = "row_key"
#: How a reason starts when the row disagrees with a row of its key already loaded
#: or read (``order_lines``, ``returns``, ``validate.flag_in_file_duplicates``).
CONFLICTS = (
    "conflicts with loaded row",
    "duplicate key (",
    "order disagrees with its loaded order",
)


def row_key(spec: KindSpec) -> pl.Expr:
    """The key of a typed row as JSON (``{"order_id":"O1","line_no":1}``); null if a part is."""
    key = pl.struct(spec.key).struct.json_encode()
    return pl.when(pl.all_horizontal(pl.col(k).is_not_null() for k in spec.key)).then(key)


def supersedable(reason: pl.Expr) -> pl.Expr:
    """True where a row quarantined for ``reason`` is resolved by a later load of its key."""
    return ~pl.any_horizontal(reason.str.starts_with(c) for c in CONFLICTS)


def quarantined_keys(
    spec: KindSpec, rows: pl.DataFrame, reasons: pl.DataFrame, present: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``row_number`` and ``row_key`` (null when not supersedable) of quarantined rows.

    ``rows``: typed (``validate.parse_rows``); ``reasons``: ``row_number``,
    ``reason`` of the rows quarantined; ``present``: the keys loaded now
    (the key columns, typed), whose rows are not supersedable.
    """
    keyed = rows.select(ROW_NUMBER, row_key(spec).alias(ROW_KEY))
    if present is not None and present.height:
        loaded = present.select(row_key(spec).alias(ROW_KEY)).drop_nulls()
        keyed = keyed.with_columns(
            pl.when(~pl.col(ROW_KEY).is_in(loaded[ROW_KEY].implode())).then(pl.col(ROW_KEY))
        )
    return reasons.join(keyed, on=ROW_NUMBER, how="left", maintain_order="left").select(
        ROW_NUMBER,
        pl.when(supersedable(pl.col("reason"))).then(pl.col(ROW_KEY)).alias(ROW_KEY),
    )


def loaded_keys(spec: KindSpec, rows: pl.DataFrame, good: pl.Series) -> pl.DataFrame:
    """``row_number`` and ``row_key`` of the rows numbered ``good`` (those that loaded)."""
    return rows.filter(pl.col(ROW_NUMBER).is_in(good.implode())).select(
        ROW_NUMBER, row_key(spec).alias(ROW_KEY)
    )
