"""Benchmark: how long a night killed with SIGKILL takes to recover (issue 15).

On a copy of a working database that has run tonight's ``partsflow nightly
--no-landing`` once (so its snapshot and operational store are on that night),
each repetition

1. runs the night again uninterrupted on one copy: the baseline;
2. on a second copy, runs it killed at ``--kill-at`` (SIGKILL,
   ``tests/_killpoint.py``), then runs it again: the recovery.

It prints wall times per repetition and their medians: the baseline night, the
killed night until its death, the rerun, and the rerun's ratio to the baseline
(what the repair at the start costs: republishing, marking the dead run), and
checks the rerun left one succeeded run for the date with the snapshot on it.
Every command talks to one Prefect server the benchmark starts, so no run pays
for an ephemeral server's start.

Usage::

    .venv/bin/python bench/bench_recovery.py --db /tmp/mn/warehouse.duckdb --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Where the night is killed: the function wrapped, before or after its first call.
KILL_POINTS = {
    "forecast": ("models.network:forecast_chunks", "after", "1"),
    "save": ("warehouse.plan:finish_run", "before", "1"),
    "snapshot": ("warehouse.plan:copy_published", "after", "1"),
    "store": ("flows.store:publish_night", "before", "1"),
}


@contextmanager
def prefect_server(work: Path) -> Iterator[str]:
    """A Prefect server of the benchmark's own, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(360):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("the Prefect server did not start within 180 s")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _night(site: Path, api_url: str, kill: str | None) -> tuple[float, int]:
    """Run the night on ``site``; (seconds, return code)."""
    args = ["nightly", "--db", str(site / "warehouse.duckdb"), "--no-landing"]
    if kill is None:
        command = [sys.executable, "-m", "partsflow_cli", *args]
    else:
        command = [sys.executable, "-m", "tests._killpoint", *KILL_POINTS[kill], "--", *args]
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PARTSFLOW_SNAPSHOT_DIR": str(site / "published"),
        "PARTSFLOW_OPS_URL": f"sqlite:///{site / 'ops.sqlite3'}",
    }
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    expected = 0 if kill is None else -signal.SIGKILL
    if done.returncode != expected:
        raise SystemExit(
            f"night ended {done.returncode}, expected {expected}: {done.stderr[-800:]}"
        )
    return seconds, done.returncode


def _one_succeeded_and_published(site: Path) -> None:
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        as_of, count, latest = con.execute(
            "SELECT as_of, count(*), max_by(run_id, finished_at) FROM runs WHERE kind = 'nightly' "
            "AND status = 'succeeded' GROUP BY as_of ORDER BY as_of DESC LIMIT 1"
        ).fetchall()[0]
    with duckdb.connect(str(site / "published" / "plan.duckdb"), read_only=True) as snap:
        published = snap.execute("SELECT run_id FROM snapshot_info").fetchall()[0][0]
    if count != 1 or published != latest:
        raise SystemExit(f"{as_of}: {count} succeeded runs, snapshot {published}, latest {latest}")


def _site(source: Path, to: Path) -> Path:
    to.mkdir(parents=True)
    shutil.copy2(source, to / "warehouse.duckdb")
    return to


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a working database after a night")
    parser.add_argument("--kill-at", choices=sorted(KILL_POINTS), default="save")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-recovery-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    with prefect_server(work) as api_url:
        for rep in range(args.repeat):
            # A site that has had tonight's night (its snapshot and store are on it), twice:
            # one runs the night again uninterrupted, the other is killed and then recovers.
            warm = _site(args.db, work / f"warm{rep}")
            _night(warm, api_url, None)
            base = shutil.copytree(warm, work / f"base{rep}")
            site = shutil.copytree(warm, work / f"killed{rep}")
            normal, _ = _night(base, api_url, None)
            killed, _ = _night(site, api_url, args.kill_at)
            rerun, _ = _night(site, api_url, None)
            _one_succeeded_and_published(site)
            rows.append((normal, killed, rerun))
            print(
                f"rep {rep + 1}: normal {normal:.1f} s, killed after {killed:.1f} s, "
                f"rerun {rerun:.1f} s ({rerun / normal:.2f}x)",
                flush=True,
            )
            for folder in (warm, base, site):
                shutil.rmtree(folder)
    normal, killed, rerun = (statistics.median(column) for column in zip(*rows, strict=True))
    print(
        f"\nkill at {args.kill_at}, medians of {args.repeat}: normal night {normal:.1f} s, "
        f"killed after {killed:.1f} s, rerun {rerun:.1f} s = {rerun / normal:.2f}x the normal "
        f"night; time lost to the kill {killed + rerun - normal:.1f} s"
    )


if __name__ == "__main__":
    main()
