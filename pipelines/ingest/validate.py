"""Typing and checking landing rows, vectorised, with a specific reason per bad row.

A check is a pair of expressions: a boolean *flag* (true = this row fails)
and the *message* saying why. Flags are evaluated on every row (cheap);
messages only on the rows that fail, and several failures of one row are
joined with ``"; "`` into its ``reason``. ``reason`` is null for a good row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl

from pipelines.ingest.kinds import ColType, Column, KindSpec, Reference
from pipelines.ingest.limits import SIZE_REASON, cut
from pipelines.ingest.readers import ROW_NUMBER

REASON = "__reason"  # not "reason": returns have a column of that name
SEPARATOR = "; "
Check = tuple[pl.Expr, pl.Expr]
SHANGHAI = "Asia/Shanghai"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC) - timedelta(hours=8)  # 2000-01-01 in Shanghai
_INT32 = 2**31 - 1
_DECIMAL = pl.Decimal(12, 2)
_TIMESTAMP = pl.Datetime("us", "UTC")
_TS_SHAPE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
_NULL_STR = pl.lit(None, pl.String)


def raw(name: str) -> str:
    """The column holding ``name``'s trimmed string value (null when empty)."""
    return f"__raw_{name}"


def ok() -> pl.Expr:
    """True for a row without a reason so far."""
    return pl.col(REASON).is_null()


def quoted(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("'"), expr.cast(pl.String), pl.lit("'")])


def add_reasons(frame: pl.DataFrame, checks: Sequence[Check]) -> pl.DataFrame:
    """Append the messages of the failing ``checks`` to each row's ``reason``.

    Flags are evaluated on the whole frame (they may use windows); messages
    only on the failing rows, so a message must not use a window expression.
    """
    if not checks:
        return frame
    if REASON not in frame.columns:
        frame = frame.with_columns(_NULL_STR.alias(REASON))
    names = [f"__flag_{i}" for i in range(len(checks))]
    flagged = frame.with_columns(
        flag.fill_null(False).alias(name) for name, (flag, _) in zip(names, checks, strict=True)
    )
    failing = flagged.filter(pl.any_horizontal(names))
    if failing.height == 0:
        return frame
    messages = [
        pl.when(pl.col(name)).then(message)
        for name, (_, message) in zip(names, checks, strict=True)
    ]
    found = failing.select(
        pl.col(ROW_NUMBER),
        pl.concat_str([pl.col(REASON), *messages], separator=SEPARATOR, ignore_nulls=True).alias(
            "__new_reason"
        ),
    )
    return (
        frame.join(found, on=ROW_NUMBER, how="left", maintain_order="left")
        .with_columns(pl.coalesce("__new_reason", REASON).alias(REASON))
        .drop("__new_reason")
    )


# --- typing -------------------------------------------------------------------


def _blank_to_null(strings: pl.DataFrame, name: str) -> pl.Expr:
    """Empty strings count as missing. Values are otherwise taken verbatim (a
    stray space shows in the reason instead of being silently trimmed)."""
    if strings.select((pl.col(name) == "").any()).item():
        return pl.when(pl.col(name) != "").then(pl.col(name)).otherwise(_NULL_STR)
    return pl.col(name)


def _to_utc(naive: pl.Series) -> pl.Series:
    return naive.dt.replace_time_zone(
        SHANGHAI, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def parse_timestamps(values: pl.Series) -> pl.Series:
    """ISO 8601 strings as UTC instants (null where impossible or malformed).

    ``T`` or a space, optional seconds and fraction, optional ``Z``/``+08:00``/
    ``+0800`` offset; no offset means Asia/Shanghai. The common shape
    (``2026-01-05T10:00:00``) is parsed in one pass; only the other rows go
    through the general path.
    """
    parsed = _to_utc(values.str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us", strict=False))
    todo = (parsed.is_null() & values.is_not_null()).arg_true()
    if todo.len() == 0:
        return parsed
    rest = (
        values.gather(todo)
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(Z|[+-]|$)", "${1} ${2}:00${3}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})T", "${1} ")
    )
    with_offset = rest.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", time_unit="us", strict=False)
    local = _to_utc(rest.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False))
    fixed = with_offset.cast(_TIMESTAMP).fill_null(local)
    return parsed.scatter(todo, fixed)


