"""Another process's handle on warehouse.duckdb delays a connection; it does not fail it."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from warehouse.schema import connect

# Holds the file read-only (as a DuckDB shell or a notebook would) for the seconds given.
_READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _reader(db: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _READER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "open"
    return process


def test_a_reader_in_another_process_delays_the_writer_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "w.duckdb"
    connect(db).close()
    reader = _reader(db, 3.0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="partsflow.warehouse"):
        con = connect(db)
    waited = time.monotonic() - started
    con.execute("SELECT 1").fetchall()
    con.close()
    reader.wait()
    assert 1.0 < waited < 30
    assert any("is held by another process" in r.getMessage() for r in caplog.records)


def test_a_holder_longer_than_the_wait_is_duckdbs_error(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    connect(db).close()
    reader = _reader(db, 5.0)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            connect(db, lock_wait_s=0.5)
    finally:
        reader.kill()
        reader.wait()
