"""Comparing a file's rows with the loaded rows of the same key, in polars.

The differences are named the way DuckDB prints values (``quantity 2 ≠ 4``,
``ordered_at 2026-01-05 10:00:00+08 ≠ ...``): quarantine reasons have always
quoted them so, and a reason must read the same whichever side computed it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipelines.ingest.readers import ROW_NUMBER

_LOADED = "__loaded_"


def duckdb_text(expr: pl.Expr, dtype: pl.DataType, time_zone: str) -> pl.Expr:
    """``expr`` as DuckDB's ``::VARCHAR`` renders a value of ``dtype``.

    Only time-zone-aware timestamps differ from polars' own rendering: DuckDB
    shows them in the session ``time_zone``, trims the fraction of a second
    (none when zero) and writes the offset as ``+08`` or ``+05:30``.
    """
    if not (isinstance(dtype, pl.Datetime) and dtype.time_zone is not None):
        return expr.cast(pl.String)
    local = expr.dt.convert_time_zone(time_zone)
    micros = local.dt.microsecond()
    fraction = (
        pl.when(micros != 0)
        .then(pl.lit(".") + micros.cast(pl.String).str.zfill(6).str.strip_chars_end("0"))
        .otherwise(pl.lit(""))
    )
    offset = (
        local.dt.to_string("%z")
        .str.replace(r"^([+-]\d{2})00$", "${1}")
        .str.replace(r"^([+-]\d{2})(\d{2})$", "${1}:${2}")
    )
    return pl.concat_str([local.dt.to_string("%Y-%m-%d %H:%M:%S"), fraction, offset])


def _named_difference(column: str, file: pl.DataType, loaded: pl.DataType, tz: str) -> pl.Expr:
    """``"<column> <file value> ≠ <loaded value>"`` where they differ (nulls read ``empty``)."""
    mine, theirs = pl.col(column), pl.col(_LOADED + column)
    return pl.when(mine.ne_missing(theirs)).then(
        pl.concat_str(
            [
                pl.lit(f"{column} "),
                duckdb_text(mine, file, tz).fill_null("empty"),
                pl.lit(" ≠ "),
                duckdb_text(theirs, loaded, tz).fill_null("empty"),
            ]
        )
    )


def compare_loaded(
    rows: pl.DataFrame,
    loaded: pl.DataFrame,
    key: Sequence[str],
    columns: Sequence[str],
    *,
    time_zone: str = "UTC",
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """Compare ``rows`` with the ``loaded`` rows having the same key.

    Parameters
    ----------
    rows
        ``row_number``, the key and ``columns`` (keys unique among them).
    loaded
        The loaded rows: the key, ``columns`` and ``keep`` (keys unique). A
        frame without columns stands for no loaded row at all.
    key, columns
        What identifies a row, and what must be equal for it to be the same.
    time_zone
        The zone DuckDB renders timestamps in (``Existing.time_zone``).
    keep
        Loaded columns to return as ``loaded_<c>``.

    Returns
    -------
    pl.DataFrame
        One row per row of ``rows``, in their order: ``row_number``,
        ``present`` (the key is loaded), ``diff`` (null if absent, ``''`` if
        ``columns`` are equal, else ``"quantity 2 ≠ 4, sku A ≠ B"`` with the
        file's value first) and ``loaded_<c>`` for each column in ``keep``.
    """
    mine = rows.select(ROW_NUMBER, *dict.fromkeys([*key, *columns]))
    if loaded.width == 0:  # nothing loaded: the file's own columns give the types
        loaded = mine.clear().select(
            *dict.fromkeys([*key, *columns]), *(pl.lit(None).alias(c) for c in keep)
        )
    theirs = loaded.select(
        *(pl.col(k).cast(mine.schema[k]) for k in key),
        pl.lit(True).alias("present"),
        *(pl.col(c).alias(_LOADED + c) for c in columns),
        *(pl.col(c).alias(f"loaded_{c}") for c in keep),
    )
    joined = mine.join(theirs, on=list(key), how="left", maintain_order="left")
    present = pl.col("present").fill_null(False)
    parts = [
        _named_difference(c, mine.schema[c], theirs.schema[_LOADED + c], time_zone) for c in columns
    ]
    diff = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    return joined.select(
        ROW_NUMBER,
        present.alias("present"),
        pl.when(present).then(diff).otherwise(pl.lit(None, pl.String)).alias("diff"),
        *(f"loaded_{c}" for c in keep),
    )
