"""Retrying quarantined rows that later master data or orders may have cured."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import polars as pl

from pipelines.ingest.common import INSERTED, OUTCOME, QUARANTINED, UNCHANGED, UPDATED, LoadContext
from pipelines.ingest.ingest import _utc, process_rows
from pipelines.ingest.kinds import DEPENDENCY_ORDER, SPECS
from pipelines.ingest.readers import ROW_NUMBER
from pipelines.ingest.report import RetryReport
from warehouse import frames, loading

# Reasons that data arriving later can cure: a reference to something not yet
# loaded (store, sku, vehicle model, warehouse, DC) or a return's order line.
CURABLE = ("%unknown %", "%is not loaded%")


def _strings(group: pl.DataFrame) -> pl.DataFrame:
    """The quarantined rows' original strings, as a reader would have returned them."""
    columns = list(json.loads(group["raw"][0]))
    decoded = group["raw"].str.json_decode(pl.Struct(dict.fromkeys(columns, pl.String)))
    return decoded.struct.unnest().with_columns(group[ROW_NUMBER].cast(pl.Int64).alias(ROW_NUMBER))


def retry_quarantine(con: duckdb.DuckDBPyConnection, *, now: datetime | None = None) -> RetryReport:
    """Re-validate unresolved quarantined rows whose reason later data may cure.

    Rows are retried per source file, kinds in dependency order, each file
    in one transaction. Rows that now load (or are already present) are
    marked resolved; the others stay as they were.
    """
    moment = _utc(now)
    pending = loading.unresolved_quarantine(con, CURABLE)
    totals = dict.fromkeys((INSERTED, UPDATED, UNCHANGED, QUARANTINED), 0)
    by_kind: dict[str, int] = {}
    rank = {name: i for i, name in enumerate(DEPENDENCY_ORDER)}
    groups = pending.partition_by(["kind", "source_sha256", "source_file"], as_dict=True)
    for (kind, sha256, source_file), group in sorted(
        groups.items(), key=lambda item: (rank.get(str(item[0][0]), len(rank)), str(item[0][2]))
    ):
        spec = SPECS.get(str(kind))
        if spec is None:
            totals[QUARANTINED] += group.height
            continue
        # Not a replay, though the file was ingested: these rows were never applied.
        ctx = LoadContext(str(source_file), str(sha256), moment, replay=False)
        with frames.transaction(con):
            decided = process_rows(con, spec, _strings(group), ctx)
        counts = decided[OUTCOME].value_counts()
        for outcome, n in counts.iter_rows():
            totals[outcome] += int(n)
        by_kind[spec.name] = by_kind.get(spec.name, 0) + group.height
    return RetryReport(
        retried=pending.height,
        loaded=totals[INSERTED] + totals[UPDATED],
        unchanged=totals[UNCHANGED],
        still_quarantined=totals[QUARANTINED],
        by_kind=by_kind,
    )
