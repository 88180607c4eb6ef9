"""Bounds on the size of a landing row and of each of its fields.

A landing row is a few hundred bytes: ids, a timestamp, numbers, a remark.
A field over :data:`FIELD_LIMIT` or a row over :data:`ROW_LIMIT` is not data
but a broken export (a missing quote swallowing the rest of a file, a binary
blob in a text column): the row is refused with a reason naming the size, and
kept in quarantine cut, each long field to its first :data:`KEPT_CHARS`
characters and a marker saying how long it was, so one 50 MB row no longer
costs gigabytes of memory nor is stored twice (once in ``raw``, once quoted
in its reason).

The limits: the longest legitimate value in the formats is a free-text
``remark`` or a name (tens of characters; 4 KiB is 100 times that and still
small), and 64 KiB holds 16 such fields, more than any kind has.
"""

from __future__ import annotations

import polars as pl

FIELD_LIMIT = 4 * 1024
ROW_LIMIT = 64 * 1024
KEPT_CHARS = 256
#: The reason of a row over a limit (null for the others), while it is being read.
SIZE_REASON = "__size_reason"
#: The row's size in bytes, for a row over a limit.
ROW_BYTES = "__row_bytes"
#: Ends a field kept cut: ``…[cut: 52,428,800 bytes]``.
CUT_MARK = r"…\[cut: [\d,]+ bytes\]$"
#: The columns :func:`bound` adds: not columns of the file.
HELPERS = (SIZE_REASON, ROW_BYTES)


def _thousands(expr: pl.Expr) -> pl.Expr:
    """An integer with thousands separators (``52,428,800``)."""
    return (
        expr.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.reverse()
        .str.strip_chars_start(",")
    )


def bound(strings: pl.DataFrame, row_number: str) -> pl.DataFrame:
    """``strings`` with its oversized rows marked and cut.

    A row with a field over :data:`FIELD_LIMIT` bytes or over
    :data:`ROW_LIMIT` bytes in all gets :data:`SIZE_REASON`
    (``field remark is 52,428,800 bytes, limit 4,096``) and
    :data:`ROW_BYTES`; its fields longer than :data:`KEPT_CHARS` characters
    are cut to that many and end with ``…[cut: N bytes]``. Without such a
    row, ``strings`` comes back as it is (one pass over the lengths).
    """
    fields = [c for c in strings.columns if c != row_number]
    if not fields or strings.height == 0:
        return strings
    longest = strings.select(pl.col(fields).str.len_bytes().max().fill_null(0))
    if max(longest.row(0)) <= FIELD_LIMIT and sum(longest.row(0)) <= ROW_LIMIT:
        return strings
    sizes = [pl.col(c).str.len_bytes().cast(pl.Int64).fill_null(0) for c in fields]
    total = pl.sum_horizontal(sizes)
    too_long = [
        pl.when(size > FIELD_LIMIT).then(
            pl.format(f"field {c} is {{}} bytes, limit {FIELD_LIMIT:,}", _thousands(size))
        )
        for c, size in zip(fields, sizes, strict=True)
    ]
    row_reason = pl.when(total > ROW_LIMIT).then(
        pl.format(f"row is {{}} bytes, limit {ROW_LIMIT:,}", _thousands(total))
    )
    reason = pl.concat_str(too_long, separator="; ", ignore_nulls=True)
    reason = pl.when(reason != "").then(reason).otherwise(row_reason)
    marked = strings.with_columns(reason.alias(SIZE_REASON), total.alias(ROW_BYTES))
    over = pl.col(SIZE_REASON).is_not_null()
    return marked.with_columns(
        pl.when(over & (pl.col(c).str.len_chars() > KEPT_CHARS))
        .then(
            pl.concat_str(
                pl.col(c).str.head(KEPT_CHARS),
                pl.format("…[cut: {} bytes]", _thousands(size)),
            )
        )
        .otherwise(pl.col(c))
        .alias(c)
        for c, size in zip(fields, sizes, strict=True)
    ).with_columns(pl.when(over).then(pl.col(ROW_BYTES)).alias(ROW_BYTES))


def cut(value: pl.Expr) -> pl.Expr:
    """True where ``value`` was kept cut (its row is over a limit): not a value to check."""
    return pl.col(SIZE_REASON).is_not_null() & value.str.contains(CUT_MARK)
