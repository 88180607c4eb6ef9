"""The input file of ``partsflow forecast``: read and validate it (the command is
``flows.forecast_file``).

Input (DESIGN.md): Parquet or CSV, long format ``unique_id``, ``ds``, ``y``
(``y ≥ 0``); a duplicate (``unique_id``, ``ds``) is an error; ``W`` data must
be Mondays, ``MS`` data first days of months. Every problem raises
:class:`pipelines.errors.InputError` with one line naming the file, the field
and the problem.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.series import DEFAULT_SEASON_LENGTH, SERIES
from pipelines.errors import InputError

REQUIRED = ("unique_id", "ds", "y")


def read_forecast_input(path: Path, freq: str) -> pl.DataFrame:
    """Read and validate a ``partsflow forecast`` input file.

    Parameters
    ----------
    path
        A ``.parquet`` or ``.csv`` file.
    freq
        ``D``, ``W`` or ``MS``: the period the dates must align to.

    Returns
    -------
    pl.DataFrame
        Schema ``models.series.SERIES``.

    Raises
    ------
    InputError
        One line naming the file, the field and the problem.
    """
    if freq not in DEFAULT_SEASON_LENGTH:
        raise InputError(f"--freq must be one of D, W, MS, got {freq!r}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            raw = pl.read_parquet(path)
        elif suffix == ".csv":
            raw = pl.read_csv(path, infer_schema=False)
        else:
            raise InputError(f"{path}: unsupported file type {suffix!r} (use .parquet or .csv)")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: cannot read the file ({_first_line(exc)})") from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (need unique_id, ds, y)")
    frame = raw.select(
        unique_id=_as_string(raw, "unique_id"),
        ds=_as_date(raw, path),
        y=_as_float(raw, path),
    )
    _check_values(frame, raw, path, freq)
    return frame.cast(SERIES)


def _as_string(raw: pl.DataFrame, column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String)


def _as_date(raw: pl.DataFrame, path: Path) -> pl.Expr:
    dtype = raw.schema["ds"]
    if dtype == pl.Date:
        return pl.col("ds")
    if isinstance(dtype, pl.Datetime):
        return pl.col("ds").dt.date()
    if dtype == pl.String:
        text = pl.col("ds").str.strip_chars()
        # ISO dates only (01/02/2024 is ambiguous), or ISO timestamps (date part kept).
        return pl.coalesce(
            text.str.to_date("%Y-%m-%d", strict=False),
            pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")).then(
                text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
            ),
        )
    raise InputError(f"{path}: field ds has type {dtype}, expected dates (YYYY-MM-DD)")


def _as_float(raw: pl.DataFrame, path: Path) -> pl.Expr:
    dtype = raw.schema["y"]
    if dtype == pl.String:
        return pl.col("y").str.strip_chars().cast(pl.Float64, strict=False)
    if dtype.is_numeric():
        return pl.col("y").cast(pl.Float64)
    raise InputError(f"{path}: field y has type {dtype}, expected numbers")


def _check_values(frame: pl.DataFrame, raw: pl.DataFrame, path: Path, freq: str) -> None:
    rows = frame.with_row_index("row", offset=1).with_columns(raw_ds=raw["ds"], raw_y=raw["y"])
    bad = rows.filter(pl.col("unique_id").is_null() | (pl.col("unique_id") == ""))
    if not bad.is_empty():
        raise InputError(f"{path}: row {bad['row'][0]}: field unique_id is empty")
    bad = rows.filter(pl.col("ds").is_null())
    if not bad.is_empty():
        raise InputError(
            f"{path}: row {bad['row'][0]}: field ds: cannot parse {bad['raw_ds'][0]!r} as a date "
            f"({bad.height} such row(s); expected YYYY-MM-DD)"
        )
    bad = rows.filter(pl.col("y").is_null() | pl.col("y").is_nan() | pl.col("y").is_infinite())
    if not bad.is_empty():
        raise InputError(
            f"{path}: row {bad['row'][0]}: field y: {bad['raw_y'][0]!r} is not a finite number "
            f"({bad.height} such row(s))"
        )
    bad = rows.filter(pl.col("y") < 0)
    if not bad.is_empty():
        raise InputError(
            f"{path}: row {bad['row'][0]}: field y is negative ({bad['y'][0]:g}); "
            f"demand must be >= 0 ({bad.height} such row(s))"
        )
    dup = rows.filter(pl.struct("unique_id", "ds").is_duplicated())
    if not dup.is_empty():
        raise InputError(
            f"{path}: duplicate (unique_id, ds) = ({dup['unique_id'][0]}, {dup['ds'][0]}) "
            f"at rows {', '.join(str(r) for r in dup['row'].head(2))}"
        )
    if freq == "W":
        bad = rows.filter(pl.col("ds").dt.weekday() != 1)
        if not bad.is_empty():
            raise InputError(
                f"{path}: row {bad['row'][0]}: field ds {bad['ds'][0]} is not a Monday "
                "(--freq W needs the Monday of each ISO week)"
            )
    if freq == "MS":
        bad = rows.filter(pl.col("ds").dt.day() != 1)
        if not bad.is_empty():
            raise InputError(
                f"{path}: row {bad['row'][0]}: field ds {bad['ds'][0]} is not the first of a month "
                "(--freq MS needs month starts)"
            )
    if frame.is_empty():
        raise InputError(f"{path}: no data rows")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
