"""Speed and memory of the nightly forecasting step on a generated network (issue 3, item 8).

Reads a network database (read-only), builds the daily demand of every active
(forward warehouse, sku) series the way the nightly run does
(``warehouse.demand.daily_demand`` over 365 days, ``unique_id`` =
``warehouse_id/sku``, group = the sku's category, zero-filled by the engine
from the first sale to the as-of date) and measures, warehouse by warehouse:

(b) cold night
    no stored selection: ``forecast_chunks`` selects on a stable sample of
    ``--sample`` series per class × category (``ForecastParams.selection_sample``)
    and assigns the class × category choice to the rest;
(a) nightly
    the same step with the selection of (b) reused (nothing stale: the path is
    fill, classify, fit the chosen model per group of series, quantiles);
(c) bare
    ``StatsForecast(models=..., freq="1d", n_jobs=N).forecast(df=..., h=14)``
    once per chosen model over its series, on the already zero-filled frames
    (the maths only). ``c best`` is the same with the engine's rule for worker
    processes (``models.fitting.fit_jobs``: a pool only for expensive models).

Each phase runs in its own process, so its peak RSS (own, and the largest
worker's) is its own. Times are medians over ``--repeat`` runs ((b) runs
``--cold-repeat`` times). Prints a Markdown table.

    .venv/bin/python bench/bench_forecast_speed.py --db /tmp/med.duckdb [--n-jobs 2]
        [--repeat 3] [--cold-repeat 1] [--sample 20] [--warehouses K]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from statsforecast import StatsForecast

from models.candidates import base_models, build_models
from models.engine import forecast_chunks
from models.fitting import fit_jobs
from models.params import ForecastParams
from models.seasonal import TOTALS_DAYS
from models.selection import Selection
from models.series import fill_series
from warehouse.demand import category_totals, daily_demand, last_demand_date

HISTORY_DAYS = 365
HORIZON = 14


def load(
    db: Path, limit: int | None
) -> tuple[date, list[tuple[str, pl.DataFrame, pl.DataFrame, pl.DataFrame]]]:
    """As-of date and, per warehouse, its sparse history, its series' groups and category totals.

    The totals are read from DuckDB as the nightly reads them
    (``flows.load_forecast_inputs``), outside the timed step.
    """
    con = duckdb.connect(str(db), read_only=True)
    as_of = last_demand_date(con)
    assert as_of is not None, "the database has no order lines"
    demand = daily_demand(con, as_of, HISTORY_DAYS)
    categories = con.sql("SELECT sku, category AS group FROM skus").pl()
    totals = category_totals(con, as_of, TOTALS_DAYS)
    con.close()
    demand = demand.with_columns(unique_id=pl.col("warehouse_id") + "/" + pl.col("sku"))
    parts = demand.partition_by("warehouse_id", as_dict=True, maintain_order=True)
    del demand
    chunks: list[tuple[str, pl.DataFrame, pl.DataFrame, pl.DataFrame]] = []
    for (warehouse,), part in sorted(parts.items()):
        groups = (
            part.select("unique_id", "sku")
            .unique("unique_id")
            .join(categories, on="sku", how="left")
            .select("unique_id", "group")
        )
        own = totals.filter(pl.col("warehouse_id") == warehouse).drop("warehouse_id")
        chunks.append((str(warehouse), part.select("unique_id", "ds", "y"), groups, own))
        if limit is not None and len(chunks) >= limit:
            break
    return as_of, chunks


def _peak() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_mib": own, "worker_peak_mib": child}


def _params(args: argparse.Namespace) -> ForecastParams:
    return ForecastParams(
        freq="D", horizon=HORIZON, n_jobs=args.n_jobs, selection_sample=args.sample
    )


def _one(
    chunk: pl.DataFrame,
    params: ForecastParams,
    previous: Selection | None,
    groups: pl.DataFrame,
    as_of: date,
    totals: pl.DataFrame,
) -> Any:
    return next(iter(forecast_chunks([chunk], params, previous, groups, as_of, totals)))


def phase(args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in this process; returns timings per warehouse (seconds, median)."""
    t0 = time.perf_counter()
    as_of, chunks = load(args.db, args.warehouses)
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "rows": {}}
    params = _params(args)
    store = Path(args.store)
    for warehouse, history, groups, totals in chunks:
        row: dict[str, Any] = {"series": history["unique_id"].n_unique()}
        if args.phase == "cold":
            times = []
            for _ in range(args.cold_repeat):
                t = time.perf_counter()
                result = _one(history, params, None, groups, as_of, totals)
                times.append(time.perf_counter() - t)
            # What the nightly flow persists per chunk: the two frames of the Selection.
            result.selection.models.write_parquet(store / f"{warehouse}.models.parquet")
            result.selection.calibration.write_parquet(store / f"{warehouse}.calibration.parquet")
            row["cold_s"] = statistics.median(times)
            row["backtested"] = int(result.selection.models["score"].is_not_null().sum())
            row["models"] = dict(result.series.group_by("model").len().iter_rows())
        elif args.phase == "nightly":
            previous = Selection(
                pl.read_parquet(store / f"{warehouse}.models.parquet"),
                pl.read_parquet(store / f"{warehouse}.calibration.parquet"),
            )
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = _one(history, params, previous, groups, as_of, totals)
                times.append(time.perf_counter() - t)
                assert result.backtest.height == 0, "nightly path re-selected series"
            row["nightly_s"] = statistics.median(times)
        else:
            selection = pl.read_parquet(store / f"{warehouse}.models.parquet")
            filled = fill_series(history, "D", end=as_of)
            tagged = filled.join(selection.select("unique_id", "model"), on="unique_id")
            groups_by_model = {
                str(k[0]): f.drop("model").sort("unique_id", "ds")
                for k, f in tagged.group_by("model")
            }
            for key, rule in (("bare_s", False), ("bare_best_s", True)):
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    for alias, frame in groups_by_model.items():
                        jobs = fit_jobs(alias, args.n_jobs) if rule else args.n_jobs
                        StatsForecast(
                            models=build_models(base_models((alias,)), 7), freq="1d", n_jobs=jobs
                        ).forecast(df=frame, h=HORIZON)
                    times.append(time.perf_counter() - t)
                row[key] = statistics.median(times)
        out["rows"][warehouse] = row
    out.update(_peak())
    return out


