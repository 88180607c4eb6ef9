"""Deciding one file's load: what to ask the warehouse, then what to write. Pure polars.

Ingesting a file reads the database once (``warehouse.loading.read_existing``
answering :func:`existing_query`), decides here with no connection
(:func:`decide`), then writes the decision in one go
(``warehouse.loading.apply_decision``). The kind-specific rules live in
``master`` (master data and stock), ``order_lines`` and ``returns``; this
module adds what every kind shares: references to known keys, the raw
strings of quarantined rows, the quarantined rows a file now cures, and the
keys it loads that other files' quarantined rows wait for (``resolution``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from pipelines.ingest.common import OUTCOME, QUARANTINED, LoadContext
from pipelines.ingest.kinds import KindSpec, Loader, Reference
from pipelines.ingest.limits import HELPERS, ROW_BYTES
from pipelines.ingest.master import decide_master, decide_stock, master_query, stock_query
from pipelines.ingest.order_lines import decide_order_lines, order_lines_query
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.resolution import loaded_keys, quarantined_keys
from pipelines.ingest.returns import decide_returns, returns_query
from pipelines.ingest.validate import add_reasons, ok, reference_checks
from warehouse.loading_types import QUARANTINE_ROWS, Decision, Existing, ExistingQuery, KeyQuery


@dataclass(frozen=True)
class _Family:
    """How one loading strategy asks for the database state and decides with it."""

    query: Callable[[KindSpec, pl.DataFrame, ExistingQuery], ExistingQuery]
    decide: Callable[[KindSpec, pl.DataFrame, Existing, LoadContext], Decision]


FAMILIES: dict[Loader, _Family] = {
    "master": _Family(master_query, decide_master),
    "stock": _Family(stock_query, decide_stock),
    "order_lines": _Family(order_lines_query, decide_order_lines),
    "returns": _Family(returns_query, decide_returns),
}


def _references(spec: KindSpec) -> dict[Reference, list[str]]:
    """Each reference of the kind and the columns naming it."""
    found: dict[Reference, list[str]] = {}
    for column in spec.columns:
        if column.ref is not None:
            found.setdefault(column.ref, []).append(column.name)
    return found


def existing_query(spec: KindSpec, rows: pl.DataFrame, ctx: LoadContext) -> ExistingQuery:
    """What deciding ``rows`` needs to know from the warehouse, for this file's keys only.

    Parameters
    ----------
    spec
        The file's kind.
    rows
        The parsed rows (``validate.parse_rows``).
    ctx
        The file being loaded.

    Returns
    -------
    ExistingQuery
        For ``warehouse.loading.read_existing``.
    """
    references = tuple(
        KeyQuery(
            ref.label,
            ref.table,
            ref.column,
            pl.concat([rows[c].cast(pl.String).alias("value") for c in columns])
            .drop_nulls()
            .unique(),
            ref.filter_column,
            ref.filter_value,
        )
        for ref, columns in _references(spec).items()
    )
    query = ExistingQuery(ctx.sha256, ctx.source_file, references=references, kind=spec.name)
    return FAMILIES[spec.loader].query(spec, rows, query)


def known_references(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing
) -> dict[Reference, pl.Series]:
    """The keys each reference may name: loaded ones, plus this file's own good rows
    when a kind references itself (a forward warehouse's DC in the same file)."""
    known: dict[Reference, pl.Series] = {}
    for ref in _references(spec):
        keys = existing.known.get(ref.label, pl.Series("key", [], pl.String)).cast(pl.String)
        if ref.table == spec.table:
            own = rows.filter(ok())
            if ref.filter_column is not None:
                own = own.filter(pl.col(ref.filter_column) == ref.filter_value)
            keys = pl.concat([keys, own[ref.column].cast(pl.String).alias(keys.name)])
        known[ref] = keys
    return known


def _present(
    spec: KindSpec, rows: pl.DataFrame, existing: Existing, good: pl.Series
) -> pl.DataFrame:
    """The keys loaded before this file or by its good rows (the key columns, typed)."""
    key = list(spec.key)
    found = [rows.filter(pl.col(ROW_NUMBER).is_in(good.implode())).select(key)]
    if existing.loaded.width and set(key) <= set(existing.loaded.columns):
        found.append(existing.loaded.select(key))
    if spec.loader == "stock":  # a count stored for that very day
        levels = existing.levels.filter(pl.col("known_as_of") == pl.col("as_of"))
        found.append(levels.select(key))
    return pl.concat([f.cast(found[0].schema) for f in found])


def _quarantine(
    spec: KindSpec,
    strings: pl.DataFrame,
    rows: pl.DataFrame,
    outcomes: pl.DataFrame,
    present: pl.DataFrame,
) -> pl.DataFrame:
    """The quarantined rows as they arrived (a JSON object of their strings, a row over
    the size limits cut, with its size), with reasons and the key that resolves them."""
    bad = outcomes.filter(pl.col(OUTCOME) == QUARANTINED).select(ROW_NUMBER, "reason")
    if bad.height == 0:
        return pl.DataFrame(schema=QUARANTINE_ROWS)
    columns = [c for c in strings.columns if c != ROW_NUMBER and c not in HELPERS]
    size = pl.col(ROW_BYTES) if ROW_BYTES in strings.columns else pl.lit(None, pl.Int64)
    raw = strings.join(bad, on=ROW_NUMBER, how="semi").select(
        ROW_NUMBER,
        pl.struct(columns).struct.json_encode().alias("raw"),
        size.cast(pl.Int64).alias("raw_bytes"),
    )
    keys = quarantined_keys(spec, rows, bad, present)
    return raw.join(bad, on=ROW_NUMBER).join(keys, on=ROW_NUMBER).select(*QUARANTINE_ROWS)


def decide(
    spec: KindSpec,
    strings: pl.DataFrame,
    rows: pl.DataFrame,
    existing: Existing,
    ctx: LoadContext,
) -> Decision:
    """Validate ``rows`` against ``existing`` and decide every write of the file.

    Parameters
    ----------
    spec
        The file's kind.
    strings
        The rows as read (``readers.read_strings``): quarantine keeps them.
    rows
        The same rows parsed (``validate.parse_rows``), reasons so far included.
    existing
        What the warehouse holds for these rows (``read_existing``).
    ctx
        The file; ``replay`` must be decided (not None) for order lines.

    Returns
    -------
    Decision
        The rows to insert or update, status changes and history, the rows to
        quarantine with their reasons, the file's quarantined rows now cured,
        and every row's outcome.
    """
    rows = add_reasons(rows, reference_checks(spec, known_references(spec, rows, existing)))
    decision = FAMILIES[spec.loader].decide(spec, rows, existing, ctx)
    cured = decision.outcomes.filter(pl.col(OUTCOME) != QUARANTINED)[ROW_NUMBER]
    return replace(
        decision,
        quarantine=_quarantine(
            spec, strings, rows, decision.outcomes, _present(spec, rows, existing, cured)
        ),
        resolved=existing.quarantined.filter(existing.quarantined.is_in(cured.implode())),
        loaded_keys=loaded_keys(spec, rows, cured) if existing.awaited else Decision().loaded_keys,
    )
