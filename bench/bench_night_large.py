"""Wall time and memory of whole nightly runs, step by step (issue 15, item 8).

Copies ``--db`` (a network database, e.g. after ``partsflow ingest`` of the
large landing set) into ``--work`` and runs ``partsflow nightly`` on the copy
``--nights`` times in a row: the first night on a fresh copy is the cold one
(model selection), the next ones are normal nights. Each night runs in its own
process; a sampler reads the RSS of that process (and of its whole process
tree: Prefect's temporary server, the forecast workers) every ``--interval``
seconds. Prefect logs when each task finishes, so each sample is attributed to
the task that was running: the one that finished next. Prints, per night, the
wall and peak RSS of each task, and the process's ``ru_maxrss`` (the figure
``/usr/bin/time -v`` gives as "Maximum resident set size").

``--dask-workers N`` starts a ``distributed.LocalCluster`` of N worker processes
(one thread each, as docs/DEPLOYMENT.md advises) in this process and runs each
night with ``PARTSFLOW_DASK_ADDRESS`` pointing at it; the workers' RSS is sampled
with the night's and reported beside it (``workers GiB``, and the night and its
workers together). The cluster lives for all the nights, as a deployed one would.

``--capture-save DIR`` also writes the tables the night saves (``save_plan``'s
:class:`warehouse.plan.NightTables`) as Parquet into ``DIR``, with a copy of
the database as it was before the save; ``--save-only DIR`` then times
:func:`warehouse.plan.write_plan` and then :func:`warehouse.plan.publish_snapshot`
alone on them, in a fresh process each repeat, so the save and publish steps
can be measured in minutes instead of a night.

    .venv/bin/python bench/bench_night_large.py --db BASE.duckdb [--work /tmp/bench_night]
        [--landing DIR] [--nights 2] [--repeat 1] [--interval 1] [--keep]
        [--dask-workers N] [--capture-save DIR [--capture-night N]] [--json OUT.jsonl]
    .venv/bin/python bench/bench_night_large.py --save-only DIR [--repeat 3] [--memory-limit 2GB]

Run one at a time: a large night takes up to 14 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
_ORDER_PARTS = ("headers", "lines", "reviewed")
_TASK_DONE = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run '(.+)-[0-9a-f]{3}' - Finished")

# The night in the child process: optionally wrap write_plan to dump what it saves.
_CHILD = r"""
import sys
from pathlib import Path

capture = sys.argv[1]
if capture:
    import bench.bench_night_large as bench
    import warehouse.plan as plan

    original = plan.write_plan

    def capturing(con, run_id, tables, summary, keep_forecast_runs=None):
        import time

        started = time.perf_counter()
        bench.dump_tables(con, Path(capture), run_id, tables, summary, keep_forecast_runs)
        print(f"capture of the saved tables took {time.perf_counter() - started:.1f} s", flush=True)
        return original(con, run_id, tables, summary, keep_forecast_runs)

    plan.write_plan = capturing

import partsflow_cli

sys.exit(partsflow_cli.main(sys.argv[2:]))
"""

_SAVE_ONLY = r"""
import sys, threading, time
from pathlib import Path
import psutil
import bench.bench_night_large as bench
from warehouse.schema import connect
import warehouse.plan as plan

folder, db, published, limit = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
run_id, tables, summary, keep = bench.load_tables(folder)
proc = psutil.Process()
peak = [0]
def watch():
    while True:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()

def step(name, call):
    time.sleep(0.2)
    before = peak[0] = proc.memory_info().rss
    started = time.perf_counter()
    call()
    print(f"RESULT {name} {time.perf_counter() - started:.2f} {before} {peak[0]}", flush=True)

# Two connections, as the night opens one per task.
with connect(db) as con:
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    step("write_plan", lambda: plan.write_plan(con, run_id, tables, summary, keep))
with connect(db) as con:
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    step("publish_snapshot", lambda: plan.publish_snapshot(con, run_id, published))
"""


@dataclass
class Night:
    """One night's run: wall, ``ru_maxrss`` and the samples with their task."""

    label: str
    wall_s: float
    returncode: int
    maxrss: int
    # time, own, tree, Dask workers
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    finished: list[tuple[float, str]] = field(default_factory=list)  # time, task

    def steps(self) -> list[dict[str, Any]]:
        """Per task in order: seconds since the previous task finished, peak RSS of the
        night's process, of its process tree, of the Dask workers and of the tree and the
        workers together."""
        rows: list[dict[str, Any]] = []
        start = self.samples[0][0] if self.samples else 0.0
        bounds = [*self.finished, (float("inf"), "(after the last task)")]
        for end, task in bounds:
            inside = [s for s in self.samples if start < s[0] <= end]
            rows.append(
                {
                    "step": task,
                    "seconds": round((end if end != float("inf") else self._last()) - start, 1),
                    "peak_gib": round(max((s[1] for s in inside), default=0) / GIB, 2),
                    "tree_gib": round(max((s[2] for s in inside), default=0) / GIB, 2),
                    "workers_gib": round(max((s[3] for s in inside), default=0) / GIB, 2),
                    "all_gib": round(max((s[2] + s[3] for s in inside), default=0) / GIB, 2),
                }
            )
            start = end
        return rows

    def _last(self) -> float:
        return self.samples[-1][0] if self.samples else 0.0


