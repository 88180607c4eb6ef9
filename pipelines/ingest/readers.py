"""Reading landing files into frames of strings.

Every reader returns the file's columns as ``pl.String`` (exactly as written,
so a quarantined row can be kept as the strings it arrived with) plus
``row_number``, counting data rows from 1. Typing happens in ``validate.py``,
the same way for every format. Rows over the size limits come back marked and
cut (:mod:`pipelines.ingest.limits`), so nothing after the reader holds them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipelines.errors import InputError
from pipelines.ingest.limits import bound

ROW_NUMBER = "row_number"
Reader = Callable[[Path], pl.DataFrame]


def _read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(
        path,
        infer_schema=False,
        has_header=True,
        quote_char='"',
        raise_if_empty=True,
        truncate_ragged_lines=False,
    )


def _read_ndjson(path: Path) -> pl.DataFrame:
    # A first pass finds every key; the second reads them all as strings, so
    # a column mixing 3 and "abc" is not coerced to one type before validation.
    names = pl.read_ndjson(path, infer_schema_length=None).columns
    return pl.read_ndjson(path, schema=dict.fromkeys(names, pl.String))


def _as_string(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        fmt = "%Y-%m-%dT%H:%M:%S%.f" + ("%:z" if dtype.time_zone else "")
        return col.dt.to_string(fmt)
    if isinstance(dtype, pl.Date):
        return col.dt.to_string("%Y-%m-%d")
    if dtype.is_nested():
        return pl.struct(col).struct.json_encode().str.json_path_match(f"$.{name}")
    return col.cast(pl.String)


def _read_parquet(path: Path) -> pl.DataFrame:
    frame = pl.read_parquet(path)
    return frame.select(_as_string(name, dtype).alias(name) for name, dtype in frame.schema.items())


READERS: dict[str, Reader] = {"csv": _read_csv, "parquet": _read_parquet, "ndjson": _read_ndjson}


def read_strings(path: Path, fmt: str, *, display_name: str, precut: bool = False) -> pl.DataFrame:
    """The rows of ``path`` as strings, with ``row_number`` from 1, oversized rows cut.

    ``precut``: ``path`` is a CSV file whose long lines were cut before
    (``limits.short_lines``).

    Raises
    ------
    InputError
        The file cannot be parsed as ``fmt`` (one line naming the file).
    """
    try:
        frame = READERS[fmt](path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise InputError(f"{display_name}: cannot be read as {fmt}: {first_line}") from None
    if ROW_NUMBER in frame.columns:
        frame = frame.drop(ROW_NUMBER)
    numbered = frame.with_row_index(ROW_NUMBER, offset=1).with_columns(
        pl.col(ROW_NUMBER).cast(pl.Int64)
    )
    del frame
    if fmt == "csv" and numbered.width > 1:
        # A blank line (an export's trailing newline) reads as a row of nulls: it carries
        # nothing to load or to quarantine. The rows keep their numbers in the file.
        numbered = numbered.filter(~pl.all_horizontal(pl.exclude(ROW_NUMBER).is_null()))
    return bound(numbered, ROW_NUMBER, precut=precut)
