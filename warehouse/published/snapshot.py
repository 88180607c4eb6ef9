"""Opening the published snapshot read-only, and the run it publishes.

The snapshot is ``plan.duckdb`` in the snapshot folder, built aside by
:func:`warehouse.plan.publish_snapshot` and swapped in with ``os.replace``.
:func:`open_snapshot` gives a connection on whichever file is there when it is
called; a connection keeps reading the file it opened after a newer one is
swapped in (the old file lives on, unlinked, until the connection closes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb

#: The published file's name inside the snapshot folder.
SNAPSHOT_NAME = "plan.duckdb"

#: What the snapshot holds, as a number: bumped whenever a table the read
#: functions need is added or changed (1: before ``snapshot_info`` existed; 3: purchase
#: orders and plan, the range decision on plan lines; 4: vehicle models, fitment and
#: maintenance schedules).
SNAPSHOT_FORMAT = 4


class SnapshotError(RuntimeError):
    """The published snapshot cannot be read by this version of partsflow."""


class NoPublishedPlanError(SnapshotError):
    """No plan has been published in the snapshot folder yet."""


@contextmanager
def open_snapshot(snapshot_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on the published snapshot, closed when the block ends.

    Parameters
    ----------
    snapshot_dir
        The folder the nightly publishes into (``PARTSFLOW_SNAPSHOT_DIR``).

    Yields
    ------
    duckdb.DuckDBPyConnection
        A connection whose default catalog is the snapshot, attached read-only;
        every read function of :mod:`warehouse.published` takes it.

    Raises
    ------
    NoPublishedPlanError
        When ``snapshot_dir`` holds no ``plan.duckdb``.
    SnapshotError
        When the snapshot was published by another partsflow version (its
        ``snapshot_info`` is missing or names another format).
    """
    path = Path(snapshot_dir) / SNAPSHOT_NAME
    if not path.is_file():
        raise NoPublishedPlanError(f"{path}: no plan published yet; run the nightly to publish one")
    # Not duckdb.connect(path, read_only=True): DuckDB keeps one database instance per
    # path and process, so while any connection on the old file is open a new connect()
    # would get the old plan, never the one swapped in. An in-memory database of its own
    # attaches whatever file the path names now.
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute("ATTACH ? AS snapshot (READ_ONLY)", [str(path)])
        except duckdb.IOException as error:  # removed between the check and the attach
            raise NoPublishedPlanError(f"{path}: no plan published yet ({error})") from error
        con.execute("USE snapshot")
        # Times come back in UTC whatever the machine's zone, and the connection can
        # touch no other file (no COPY TO, no ATTACH): a reader never writes anywhere.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        _check_format(con, path)
        yield con
    finally:
        con.close()


def _check_format(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    has_info = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = 'snapshot' AND table_name = 'snapshot_info'"
    ).fetchall()[0][0]
    found = con.execute("SELECT format FROM snapshot_info").fetchall()[0][0] if has_info else 1
    if found != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"{path}: snapshot format {found}, this partsflow reads {SNAPSHOT_FORMAT}; "
            "run the nightly (or `partsflow linehaul`) to publish it again"
        )


@dataclass(frozen=True)
class PublishedRun:
    """The nightly run a snapshot publishes.

    ``summary`` is the night's summary (``runs.summary``: series, lines,
    units, transfer orders, line-haul, ... — the KPIs of the night) and
    ``params`` its parameters, both read-only mappings. The demand history in
    the snapshot covers ``history_start`` to ``as_of``.
    """

    run_id: str
    as_of: date
    started_at: datetime
    finished_at: datetime
    published_at: datetime
    history_start: date
    summary: Mapping[str, Any]
    params: Mapping[str, Any]


def published_run(con: duckdb.DuckDBPyConnection) -> PublishedRun:
    """The run published in the snapshot, with its summary.

    Parameters
    ----------
    con
        A connection from :func:`open_snapshot`.

    Returns
    -------
    PublishedRun
    """
    row = con.execute(
        """
        SELECT r.run_id, r.as_of, r.started_at, r.finished_at, i.published_at,
               i.history_start, r.summary, r.params
        FROM snapshot_info i JOIN runs r USING (run_id)
        """
    ).fetchall()[0]
    run_id, as_of, started, finished, published, start, summary, params = row
    return PublishedRun(
        run_id=run_id,
        as_of=as_of,
        started_at=started,
        finished_at=finished,
        published_at=published,
        history_start=start,
        summary=MappingProxyType(json.loads(summary or "{}")),
        params=MappingProxyType(json.loads(params or "{}")),
    )