def run_night(
    db: Path,
    snapshots: Path,
    landing: Path | None,
    interval: float,
    capture: Path | None,
    label: str,
    workers: list[psutil.Process] | None = None,
) -> Night:
    """Run ``partsflow nightly`` on ``db`` in a child process, sampling its RSS (and the
    RSS of ``workers``, the Dask cluster's worker processes, if any)."""
    args = ["nightly", "--db", str(db)]
    args += ["--landing", str(landing)] if landing else ["--no-landing"]
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    env["PARTSFLOW_SNAPSHOT_DIR"] = str(snapshots)
    env.setdefault("PARTSFLOW_OPS_URL", f"sqlite:///{snapshots.parent / 'ops.sqlite3'}")
    command = [sys.executable, "-c", _CHILD, str(capture or ""), *args]
    started = time.time()
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    night = Night(label, 0.0, 0, 0)
    reader = threading.Thread(target=_read_log, args=(child, night, started), daemon=True)
    reader.start()
    proc = psutil.Process(child.pid)
    # wait4, not Popen.poll: it gives the child's own ru_maxrss when it ends.
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        night.samples.append((time.time(), *_rss(proc), _workers_rss(workers or [])))
        time.sleep(interval)
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    night.wall_s = time.time() - started
    night.returncode = child.returncode
    night.maxrss = usage.ru_maxrss * 1024
    return night


def _rss(proc: psutil.Process) -> tuple[int, int]:
    try:
        own = proc.memory_info().rss
        tree = own
        for kid in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a worker that just ended
                tree += kid.memory_info().rss
        return own, tree
    except psutil.Error:
        return 0, 0


def _workers_rss(workers: list[psutil.Process]) -> int:
    total = 0
    for worker in workers:
        with contextlib.suppress(psutil.Error):  # a worker restarted by its nanny
            total += worker.memory_info().rss
    return total


@contextlib.contextmanager
def dask_cluster(n_workers: int) -> Any:
    """A LocalCluster of ``n_workers`` processes of one thread; yields (address, workers).

    Its address goes to the nights through ``PARTSFLOW_DASK_ADDRESS``; the workers are
    returned as processes so that their RSS can be sampled with the night's.
    """
    import distributed

    # distributed is untyped: LocalCluster() and Client() are called without types.
    with (
        distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        pids = client.run(os.getpid)
        yield cluster.scheduler_address, [psutil.Process(pid) for pid in pids.values()]


def _read_log(child: subprocess.Popen[str], night: Night, started: float) -> None:
    day = datetime.fromtimestamp(started).date()
    assert child.stdout is not None
    for line in child.stdout:
        sys.stdout.write("    " + line)
        match = _TASK_DONE.match(line)
        if match:
            clock = datetime.strptime(match.group(1), "%H:%M:%S.%f").time()
            night.finished.append((datetime.combine(day, clock).timestamp(), match.group(2)))


def dump_tables(
    con: Any, folder: Path, run_id: str, tables: Any, summary: dict[str, Any], keep: int | None
) -> None:
    """Write ``tables`` (a ``NightTables``) as Parquet and copy the database beside them."""
    import dataclasses

    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"run_id": run_id, "summary": summary, "keep": keep, "parts": {}}
    for part in dataclasses.fields(tables):
        value = getattr(tables, part.name)
        if value is None:
            continue
        if isinstance(value, pl.DataFrame):
            value.write_parquet(folder / f"{part.name}.parquet")
            meta["parts"][part.name] = "frame"
        elif isinstance(value, Path) and value.is_dir():  # spilled in parts (flows/spill.py)
            parts = sorted(value.glob("*.parquet"))  # in the order write_plan reads them
            pl.scan_parquet(parts).sink_parquet(folder / f"{part.name}.parquet")
            meta["parts"][part.name] = "file"
        elif isinstance(value, Path):  # the night's spilled rows (flows/spill.py)
            shutil.copyfile(value, folder / f"{part.name}.parquet")
            meta["parts"][part.name] = "file"
        elif isinstance(value, tuple):
            for i, frame in enumerate(value):
                frame.write_parquet(folder / f"{part.name}.{i}.parquet")
            meta["parts"][part.name] = f"tuple:{len(value)}"
        elif part.name == "selections":
            for warehouse, selection in value.items():
                selection.models.write_parquet(folder / f"selections.{warehouse}.models.parquet")
                selection.calibration.write_parquet(
                    folder / f"selections.{warehouse}.calibration.parquet"
                )
            meta["parts"][part.name] = sorted(value)
        else:  # PurchaseOrders
            for name in _ORDER_PARTS:
                getattr(value, name).write_parquet(folder / f"{part.name}.{name}.parquet")
            meta["parts"][part.name] = "orders"
    (folder / "meta.json").write_text(json.dumps(meta, default=str))
    con.execute("CHECKPOINT")
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
    shutil.copyfile(db.fetchall()[0][0], folder / "before_save.duckdb")


