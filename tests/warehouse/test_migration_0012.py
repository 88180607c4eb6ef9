"""Migration 0012: quarantine keeps a row's key, its resolution and a cut row's size."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.schema import connect, current_version, migrate


def test_an_older_quarantine_keeps_its_rows_and_says_how_they_were_resolved(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=11)[-1] == 11
    insert = (
        "INSERT INTO quarantine (kind, source_file, source_sha256, row_number, raw, reason, "
        "quarantined_at, resolved_at) VALUES ('skus', 'f', 's', ?, '{}', 'r', now(), ?)"
    )
    con.execute(insert, [1, None])
    con.execute(insert, [2, "2026-12-01 00:00:00+00"])
    con.close()

    with connect(path) as con:
        assert current_version(con) >= 12
        rows = con.execute(
            "SELECT row_number, row_key, resolution, raw_bytes FROM quarantine ORDER BY 1"
        ).fetchall()
        # Resolved before 0012 meant loaded; a key is read from raw by a retry.
        assert rows == [(1, None, None, None), (2, None, "loaded", None)]