def _typed(column: Column, now: datetime) -> pl.Expr:
    value = pl.col(raw(column.name))
    match column.type:
        case ColType.INT:
            return value.cast(pl.Int64, strict=False)
        case ColType.DECIMAL:
            shaped = value.str.contains(r"^[+-]?\d{1,10}(\.\d{1,2})?$")
            return pl.when(shaped).then(value.cast(_DECIMAL, strict=False))
        case ColType.FLOAT:
            number = value.cast(pl.Float64, strict=False)
            return pl.when(number.is_finite()).then(number)
        case ColType.BOOL:
            lowered = value.str.to_lowercase()
            return (
                pl.when(lowered.is_in(["true", "1"]))
                .then(True)
                .when(lowered.is_in(["false", "0"]))
                .then(False)
                .otherwise(pl.lit(None, pl.Boolean))
            )
        case ColType.DATE:
            return value.str.to_date("%Y-%m-%d", strict=False)
        case ColType.TIMESTAMP:
            return value.map_batches(parse_timestamps, return_dtype=_TIMESTAMP)
        case _:
            return value


_TYPE_WORDS = {
    ColType.INT: "not an integer",
    ColType.DECIMAL: "not a decimal with at most 2 places",
    ColType.FLOAT: "not a number",
    ColType.BOOL: "not a boolean (true/false/1/0)",
    ColType.DATE: "not a date (YYYY-MM-DD)",
}


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _range_checks(column: Column) -> list[Check]:
    typed, name = pl.col(column.name), column.name
    checks: list[Check] = []
    got = pl.concat_str([pl.lit(" (got "), typed.cast(pl.String), pl.lit(")")])
    if column.ge is not None and column.le is not None:
        text = f"{name}: must be between {_number(column.ge)} and {_number(column.le)}"
        checks.append(((typed < column.ge) | (typed > column.le), pl.lit(text) + got))
    else:
        bounds = (
            (column.gt, ">", lambda b: typed <= b),
            (column.ge, ">=", lambda b: typed < b),
            (column.le, "<=", lambda b: typed > b),
        )
        failing: Callable[[float], pl.Expr]
        for bound, op, failing in bounds:
            if bound is not None:
                checks.append(
                    (failing(bound), pl.lit(f"{name}: must be {op} {_number(bound)}") + got)
                )
    if column.type is ColType.INT:
        checks.append(
            (typed.abs() > _INT32, pl.lit(f"{name}: out of range") + got),
        )
    return checks


def _cell_checks(column: Column, now: datetime) -> list[Check]:
    name, value, typed = column.name, pl.col(raw(column.name)), pl.col(column.name)
    checks: list[Check] = []
    if not column.nullable:
        checks.append((value.is_null(), pl.lit(f"{name}: missing")))
    if column.type is ColType.TIMESTAMP:
        shaped = value.str.contains(_TS_SHAPE)
        checks.append(
            (
                value.is_not_null() & typed.is_null(),
                pl.when(shaped)
                .then(pl.lit(f"{name}: impossible timestamp ("))
                .otherwise(pl.lit(f"{name}: not an ISO 8601 timestamp ("))
                + quoted(value)
                + ")",
            )
        )
        implausible = (typed < EARLIEST) | (typed > now + timedelta(days=1))
        checks.append(
            (
                implausible,
                pl.lit(f"{name}: implausible timestamp (before 2000-01-01 or in the future)"),
            )
        )
    elif column.type is ColType.DATE:
        shaped = value.str.contains(r"^\d{4}-\d{2}-\d{2}$")
        checks.append(
            (shaped & typed.is_null(), pl.lit(f"{name}: impossible date (") + quoted(value) + ")")
        )
        checks.append(
            (
                value.is_not_null() & ~shaped,
                pl.lit(f"{name}: {_TYPE_WORDS[ColType.DATE]} (") + quoted(value) + ")",
            )
        )
    elif column.type in _TYPE_WORDS:
        checks.append(
            (
                value.is_not_null() & typed.is_null(),
                pl.lit(f"{name}: {_TYPE_WORDS[column.type]} (") + quoted(value) + ")",
            )
        )
    if column.enum:
        allowed = ", ".join(column.enum)
        checks.append(
            (
                value.is_not_null() & ~value.is_in(list(column.enum)),
                pl.lit(f"{name}: must be one of {allowed} (got ") + quoted(value) + ")",
            )
        )
    return checks + _range_checks(column)