def load_tables(folder: Path) -> tuple[str, Any, dict[str, Any], int | None]:
    """Read back what :func:`dump_tables` wrote: ``run_id, NightTables, summary, keep``."""
    import polars as pl

    from models.selection import Selection
    from optimization.replenishment.purchasing import PurchaseOrders
    from warehouse.plan import NightTables

    meta = json.loads((folder / "meta.json").read_text())
    parts: dict[str, Any] = {}
    for name, kind in meta["parts"].items():
        if kind == "frame":
            parts[name] = pl.read_parquet(folder / f"{name}.parquet")
        elif kind == "file":  # saved from the file, as the night saves it
            parts[name] = folder / f"{name}.parquet"
        elif isinstance(kind, str) and kind.startswith("tuple:"):
            n = int(kind.split(":")[1])
            parts[name] = tuple(pl.read_parquet(folder / f"{name}.{i}.parquet") for i in range(n))
        elif name == "selections":
            parts[name] = {
                w: Selection(
                    pl.read_parquet(folder / f"selections.{w}.models.parquet"),
                    pl.read_parquet(folder / f"selections.{w}.calibration.parquet"),
                )
                for w in kind
            }
        else:
            parts[name] = PurchaseOrders(
                *(pl.read_parquet(folder / f"{name}.{p}.parquet") for p in _ORDER_PARTS)
            )
    return meta["run_id"], NightTables(**parts), meta["summary"], meta["keep"]


