"""Quarantined rows that a later load resolves: by their key, or loaded themselves.

A file that arrived cut (a row cut short, a field missing) has rows
quarantined; when the whole file arrives, its rows load and the cut rows of
the same keys are *superseded*: marked resolved, naming the row that loaded.
The key is kept with the quarantined row (``quarantine.row_key``, the JSON
of its typed values) so a load finds them with one join. A row that
conflicts with a row of its key already loaded (another quantity, a second
row of the key in its file) is never resolved this way: the key being loaded
is the conflict, which stays for a person to look at.
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


def quarantined_keys(spec: KindSpec, rows: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """``row_number`` and ``row_key`` (null when not supersedable) of quarantined rows.

    ``rows``: typed (``validate.parse_rows``); ``reasons``: ``row_number``,
    ``reason`` of the rows quarantined.
    """
    keyed = rows.select(ROW_NUMBER, row_key(spec).alias(ROW_KEY))
    return reasons.join(keyed, on=ROW_NUMBER, how="left", maintain_order="left").select(
        ROW_NUMBER,
        pl.when(supersedable(pl.col("reason"))).then(pl.col(ROW_KEY)).alias(ROW_KEY),
    )


def loaded_keys(spec: KindSpec, rows: pl.DataFrame, good: pl.Series) -> pl.DataFrame:
    """``row_number`` and ``row_key`` of the rows numbered ``good`` (those that loaded)."""
    return rows.filter(pl.col(ROW_NUMBER).is_in(good.implode())).select(
        ROW_NUMBER, row_key(spec).alias(ROW_KEY)
    )
