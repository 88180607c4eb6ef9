"""Retrying quarantined rows that later master data, orders or files may have cured."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import polars as pl

from pipelines.ingest.common import (
    INSERTED,
    OLDER,
    OUTCOME,
    QUARANTINED,
    UNCHANGED,
    UPDATED,
    LoadContext,
)
from pipelines.ingest.ingest import _utc, process_rows
from pipelines.ingest.kinds import DEPENDENCY_ORDER, SPECS, KindSpec
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.report import RetryReport
from pipelines.ingest.resolution import ROW_KEY, quarantined_keys, row_key
from pipelines.ingest.validate import parse_rows
from warehouse import frames, loading, quarantine

# Reasons that data arriving later can cure: a reference to something not yet
# loaded (store, sku, vehicle model, warehouse, DC) or a return's order line.
CURABLE = ("unknown ", "is not loaded")
#: ``quarantine.resolution`` of a row whose key a retry finds loaded from elsewhere.
SUPERSEDED = "superseded by the loaded row of its key"


def _strings(group: pl.DataFrame) -> pl.DataFrame:
    """The quarantined rows' original strings, as a reader would have returned them."""
    columns = list(json.loads(group["raw"][0]))
    decoded = group["raw"].str.json_decode(pl.Struct(dict.fromkeys(columns, pl.String)))
    return decoded.struct.unnest().with_columns(group[ROW_NUMBER].cast(pl.Int64).alias(ROW_NUMBER))


def _superseded(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, group: pl.DataFrame, now: datetime
) -> pl.DataFrame:
    """The rows of ``group`` a loaded row of their key supersedes: resolve them.

    A row with a kept ``row_key`` had a key not loaded when it was quarantined
    (``resolution``). A row without one (quarantined before keys were kept, or
    of a key loaded then) has its key read from ``raw`` the way a load
    computes it, and is superseded only when its key was loaded after it was
    quarantined: where the table says when (order lines, returns, stock).
    """
    typed = parse_rows(_strings(group), spec, now)
    keys = quarantined_keys(spec, typed, group.select(ROW_NUMBER, "reason")).drop_nulls(ROW_KEY)
    if keys.height == 0:
        return group.clear()
    candidates = typed.join(keys, on=ROW_NUMBER, how="semi").select(spec.key)
    found = loading.loaded_keys(con, spec.table, candidates)
    if found.height == 0:
        return group.clear()
    loaded = found.select(row_key(spec).alias(ROW_KEY), pl.col("loaded_at").alias("__key_at"))
    kept = group.select(ROW_NUMBER, pl.col(ROW_KEY).alias("__kept"), "quarantined_at")
    numbers = (
        keys.join(loaded, on=ROW_KEY)
        .join(kept, on=ROW_NUMBER)
        .filter(
            pl.col("__kept").is_not_null()
            | (pl.col("__key_at") > pl.col("quarantined_at")).fill_null(False)
        )[ROW_NUMBER]
    )
    superseded = group.filter(pl.col(ROW_NUMBER).is_in(numbers.implode()))
    quarantine.resolve_quarantine_ids(con, superseded["quarantine_id"], SUPERSEDED, now)
    return superseded


def retry_quarantine(con: duckdb.DuckDBPyConnection, *, now: datetime | None = None) -> RetryReport:
    """Retry unresolved quarantined rows that later data may have cured.

    Rows are retried per source file, kinds in dependency order, each file
    in one transaction. A row whose key is loaded now (from another file: a
    file that arrived cut, then whole) is resolved as superseded, unless it
    conflicts with that row. A row whose reason later data may cure (an
    unknown reference, a return's order line not loaded) is validated again:
    when it now loads (or is already present) it is resolved. The others stay
    as they were.
    """
    moment = _utc(now)
    pending = quarantine.unresolved_quarantine(con, ("%",))
    totals = dict.fromkeys((INSERTED, UPDATED, UNCHANGED, OLDER, QUARANTINED), 0)
    superseded = retried = 0
    by_kind: dict[str, int] = {}
    rank = {name: i for i, name in enumerate(DEPENDENCY_ORDER)}
    groups = pending.partition_by(["kind", "source_sha256", "source_file"], as_dict=True)
    for (kind, sha256, source_file), group in sorted(
        groups.items(), key=lambda item: (rank.get(str(item[0][0]), len(rank)), str(item[0][2]))
    ):
        spec = SPECS.get(str(kind))
        if spec is None:
            continue
        with frames.transaction(con):
            done = _superseded(con, spec, group, moment)
            curable = group.filter(
                ~pl.col("quarantine_id").is_in(done["quarantine_id"].implode())
                & pl.any_horizontal(pl.col("reason").str.contains(c, literal=True) for c in CURABLE)
                & pl.col("raw_bytes").is_null()  # a row kept cut cannot be validated again
            )
            if curable.height:
                # Not a replay, though the file was ingested: these rows were never applied.
                ctx = LoadContext(str(source_file), str(sha256), moment, replay=False)
                decided = process_rows(con, spec, _strings(curable), ctx)
                for outcome, n in decided[OUTCOME].value_counts().iter_rows():
                    totals[outcome] += int(n)
        superseded += done.height
        retried += done.height + curable.height
        if done.height + curable.height:
            by_kind[spec.name] = by_kind.get(spec.name, 0) + done.height + curable.height
    return RetryReport(
        retried=retried,
        loaded=totals[INSERTED] + totals[UPDATED],
        unchanged=totals[UNCHANGED] + totals[OLDER],
        superseded=superseded,
        still_quarantined=totals[QUARANTINED],
        by_kind=by_kind,
    )