def save_only(folder: Path, repeat: int, work: Path, limit: str) -> None:
    """Time ``write_plan`` then ``publish_snapshot`` on the captured tables.

    A fresh process and database copy each repeat; each step's peak RSS is over
    the RSS when it starts (the tables loaded, as the night holds them).
    """
    results: dict[str, list[tuple[float, int, int]]] = {}
    for i in range(repeat):
        db, published = work / "save_only.duckdb", work / "save_only_published"
        shutil.copyfile(folder / "before_save.duckdb", db)
        shutil.rmtree(published, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-c", _SAVE_ONLY, str(folder), str(db), str(published), limit],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line.split() for line in done.stdout.splitlines() if line.startswith("RESULT")]
        if done.returncode or len(lines) != 2:
            raise SystemExit(
                f"save-only run {i + 1} failed: {done.stdout[-1000:]}{done.stderr[-3000:]}"
            )
        for _, name, seconds, before, peak in lines:
            results.setdefault(name, []).append((float(seconds), int(before), int(peak)))
            print(
                f"run {i + 1}: {name} {float(seconds):.1f} s, RSS at its start "
                f"{int(before) / GIB:.2f} GiB, peak {int(peak) / GIB:.2f} GiB "
                f"(+{(int(peak) - int(before)) / GIB:.2f})",
                flush=True,
            )
        db.unlink()
        db.with_suffix(".duckdb.wal").unlink(missing_ok=True)
        shutil.rmtree(published, ignore_errors=True)
    for name, rows in results.items():
        print(
            f"{name}, median of {len(rows)}: {statistics.median(r[0] for r in rows):.1f} s, "
            f"+{statistics.median(r[2] - r[1] for r in rows) / GIB:.2f} GiB over its start"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="network database to copy for each repeat")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_night"))
    parser.add_argument("--landing", type=Path, help="landing folder (default --no-landing)")
    parser.add_argument("--nights", type=int, default=2, help="nights per copy: cold, normal, …")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--keep", action="store_true", help="keep the last copy's database")
    parser.add_argument("--capture-save", type=Path, help="dump a night's saved tables here")
    parser.add_argument("--capture-night", type=int, default=1, help="which night to dump")
    parser.add_argument("--save-only", type=Path, help="time write_plan on a --capture-save dir")
    parser.add_argument("--json", type=Path, help="append one JSON line per night")
    parser.add_argument(
        "--dask-workers", type=int, default=0, help="run the nights on a LocalCluster of N"
    )
    parser.add_argument(
        "--memory-limit", default="", help="with --save-only: SET memory_limit first (e.g. 2GB)"
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.save_only:
        save_only(args.save_only, args.repeat, args.work, args.memory_limit)
        return 0
    if args.db is None:
        parser.error("--db is required (or --save-only)")
    print(f"load before: {os.getloadavg()}")
    with contextlib.ExitStack() as stack:
        workers: list[psutil.Process] = []
        if args.dask_workers:
            address, workers = stack.enter_context(dask_cluster(args.dask_workers))
            os.environ["PARTSFLOW_DASK_ADDRESS"] = address
            print(f"LocalCluster at {address}: {args.dask_workers} workers of one thread")
        return _nights(args, workers)


def _nights(args: argparse.Namespace, workers: list[psutil.Process]) -> int:
    results: list[Night] = []
    for r in range(args.repeat):
        copy, snapshots = args.work / "night.duckdb", args.work / "published"
        shutil.rmtree(snapshots, ignore_errors=True)
        shutil.copyfile(args.db, copy)
        for n in range(args.nights):
            label = f"repeat {r + 1}, night {n + 1} ({'cold' if n == 0 else 'normal'})"
            capture = args.capture_save if (r == 0 and n == args.capture_night - 1) else None
            night = run_night(copy, snapshots, args.landing, args.interval, capture, label, workers)
            results.append(night)
            _report(night, os.getloadavg())
            if args.json:
                with args.json.open("a") as out:
                    out.write(json.dumps(_record(night)) + "\n")
            if night.returncode:
                return night.returncode
        if not args.keep:
            copy.unlink(missing_ok=True)
            copy.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    _medians(results, args.nights)
    return 0


def _record(night: Night) -> dict[str, Any]:
    return {
        "label": night.label,
        "at": datetime.now().isoformat(timespec="seconds"),
        "wall_s": round(night.wall_s, 1),
        "maxrss_gib": round(night.maxrss / GIB, 2),
        "load": os.getloadavg(),
        "steps": night.steps(),
        # The RSS curve, for a plot or a closer look at one step: seconds from the start, GiB.
        "finished": [(round(t - night.samples[0][0], 1), task) for t, task in night.finished]
        if night.samples
        else [],
        "rss_gib": [
            (round(t - night.samples[0][0], 1), round(own / GIB, 2))
            for t, own, _, _ in night.samples
        ],
        "workers_gib": [
            (round(t - night.samples[0][0], 1), round(workers / GIB, 2))
            for t, _, _, workers in night.samples
        ],
    }


def _report(night: Night, load: tuple[float, float, float]) -> None:
    print(
        f"\n{night.label}: wall {night.wall_s:.0f} s, ru_maxrss {night.maxrss / GIB:.2f} GiB, "
        f"exit {night.returncode}, load after {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )
    print(
        "| step | s | peak RSS GiB | tree GiB | Dask workers GiB | tree + workers GiB |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for row in night.steps():
        print(
            f"| {row['step']} | {row['seconds']} | {row['peak_gib']} | {row['tree_gib']} "
            f"| {row['workers_gib']} | {row['all_gib']} |"
        )
    if night.samples:
        top = max(tree + workers for _, _, tree, workers in night.samples)
        print(f"peak of the night's tree and the Dask workers together: {top / GIB:.2f} GiB")


def _medians(results: list[Night], nights: int) -> None:
    for n in range(nights):
        same = [r for i, r in enumerate(results) if i % nights == n]
        if len(same) < 2:
            continue
        print(
            f"\nnight {n + 1}, median of {len(same)}: wall "
            f"{statistics.median(r.wall_s for r in same):.0f} s, ru_maxrss "
            f"{statistics.median(r.maxrss for r in same) / GIB:.2f} GiB"
        )


if __name__ == "__main__":
    sys.exit(main())
