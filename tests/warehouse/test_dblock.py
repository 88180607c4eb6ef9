"""One command writes warehouse.duckdb at a time: a live holder refuses the next, a dead one
(kill -9) never blocks it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.dblock import DatabaseInUseError, database_lock, lock_path

SCRIPT = Path(sys.executable).with_name("partsflow")
# A process holding the database's lock as a running nightly does, until killed.
_HOLD = """
import sys, time
from pathlib import Path
from warehouse.dblock import database_lock
with database_lock(Path(sys.argv[1]), "nightly"):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(db: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_in_the_same_process_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    refusal = rf"partsflow nightly \(pid {os.getpid()} on"
    with (
        database_lock(db, "nightly"),
        pytest.raises(DatabaseInUseError, match=refusal),
        database_lock(db, "ingest"),
    ):
        pass
    with database_lock(db, "ingest"):  # released when the first block ended
        pass
    assert lock_path(db).exists()


def test_a_live_holder_refuses_the_nightly_and_a_kill_9_frees_it(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "order_lines_1.csv").write_text("order_id\n")
    holder = _holder(db)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [str(SCRIPT), "nightly", "--db", str(db), "--landing", str(landing)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        refused_in = time.monotonic() - started
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 75, done.stderr
        assert len(lines) == 1 and "Traceback" not in done.stderr
        assert f"{db} is in use by partsflow nightly (pid {holder.pid} on" in lines[0]
        assert "Flow run" not in done.stdout  # refused before Prefect's server started
        assert refused_in < 15
        assert not db.exists()  # nothing was opened
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with database_lock(db, "nightly"):  # the dead holder's lock went with it
        pass


def test_a_live_holder_refuses_an_ingest(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    data = tmp_path / "order_lines_1.csv"
    data.write_text("order_id\n")
    holder = _holder(db)
    try:
        done = subprocess.run(
            [str(SCRIPT), "ingest", str(data), "--db", str(db)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert done.returncode == 75, done.stderr
    assert "is in use by partsflow nightly" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_nightly_flow_itself_refuses_while_another_command_writes(
    prefect_server: None, tmp_path: Path
) -> None:
    """The flow takes the lock too (a scheduled run has no CLI in front of it)."""
    import flows
    from settings import DataPaths, Settings

    db = tmp_path / "w.duckdb"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "order_lines_1.csv").write_text("order_id\n")
    with database_lock(db, "dispatch"), pytest.raises(DatabaseInUseError, match="dispatch"):
        flows.nightly(DataPaths(db, landing, tmp_path / "published"), Settings().nightly_params())
    assert not db.exists()  # refused before anything was opened
