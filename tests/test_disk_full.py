"""A full disk is one line on stderr and a non-zero exit, never a traceback (issue 15).

Each command runs in a private mount namespace (``unshare -m``) with the folder
it writes to on a tmpfs of a few hundred kilobytes: a real ENOSPC from the
kernel, wherever it comes from (Python, polars, DuckDB's WAL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.generate import generate
from pipelines.ingest import ingest
from warehouse.schema import connect

ROOT = Path(__file__).resolve().parents[1]
#: Runs ``"$@"`` with ``$FULL`` a tmpfs of ``$SIZE`` that only this process tree sees, then
#: lists what it left there into ``$FULL.listing`` (the tmpfs goes with the namespace).
_ON_TINY_DISK = (
    'mount -t tmpfs -o "size=$SIZE" tmpfs "$FULL" || exit 99; "$@"; code=$?; '
    'find "$FULL" -mindepth 1 -printf "%P\\n" | sort > "$FULL.listing"; exit $code'
)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(out, scale="small", seed=7)
    return out


def _on_full_disk(
    full: Path, size: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give a command a disk of its own")
    full.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            _ON_TINY_DISK,
            "sh",
            sys.executable,
            "-m",
            "partsflow_cli",
            *args,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {}), "FULL": str(full), "SIZE": size},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _left_on(full: Path) -> list[str]:
    """What the command left on its disk (relative paths)."""
    return full.with_name(f"{full.name}.listing").read_text().split()


def _one_line(done: subprocess.CompletedProcess[str], command: str) -> str:
    assert done.returncode not in (0, -9), (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"partsflow {command}: disk full"), lines[0]
    return lines[0]


def test_generate_onto_a_full_disk(tmp_path: Path) -> None:
    full = tmp_path / "full"
    done = _on_full_disk(
        full, "300k", "generate", "--out", str(full / "landing"), "--scale", "small"
    )
    assert str(full) in _one_line(done, "generate")
    # The files written whole are there; the one the disk cut is not, not even as .part.
    left = _left_on(full)
    assert any(name.startswith("landing/order_lines_") for name in left), left
    assert not [name for name in left if name.endswith(".part")], left


def test_ingest_into_a_database_on_a_full_disk(tmp_path: Path, landing: Path) -> None:
    full = tmp_path / "full"
    done = _on_full_disk(full, "2m", "ingest", "--db", str(full / "w.duckdb"), str(landing))
    line = _one_line(done, "ingest")
    assert str(full / "w.duckdb") in line


def test_forecast_output_on_a_full_disk(tmp_path: Path) -> None:
    series = tmp_path / "series.csv"
    days = [f"2026-01-{d:02d}" for d in range(1, 29)]
    rows = [f"S{s},{day},{(s * 7 + i * i) % 11}" for s in range(2000) for i, day in enumerate(days)]
    series.write_text("unique_id,ds,y\n" + "\n".join(rows) + "\n")
    full = tmp_path / "full"
    done = _on_full_disk(
        full,
        "16k",
        "forecast",
        str(series),
        "--horizon",
        "28",
        "--output",
        str(full / "out.parquet"),
    )
    line = _one_line(done, "forecast")
    assert str(full / "out.parquet") in line
    assert _left_on(full) == []  # no half a file, under its name or another


def test_a_nightly_whose_snapshot_meets_a_full_disk_fails_the_run_in_one_line(
    prefect_server: None, tmp_path: Path, landing: Path
) -> None:
    from prefect.settings import PREFECT_API_URL

    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        ingest(con, [landing])
    full = tmp_path / "published"
    env = {
        "PARTSFLOW_SNAPSHOT_DIR": str(full),
        "PARTSFLOW_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite3'}",
        "PARTSFLOW_FORECAST_HORIZON_DAYS": "7",
        "PARTSFLOW_LINEHAUL_TIME_LIMIT_S": "2",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    done = _on_full_disk(full, "200k", "nightly", "--db", str(db), "--no-landing", env=env)
    line = _one_line(done, "nightly")
    assert str(full / ".plan.duckdb.nightly-") in line
    assert "Traceback" not in done.stdout  # the run log names the error without one
    with connect(db) as con:
        status, error = con.execute(
            "SELECT status, error FROM runs WHERE kind = 'nightly'"
        ).fetchall()[0]
    assert status == "failed"
    assert error.startswith(f"disk full: no space left on device writing {full}")