def parse_rows(strings: pl.DataFrame, spec: KindSpec, now: datetime) -> pl.DataFrame:
    """Type the spec's columns of ``strings`` and check each cell.

    Returns ``row_number``, one typed column per spec column (an absent
    optional column is null, or its default) and ``reason``.
    """
    present = set(strings.columns)
    oversized = SIZE_REASON in present
    cleaned = strings.select(
        pl.col(ROW_NUMBER),
        *(
            _unless_cut(_blank_to_null(strings, c.name), oversized).alias(raw(c.name))
            if c.name in present
            else _NULL_STR.alias(raw(c.name))
            for c in spec.columns
        ),
        *((pl.col(SIZE_REASON),) if oversized else ()),
    )
    typed = cleaned.with_columns(_typed(c, now).alias(c.name) for c in spec.columns)
    typed = typed.with_columns(
        pl.col(c.name).fill_null(c.default) for c in spec.columns if c.default is not None
    )
    checks = [check for c in spec.columns for check in _cell_checks(c, now)]
    checked = add_reasons(typed.with_columns(_NULL_STR.alias(REASON)), checks)
    checked = add_reasons(checked, [(rule().is_not_null(), rule()) for rule in spec.rules])
    if oversized:  # its size is the reason: the others would be about what was cut off
        checked = checked.with_columns(pl.coalesce(SIZE_REASON, REASON).alias(REASON)).drop(
            SIZE_REASON
        )
    return checked.drop(raw(c.name) for c in spec.columns)


def _unless_cut(value: pl.Expr, oversized: bool) -> pl.Expr:
    """``value``, null where it was kept cut (a row over a size limit)."""
    return pl.when(~cut(value)).then(value) if oversized else value


# --- references and duplicates ------------------------------------------------


def reference_checks(spec: KindSpec, known: Mapping[Reference, pl.Series]) -> list[Check]:
    """Checks that each referencing column names a known key."""
    checks: list[Check] = []
    for column in spec.columns:
        if column.ref is None:
            continue
        value = pl.col(column.name)
        checks.append(
            (
                value.is_not_null() & ~value.is_in(known[column.ref].implode()),
                pl.lit(f"{column.name}: unknown {column.ref.label} ") + quoted(value),
            )
        )
    return checks


def flag_in_file_duplicates(
    frame: pl.DataFrame, key: Sequence[str], content: Iterable[str]
) -> pl.DataFrame:
    """Quarantine good rows repeating an earlier good row's key with other content.

    Adds ``first_row``: the row number of the key's first good occurrence.
    Repeats with the same content stay good (the caller decides what they are).
    """
    first = pl.col(ROW_NUMBER).filter(ok()).first().over(key)
    content = list(content)
    differs = pl.any_horizontal(
        pl.col(c).ne_missing(pl.col(c).filter(ok()).first().over(key)) for c in content
    )
    if not frame.select(pl.struct(key).filter(ok()).is_duplicated().any()).item():
        return frame.with_columns(pl.col(ROW_NUMBER).alias("first_row"))
    frame = frame.with_columns(first.alias("first_row"))
    key_text = ", ".join(key)
    message = pl.format(
        f"duplicate key ({key_text}) in file with different content than row {{}}", "first_row"
    )
    return add_reasons(frame, [(ok() & differs, message)])
