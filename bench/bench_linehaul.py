"""The nightly line-haul on a generated network: vans, kilometres and solve time (issue 5).

Reads a network database (``partsflow generate`` + ``partsflow ingest``) and
routes the DC's vans to every forward warehouse with
:func:`optimization.routing.linehaul.plan_linehaul` (the solver of ``partsflow
route``), for two loads per warehouse:

* ``average night`` — the litres of an average day's demand over the last 28
  days (what a steady night replaces);
* ``busiest night`` — the litres of the warehouse's busiest day of the last
  91 days, all warehouses at once (a peak night, e.g. after the 11.11 sale);
* ``tonight's plan`` — when the database holds a succeeded nightly run (e.g.
  one kept by ``bench/bench_night_large.py --keep``): its transfer orders due
  the next morning, what the night's ``plan_routes`` routed. On a first night
  that is the forward warehouses' stock-up to the policy's levels.

Each at the given time limits (``--limits``), ``--repeat`` runs each; the
table shows medians of the wall time, vans and trips, the best and worst
distance, and the fill of the trips (litres delivered over the vans'
capacity of the trips driven; a shuttle is a full van).

    .venv/bin/python bench/bench_linehaul.py --db /tmp/large/w.duckdb [--limits 5,10,30]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimization.routing.linehaul import LINEHAUL_LOADS, LinehaulParams, plan_linehaul  # noqa: E402
from warehouse import demand, replenishment, runs  # noqa: E402
from warehouse.schema import connect  # noqa: E402
from warehouse.transfers import released_loads  # noqa: E402


def night_loads(con: object, as_of: date) -> dict[str, pl.DataFrame]:
    """``LINEHAUL_LOADS`` of an average and of the busiest night per warehouse."""
    assert hasattr(con, "sql")
    history = demand.daily_demand(con, as_of, 91)  # type: ignore[arg-type]
    skus = replenishment.sku_policy(con)  # type: ignore[arg-type]
    shelf = replenishment.network_shelf(con)  # type: ignore[arg-type]
    daily = (
        history.join(skus.select("sku", "unit_volume_l"), on="sku")
        .group_by("warehouse_id", "ds")
        .agg(volume_l=(pl.col("y") * pl.col("unit_volume_l")).sum(), units=pl.col("y").sum())
        .join(shelf.select("warehouse_id", "dc_id"), on="warehouse_id")
    )
    average = (
        daily.filter(pl.col("ds") > as_of - timedelta(days=28))
        .group_by("dc_id", "warehouse_id")
        .agg(pl.col("volume_l").sum() / 28, (pl.col("units").sum() / 28).round().cast(pl.Int64))
    )
    busiest = daily.group_by("dc_id", "warehouse_id").agg(
        pl.col("volume_l").max(), pl.col("units").max().cast(pl.Int64)
    )
    return {
        "average night": average.select(LINEHAUL_LOADS.names()).cast(LINEHAUL_LOADS),
        "busiest night": busiest.select(LINEHAUL_LOADS.names()).cast(LINEHAUL_LOADS),
    }


def planned_loads(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """``LINEHAUL_LOADS`` of the latest succeeded nightly's transfers due the next morning."""
    latest = runs.latest_succeeded(con, "nightly")
    if latest is None:
        return None
    frame = released_loads(con, latest[0], only_released=False)
    return frame.select(LINEHAUL_LOADS.names()).cast(LINEHAUL_LOADS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--limits", default="5,10,30")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with connect(args.db) as con:
        as_of = demand.last_demand_date(con)
        assert as_of is not None
        loads = night_loads(con, as_of)
        planned = planned_loads(con)
        if planned is not None and not planned.is_empty():
            loads["tonight's plan"] = planned
        sites = replenishment.warehouse_sites(con)

    print(f"date {date.today()}, {platform.platform()}")
    print(f"command: {' '.join(sys.argv)}")
    print()
    print(
        "| night | warehouses | litres | limit s | wall s (median) | vans | trips "
        "| km (best–worst) | fill | unassigned l | latest drop |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for name, frame in loads.items():
        for limit in (float(x) for x in args.limits.split(",")):
            params = LinehaulParams(time_limit_s=limit)
            walls, kms, vans, trips, fills, unassigned, latest = [], [], [], [], [], [], []
            for seed in range(args.repeat):
                started = time.perf_counter()
                plans = plan_linehaul(frame, sites, LinehaulParams(time_limit_s=limit, seed=seed))
                walls.append(time.perf_counter() - started)
                kms.append(sum(p.solution.distance for p in plans) / 1000)
                vans.append(sum(p.vans_needed for p in plans))
                trips.append(sum(p.trips for p in plans))
                capacity = sum(p.trips * params.van_capacity_l for p in plans)
                fills.append(sum(p.delivered_l for p in plans) / capacity)
                unassigned.append(sum(p.unassigned_volume_l for p in plans))
                latest.append(max(a for p in plans for r in p.solution.routes for a in r.arrivals))
            last = params.night_start.hour * 3600 + max(latest)
            print(
                f"| {name} | {frame.height} | {frame['volume_l'].sum():,.0f} | {limit:g} "
                f"| {statistics.median(walls):.1f} | {statistics.median(vans):g} "
                f"| {statistics.median(trips):g} "
                f"| {min(kms):,.1f}–{max(kms):,.1f} | {statistics.median(fills):.3f} "
                f"| {max(unassigned):,.0f} "
                f"| {(last // 3600) % 24:02d}:{last % 3600 // 60:02d} |"
            )


if __name__ == "__main__":
    main()
