"""Benchmark: generation and ingestion throughput and peak memory.

Each phase runs in its own Python process so its peak RSS is its own:

1. ``generate``   — ``pipelines.generate.generate`` at the chosen scale;
2. ``ingest``     — ``pipelines.ingest.ingest`` of the whole folder into a fresh DuckDB file;
3. ``reingest``   — the same folder again (idempotent: every row already present);
4. ``bare_load``  — the baseline: the same order-line CSVs decoded in Python,
   parsed by polars as strings and copied into unconstrained DuckDB tables (and
   the stock Parquet read by DuckDB), with no validation, quarantine or status
   history. The ratio ingest / bare_load is what
   validation and bookkeeping cost on top of the raw load.

Usage::

    .venv/bin/python bench/bench_foundation.py --scale medium --repeat 3
    .venv/bin/python bench/bench_foundation.py --scale large --repeat 1 --keep /tmp/large

Prints a Markdown table of medians; paste it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
phase, data, db = sys.argv[1], sys.argv[2], sys.argv[3]
from pathlib import Path
started = time.perf_counter()
rows = 0
if phase == "generate":
    from pipelines.generate import generate
    summary = generate(Path(data), scale={scale!r}, seed=0)
    rows = summary.rows_written
elif phase in ("ingest", "reingest"):
    from pipelines.ingest import ingest
    from warehouse.schema import connect
    con = connect(db)
    report = ingest(con, [Path(data)])
    con.close()
    rows = sum(f.rows_read for f in report.files)
    errors = [f.error for f in report.files if f.error]
    assert not errors, errors
elif phase == "bare_load":
    import io
    import duckdb
    import polars as pl
    con = duckdb.connect(db)
    n = 0
    for i, path in enumerate(sorted(Path(data).glob("order_lines_*.csv"))):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        con.execute(f"CREATE TABLE t{{i}} AS SELECT * FROM frame")
        n += frame.height
    for j, path in enumerate(sorted(Path(data).glob("stock_*.parquet"))):
        con.execute(f"CREATE TABLE s{{j}} AS SELECT * FROM read_parquet(?)", [str(path)])
        n += con.execute(f"SELECT count(*) FROM s{{j}}").fetchall()[0][0]
    rows = n
elapsed = time.perf_counter() - started
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"phase": phase, "rows": rows, "seconds": elapsed, "peak_mib": peak_mib}}))
"""


def _run(phase: str, data: Path, db: Path, scale: str) -> dict[str, float]:
    code = _CHILD.format(root=str(ROOT), scale=scale)
    done = subprocess.run(
        [sys.executable, "-c", code, phase, str(data), str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated files and DB here")
    args = parser.parse_args()

    results: dict[str, list[dict[str, float]]] = {}
    for attempt in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix=f"pf-bench-{args.scale}-"))
        data, db = work / "landing", work / "w.duckdb"
        for phase in ("generate", "ingest", "reingest", "bare_load"):
            target_db = work / "bare.duckdb" if phase == "bare_load" else db
            result = _run(phase, data, target_db, args.scale)
            results.setdefault(phase, []).append(result)
            print(
                f"run {attempt + 1}: {phase:9s} {result['rows']:>12,.0f} rows "
                f"{result['seconds']:8.1f} s  peak {result['peak_mib']:7.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
        if args.keep and attempt == args.repeat - 1:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.move(str(work), args.keep)
        else:
            shutil.rmtree(work, ignore_errors=True)

    bare = statistics.median(r["seconds"] for r in results["bare_load"])
    print(
        f"\n{date.today()} · {platform.node()} · {platform.processor() or platform.machine()} · "
        f"scale {args.scale} · {args.repeat} run(s), medians\n"
    )
    print("| phase | rows | seconds | rows/s | peak RSS MiB | ratio to bare load |")
    print("|---|---:|---:|---:|---:|---:|")
    for phase, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rows = statistics.median(r["rows"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        ratio = f"{seconds / bare:.2f}" if phase in ("ingest", "reingest") else ""
        rate = rows / seconds
        print(f"| {phase} | {rows:,.0f} | {seconds:.1f} | {rate:,.0f} | {peak:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
