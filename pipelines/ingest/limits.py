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

A CSV line that long is cut before the parser sees it (:func:`cut_long_lines`,
when the file's streamed pass saw one: :class:`LineWatch`): the parser needs
about four times a row's size, so one 50 MB row took 190 MB on its own. The
row keeps the first 64 KiB of its line and says how long the line was.

A whole file over :data:`FILE_LIMIT` is refused before it is read: a file
loads in one transaction, held in memory as strings and then typed, about 20
times its size at the peak (a 69 MB order-line file of the large network
peaked at 1.42 GB). 256 MiB, about 5 GiB to load, is four times the largest
monthly file of the large network; a bigger export is split (a file a week or
a day), which the landing convention already allows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

FILE_LIMIT = 256 * 1024 * 1024
FIELD_LIMIT = 4 * 1024
ROW_LIMIT = 64 * 1024
KEPT_CHARS = 256
#: The reason of a row over a limit (null for the others), while it is being read.
SIZE_REASON = "__size_reason"
#: The row's size in bytes, for a row over a limit.
ROW_BYTES = "__row_bytes"
#: Ends a field kept cut: ``…[cut: 52,428,800 bytes]``.
CUT_MARK = r"…\[(line )?cut: [\d,]+ bytes\]$"
#: Ends the field where a CSV line was cut before parsing: ``…[line cut: 52428990 bytes]``.
LINE_MARK = r"…\[line cut: (\d+) bytes\]$"
#: A CSV file is cut before parsing when a window this long holds no line end: any
#: line of twice this is found (one memchr a window), shorter ones are bound after.
WINDOW = 512 * 1024
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


def bound(strings: pl.DataFrame, row_number: str, *, precut: bool = False) -> pl.DataFrame:
    """``strings`` with its oversized rows marked and cut.

    A row with a field over :data:`FIELD_LIMIT` bytes or over
    :data:`ROW_LIMIT` bytes in all gets :data:`SIZE_REASON`
    (``field remark is 52,428,800 bytes, limit 4,096``) and
    :data:`ROW_BYTES`; its fields longer than :data:`KEPT_CHARS` characters
    are cut to that many and end with ``…[cut: N bytes]``. Without such a
    row, ``strings`` comes back as it is (one pass over the lengths).
    ``precut``: the file's long lines were cut before parsing
    (:func:`cut_long_lines`); such a row is ``row is 52,428,856 bytes, limit
    65,536 (cut in field remark)``, N the length of its line (the fields
    after the cut are gone), and the field cut keeps the line's mark.
    """
    fields = [c for c in strings.columns if c != row_number]
    if not fields or strings.height == 0:
        return strings
    longest = strings.select(pl.col(fields).str.len_bytes().max().fill_null(0))
    if not precut and max(longest.row(0)) <= FIELD_LIMIT and sum(longest.row(0)) <= ROW_LIMIT:
        return strings
    sizes = [pl.col(c).str.len_bytes().cast(pl.Int64).fill_null(0) for c in fields]
    total = pl.sum_horizontal(sizes)
    too_long = [
        pl.when(size > FIELD_LIMIT).then(
            pl.format(f"field {c} is {{}} bytes, limit {FIELD_LIMIT:,}", _thousands(size))
        )
        for c, size in zip(fields, sizes, strict=True)
    ]
    line = pl.lit(None, pl.Int64)
    if precut:
        line = pl.max_horizontal(pl.col(c).str.extract(LINE_MARK, 1).cast(pl.Int64) for c in fields)
    total = pl.coalesce(line, total)
    row_reason = pl.when(total > ROW_LIMIT).then(
        pl.format(f"row is {{}} bytes, limit {ROW_LIMIT:,}", _thousands(total))
    )
    reason = pl.concat_str(too_long, separator="; ", ignore_nulls=True)
    reason = pl.when(line.is_null() & (reason != "")).then(reason).otherwise(row_reason)
    if precut:  # the fields after the cut are gone: name the one it went through
        where = pl.coalesce(
            pl.when(pl.col(c).str.contains(LINE_MARK)).then(pl.lit(c)) for c in fields
        )
        reason = (
            pl.when(line.is_not_null())
            .then(pl.format("{} (cut in field {})", reason, where))
            .otherwise(reason)
        )
    marked = strings.with_columns(reason.alias(SIZE_REASON), total.alias(ROW_BYTES))
    over = pl.col(SIZE_REASON).is_not_null()
    return marked.with_columns(
        pl.when(over & (pl.col(c).str.len_chars() > KEPT_CHARS))
        .then(
            pl.concat_str(
                pl.col(c).str.head(KEPT_CHARS),
                pl.coalesce(
                    pl.col(c).str.extract(f"({LINE_MARK[:-1]})$", 1),
                    pl.format("…[cut: {} bytes]", _thousands(size)),
                ),
            )
        )
        .otherwise(pl.col(c))
        .alias(c)
        for c, size in zip(fields, sizes, strict=True)
    ).with_columns(pl.when(over).then(pl.col(ROW_BYTES)).alias(ROW_BYTES))


def file_too_large(path: Path) -> str | None:
    """Why ``path`` is too large to load (``None`` when it is not)."""
    size = path.stat().st_size
    if size <= FILE_LIMIT:
        return None
    return (
        f"{path.name}: file is {size / 2**20:,.0f} MiB, limit {FILE_LIMIT / 2**20:,.0f} MiB;"
        " send it as smaller files (a week or a day each)"
    )


def cut(value: pl.Expr) -> pl.Expr:
    """True where ``value`` was kept cut (its row is over a limit): not a value to check."""
    return pl.col(SIZE_REASON).is_not_null() & value.str.contains(CUT_MARK)


class LineWatch:
    """Fed a file's bytes chunk by chunk (chunks a multiple of :data:`WINDOW` long),
    notes whether a line may be too long to hand to the parser (``long``)."""

    def __init__(self) -> None:
        self.long = False

    def feed(self, chunk: bytes) -> None:
        if self.long:
            return
        for start in range(0, len(chunk) - WINDOW + 1, WINDOW):
            if chunk.find(b"\n", start, start + WINDOW) < 0:
                self.long = True
                return


def _cut_line(kept: bytes, total: int, quotes: int) -> bytes:
    """The first :data:`ROW_LIMIT` bytes of a CSV line of ``total`` bytes, marked, and
    leaving the parser inside or outside a quoted field as the whole line did."""
    prefix = kept[:ROW_LIMIT].decode("utf-8", "ignore").encode("utf-8")
    mark = f"…[line cut: {total} bytes]".encode()
    if prefix.count(b'"') % 2 == quotes % 2:
        return prefix + mark
    if prefix.count(b'"') % 2:  # cut inside a quoted field the line closes: close it
        return prefix + mark + b'"'
    return prefix + mark + b',"'  # the line opens a field its next line continues


def cut_long_lines(source: Path, target: Path, chunk_bytes: int = 4 << 20) -> int:
    """Copy CSV ``source`` to ``target``, every line over :data:`ROW_LIMIT` bytes cut.

    Streams in ``chunk_bytes`` chunks: memory holds one chunk and one kept
    line, whatever the length of a line. Returns the number of lines cut.
    """
    cut = 0
    kept, total, quotes = bytearray(), 0, 0
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(chunk_bytes):
            pos = 0
            while pos < len(chunk):
                end = chunk.find(b"\n", pos)
                stop = len(chunk) if end < 0 else end
                room = ROW_LIMIT - len(kept)
                if room > 0:
                    kept += chunk[pos : min(stop, pos + room)]
                total += stop - pos
                quotes += chunk.count(b'"', pos, stop)
                if end < 0:
                    break
                if total > ROW_LIMIT:
                    out.write(_cut_line(bytes(kept), total, quotes) + b"\n")
                    cut += 1
                else:
                    out.write(kept + b"\n")
                kept, total, quotes = bytearray(), 0, 0
                pos = end + 1
        if total > ROW_LIMIT:
            out.write(_cut_line(bytes(kept), total, quotes))
            cut += 1
        elif total:
            out.write(kept)
    return cut


@contextmanager
def short_lines(path: Path, long_lines: bool) -> Iterator[Path]:
    """``path``, or (``long_lines``) a temporary copy with its long lines cut."""
    if not long_lines:
        yield path
        return
    handle, name = tempfile.mkstemp(prefix="partsflow-", suffix=path.suffix)
    os.close(handle)
    target = Path(name)
    try:
        cut_long_lines(path, target)
        yield target
    finally:
        target.unlink(missing_ok=True)