def _run_phase(name: str, args: argparse.Namespace, store: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--db",
        str(args.db),
        "--n-jobs",
        str(args.n_jobs),
        "--repeat",
        str(args.repeat),
        "--cold-repeat",
        str(args.cold_repeat),
        "--sample",
        str(args.sample),
        "--phase",
        name,
        "--store",
        store,
    ]
    if args.warehouses is not None:
        cmd += ["--warehouses", str(args.warehouses)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _table(results: dict[str, dict[str, Any]]) -> Iterator[str]:
    header = [
        "warehouse",
        "series",
        "backtested (b)",
        "(b) cold s",
        "(a) nightly s",
        "(c) bare n_jobs=N s",
        "(c) bare best s",
        "(a)/(c)",
        "(a)/(c best)",
        "(a) series/s",
    ]
    yield "| " + " | ".join(header) + " |"
    yield "|" + "---|" * len(header)
    rows = results["cold"]["rows"]
    total = {k: 0.0 for k in ("series", "backtested", "cold", "nightly", "bare", "best")}
    for warehouse in rows:
        values = {
            "series": rows[warehouse]["series"],
            "backtested": rows[warehouse]["backtested"],
            "cold": rows[warehouse]["cold_s"],
            "nightly": results["nightly"]["rows"][warehouse]["nightly_s"],
            "bare": results["bare"]["rows"][warehouse]["bare_s"],
            "best": results["bare"]["rows"][warehouse]["bare_best_s"],
        }
        for k, v in values.items():
            total[k] += v
        yield _line(warehouse, values)
    yield _line("**total**", total)


def _line(name: str, v: dict[str, float]) -> str:
    cells = [
        name,
        f"{v['series']:,.0f}",
        f"{v['backtested']:,.0f}",
        f"{v['cold']:.1f}",
        f"{v['nightly']:.1f}",
        f"{v['bare']:.1f}",
        f"{v['best']:.1f}",
        f"{v['nightly'] / v['bare']:.2f}",
        f"{v['nightly'] / v['best']:.2f}",
        f"{v['series'] / v['nightly']:,.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-repeat", type=int, default=1)
    parser.add_argument("--sample", type=int, default=20, help="series per class × category")
    parser.add_argument("--warehouses", type=int, default=None, help="only the first K")
    parser.add_argument("--phase", choices=["cold", "nightly", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args)))
        return
    with tempfile.TemporaryDirectory() as store:
        results = {name: _run_phase(name, args, store) for name in ("cold", "nightly", "bare")}
    print(
        f"# Nightly forecasting step, {args.db}, {date.today()}, {platform.node()} "
        f"({os.cpu_count()} cores), n_jobs={args.n_jobs}, sample={args.sample}/class×category, "
        f"medians of {args.repeat} (cold: {args.cold_repeat})\n"
    )
    print("\n".join(_table(results)))
    print()
    for name, r in results.items():
        print(
            f"- {name}: load {r['load_s']:.1f} s, peak RSS {r['peak_mib']:,.0f} MiB "
            f"(largest worker {r['worker_peak_mib']:,.0f} MiB)"
        )
    models: dict[str, int] = {}
    for row in results["cold"]["rows"].values():
        for m, c in row["models"].items():
            models[m] = models.get(m, 0) + c
    print("- models chosen: " + ", ".join(f"{m} {c:,}" for m, c in sorted(models.items())))


if __name__ == "__main__":
    main()
