"""Run bookkeeping: every nightly (or other) run is a row in ``runs``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import duckdb


def start_run(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    as_of: date | None,
    params: dict[str, Any] | None = None,
    *,
    run_id: str | None = None,
) -> str:
    """Record a run as ``running`` and return its id.

    Runs left ``running`` by a crashed process are marked ``failed`` first, so
    the table never claims two live runs of one kind. The commands that start
    runs hold the database's lock (:mod:`warehouse.dblock`) while they run, so
    a run found ``running`` here is a dead process's, never a live one's.
    """
    now = datetime.now(UTC)
    run_id = run_id or f"{kind}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    con.execute(
        "UPDATE runs SET status = 'failed', finished_at = ?, "
        "error = 'abandoned: the process ended before the run finished' "
        "WHERE kind = ? AND status = 'running'",
        [now, kind],
    )
    con.execute(
        "INSERT INTO runs (run_id, kind, status, as_of, started_at, params) "
        "VALUES (?, ?, 'running', ?, ?, ?)",
        [run_id, kind, as_of, now, json.dumps(params or {}, default=str)],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, summary: dict[str, Any] | None = None
) -> None:
    """Mark a run ``succeeded`` with its summary.

    A nightly is one per as-of date: a rerun for a date replaces the date's
    earlier succeeded nightly, which is marked ``failed`` with ``replaced by
    run R`` (the table's status CHECK cannot gain a value: ``runs`` is
    referenced by every output table, and DuckDB cannot alter a referenced
    table). Its outputs stay, for the record; the snapshot and the
    operational store move to the new run.
    """
    now = datetime.now(UTC)
    con.execute(
        "UPDATE runs SET status = 'succeeded', finished_at = ?, summary = ? WHERE run_id = ?",
        [now, json.dumps(summary or {}, default=str), run_id],
    )
    con.execute(
        "UPDATE runs SET status = 'failed', "
        "error = 'replaced by run ' || $run || ', a rerun of the same as-of date' "
        "WHERE kind = 'nightly' AND status = 'succeeded' AND run_id <> $run "
        "AND as_of = (SELECT as_of FROM runs WHERE run_id = $run AND kind = 'nightly')",
        {"run": run_id},
    )


def fail_run(con: duckdb.DuckDBPyConnection, run_id: str, error: str) -> None:
    """Mark a run ``failed`` with a one-line error."""
    con.execute(
        "UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ?",
        [datetime.now(UTC), error.splitlines()[0] if error else "failed", run_id],
    )


def latest_succeeded(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[str, date | None] | None:
    """``(run_id, as_of)`` of the last run of ``kind`` to succeed, or ``None``."""
    rows = con.execute(
        "SELECT run_id, as_of FROM runs WHERE kind = ? AND status = 'succeeded' "
        "ORDER BY finished_at DESC LIMIT 1",
        [kind],
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The run's row as a dict (raises KeyError if unknown)."""
    cur = con.cursor()
    rows = cur.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchall()
    if not rows:
        raise KeyError(run_id)
    names = [d[0] for d in cur.description or []]
    return dict(zip(names, rows[0], strict=True))
