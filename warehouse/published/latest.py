"""The latest committed night, written beside the snapshot: how a reader sees drift.

The nightly commits its plan in ``warehouse.duckdb`` and only then swaps in
the snapshot. A process killed between the two leaves the API serving the
plan before, and the API cannot open the working database to find out (a
writer holds it all night). So the nightly writes ``latest-run.json`` beside
``plan.duckdb`` as soon as its plan is committed; a reader compares it with
the snapshot's own run (``/readyz``), and the next night's start republishes
(:func:`warehouse.plan.repair_publication`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

#: Beside ``plan.duckdb`` in the snapshot folder.
LATEST_NAME = "latest-run.json"


@dataclass(frozen=True)
class LatestRun:
    """The nightly run whose plan was last committed, and when."""

    run_id: str
    as_of: date
    committed_at: datetime


def record_latest_run(
    snapshot_dir: Path, run_id: str, as_of: date, committed_at: datetime | None = None
) -> Path:
    """Write ``latest-run.json`` atomically (a reader sees the old file or the new one)."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    final = snapshot_dir / LATEST_NAME
    building = snapshot_dir / f".{LATEST_NAME}.{os.getpid()}.tmp"
    body = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "committed_at": (committed_at or datetime.now(UTC)).isoformat(),
    }
    with open(building, "w", encoding="utf-8") as out:
        json.dump(body, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(building, final)
    return final


def latest_run(snapshot_dir: Path) -> LatestRun | None:
    """What ``latest-run.json`` says, or None when there is none or it cannot be read
    (written by a version before it existed, or damaged: the nightly writes it again)."""
    try:
        body = json.loads((snapshot_dir / LATEST_NAME).read_text(encoding="utf-8"))
        return LatestRun(
            str(body["run_id"]),
            date.fromisoformat(body["as_of"]),
            datetime.fromisoformat(body["committed_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
