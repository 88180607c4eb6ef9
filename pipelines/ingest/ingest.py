"""Ingesting landing files: one file at a time, each in one transaction.

A file is read and parsed, then loaded in three steps: one read of what the
warehouse holds for its rows, a pure decision (:mod:`pipelines.ingest.decide`)
and one write of that decision, followed by the file's record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import InputError, is_disk_full
from pipelines.ingest.common import (
    INSERTED,
    OLDER,
    OUTCOME,
    QUARANTINED,
    UNCHANGED,
    UPDATED,
    LoadContext,
)
from pipelines.ingest.decide import decide, existing_query
from pipelines.ingest.encoding import digest, utf8_path
from pipelines.ingest.kinds import (
    DEPENDENCY_ORDER,
    SPECS,
    KindSpec,
    format_from_name,
    kind_from_name,
)
from pipelines.ingest.limits import HELPERS, file_too_large, short_lines
from pipelines.ingest.readers import ROW_NUMBER, read_strings
from pipelines.ingest.report import FileReport, IngestReport, SkippedFile
from pipelines.ingest.validate import parse_rows
from warehouse import frames, loading, quarantine
from warehouse.loading_types import FileRecord


@dataclass(frozen=True)
class _Planned:
    path: Path
    kind: str | None
    fmt: str | None
    error: str | None = None


def _utc(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


#: Landing files are written under another name and renamed when complete (a rename is
#: atomic): ``NAME.part`` or ``NAME.tmp`` (or a name starting with a dot) is a file still being
#: written, which a folder's load leaves for the next one (docs/DATA_FORMATS.md). A file read
#: while an exporter was still writing it was once loaded with 4,621 of its 4,947 rows.
IN_WRITING = frozenset({".part", ".tmp"})


def _plan(paths: Sequence[Path], kind: str | None) -> tuple[list[_Planned], list[SkippedFile]]:
    """The files to load, in dependency order, and the folder entries skipped."""
    planned: list[_Planned] = []
    skipped: list[SkippedFile] = []
    seen: set[Path] = set()
    for given in map(Path, paths):
        in_folder = given.is_dir()
        files = sorted(p for p in given.iterdir() if p.is_file()) if in_folder else [given]
        for path in files:
            if path.resolve() in seen or (in_folder and path.name.startswith(".")):
                continue
            seen.add(path.resolve())
            if in_folder and path.suffix in IN_WRITING:
                skipped.append(SkippedFile(path, "still being written: taken once renamed"))
                continue
            file_kind, fmt = kind or kind_from_name(path), format_from_name(path)
            if in_folder and (file_kind is None or fmt is None):
                skipped.append(SkippedFile(path, "not a landing file"))
                continue
            planned.append(_Planned(path, file_kind, fmt, _plan_error(path, file_kind, fmt)))
    rank = {name: i for i, name in enumerate(DEPENDENCY_ORDER)}
    planned.sort(key=lambda p: (rank.get(p.kind or "", len(rank)), p.path.name))
    return planned, skipped


def _plan_error(path: Path, kind: str | None, fmt: str | None) -> str | None:
    if not path.is_file():
        return f"{path.name}: no such file"
    if kind is None:
        prefixes = ", ".join(DEPENDENCY_ORDER)
        return f"{path.name}: cannot tell the kind from the name (prefixes: {prefixes}); use --kind"
    if kind not in SPECS:
        return f"{path.name}: unknown kind {kind!r} (known: {', '.join(DEPENDENCY_ORDER)})"
    if fmt is None:
        return f"{path.name}: unknown format (expected .csv, .parquet, .ndjson or .jsonl)"
    return file_too_large(path)


def process_rows(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, strings: pl.DataFrame, ctx: LoadContext
) -> pl.DataFrame:
    """Validate and load ``strings`` (already in a transaction); quarantine the rest.

    Read what the warehouse holds for these rows, decide with polars alone,
    write the decision. Returns ``row_number``, ``outcome`` (inserted,
    updated, unchanged or quarantined) and ``reason`` for every row.
    """
    rows = parse_rows(strings, spec, ctx.now)
    existing = loading.read_existing(con, existing_query(spec, rows, ctx))
    if ctx.replay is None:
        ctx = replace(ctx, replay=existing.ingested_before)
    decision = decide(spec, strings, rows, existing, ctx)
    loading.apply_decision(
        con,
        decision,
        kind=spec.name,
        source_file=ctx.source_file,
        sha256=ctx.sha256,
        now=ctx.now,
    )
    return decision.outcomes


def _count(decided: pl.DataFrame, *outcomes: str) -> int:
    return int(decided.filter(pl.col(OUTCOME).is_in(list(outcomes))).height)


def _ingest_file(con: duckdb.DuckDBPyConnection, item: _Planned, now: datetime) -> FileReport:
    if item.error is not None or item.kind is None or item.fmt is None:
        return FileReport(item.path, item.kind, error=item.error)
    spec, name = SPECS[item.kind], item.path.name
    encoding: str | None = None
    try:
        found = digest(item.path, text=item.fmt != "parquet")
        encoding = found.encoding
        seen = loading.ingested_rows(con, found.sha256, spec.name)
        if seen is not None and not quarantine.has_quarantine(con, found.sha256):
            # Same bytes, fully loaded before: loading them again would change nothing.
            return FileReport(
                item.path,
                spec.name,
                encoding,
                rows_read=seen,
                unchanged=seen,
                already_ingested=True,
            )
        precut = item.fmt == "csv" and found.long_lines
        with utf8_path(item.path, encoding) as readable, short_lines(readable, precut) as short:
            strings = read_strings(short, item.fmt, display_name=name, precut=precut)
        missing = [c for c in spec.required_columns if c not in strings.columns]
        if missing:
            listed = ", ".join(f"'{c}'" for c in missing)
            plural = "s" if len(missing) > 1 else ""
            raise InputError(f"{name}: missing required column{plural} {listed}")
        ignored = tuple(
            c
            for c in strings.columns
            if c not in spec.column_names and c != ROW_NUMBER and c not in HELPERS
        )
        with frames.transaction(con):
            ctx = LoadContext(str(item.path.resolve()), found.sha256, now)
            decided = process_rows(con, spec, strings, ctx)
            report = FileReport(
                item.path,
                spec.name,
                encoding,
                rows_read=strings.height,
                loaded=_count(decided, INSERTED, UPDATED),
                updated=_count(decided, UPDATED),
                unchanged=_count(decided, UNCHANGED, OLDER),
                older=_count(decided, OLDER),
                quarantined=_count(decided, QUARANTINED),
                ignored_columns=ignored,
            )
            record = FileRecord(
                ctx.sha256,
                ctx.source_file,
                spec.name,
                encoding,
                report.rows_read,
                report.loaded,
                report.unchanged,
                report.updated,
                report.quarantined,
            )
            loading.record_file(con, record, now)
        return report
    except InputError as error:
        return FileReport(item.path, item.kind, encoding, error=str(error))
    except duckdb.Error as error:
        if is_disk_full(error):  # not this file's fault, and every next file would fail too
            raise
        detail = str(error).strip().splitlines()[0]
        return FileReport(
            item.path, item.kind, encoding, error=f"{name}: the database refused the file: {detail}"
        )


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    kind: str | None = None,
    *,
    now: datetime | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> IngestReport:
    """Load landing files (or folders of them) into the warehouse.

    Parameters
    ----------
    con
        An open warehouse (``warehouse.schema.connect``).
    paths
        Files or folders. A folder's files load in dependency order (master
        data, then orders, returns, stock; by name within a kind); its
        entries that are not landing files are reported as skipped.
    kind
        Force the kind of every file instead of reading it from the name.
    now
        The ingestion moment (default: now); bounds plausible timestamps.
    on_file
        Called with each file's path once the file is done (loaded, or
        refused), in load order: a progress display. Skipped folder entries
        are not files of the load and are not reported to it.

    Returns
    -------
    IngestReport
        One ``FileReport`` per file. A file that cannot be read (format,
        encoding, missing required column, unknown kind) has ``error`` set
        and loaded nothing; the other files still load.
    """
    moment = _utc(now)
    planned, skipped = _plan(paths, kind)
    reports = []
    for item in planned:
        reports.append(_ingest_file(con, item, moment))
        if on_file is not None:
            on_file(item.path)
    return IngestReport(tuple(reports), tuple(skipped))
