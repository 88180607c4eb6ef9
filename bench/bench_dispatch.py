"""30-minute store dispatch on the generated network's busiest day: rolling horizon vs naive.

For each forward warehouse, the fewest riders that keep >= 99 % of the day's
store orders on time (30 min from order to handover) with each dispatcher
(``optimization.delivery.day_replay.size_fleet``), the rider-hours that fleet is paid,
and the rolling dispatcher's per-tick solve times. Targets: >= 99 % on time,
>= 25 % fewer rider-hours than naive, tick solve p99 <= 2 s. Prints a
Markdown table and the ``uptime`` load (timings are wall-clock on a shared
machine).

    .venv/bin/partsflow generate --scale medium --out /tmp/dispatch_gen
    .venv/bin/partsflow ingest --db /tmp/dispatch.duckdb /tmp/dispatch_gen
    .venv/bin/python bench/bench_dispatch.py --db /tmp/dispatch.duckdb [--day YYYY-MM-DD]
        [--tick 120] [--time-limit 1.0] [--hold 180] [--warehouses FW001,FW004] [--promise]

``--promise`` then replays each day at the rolling fleet with every order promised a
handover as it is placed (the promise engine, ``optimization.delivery.promise``) and
reports the promises kept.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

import numpy as np

from optimization.delivery.day_replay import (
    DayInstance,
    SimParams,
    SizedFleet,
    day_instances,
    make_riders,
    size_fleet,
)
from optimization.delivery.dispatch import DispatchParams, handovers, late_orders
from optimization.delivery.promise import dispatch_promised
from warehouse.dispatch import busiest_day, day_orders, warehouse_points
from warehouse.schema import connect


def _num(row: dict[str, object], key: str) -> float:
    value = row[key]
    return float(value) if isinstance(value, int | float) else float("nan")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/dispatch.duckdb"))
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--tick", type=int, default=120)
    parser.add_argument("--time-limit", type=float, default=1.0)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--hold", type=int, default=DispatchParams().hold_s)
    parser.add_argument("--warehouses", default="")
    parser.add_argument(
        "--promise",
        action="store_true",
        help="also replay each day at the rolling fleet promising every order a time",
    )
    args = parser.parse_args()

    con = connect(args.db, read_only=True)
    try:
        day = args.day or busiest_day(con)
        if day is None:
            raise SystemExit("no orders in the database")
        orders = day_orders(con, day)
        warehouses = warehouse_points(con)
    finally:
        con.close()
    wanted = {w for w in args.warehouses.split(",") if w}
    dispatch = DispatchParams(tick_s=args.tick, time_limit_s=args.time_limit, hold_s=args.hold)
    params = SimParams(dispatch=dispatch)
    print(
        f"day {day} ({orders.height} store orders), tick {args.tick} s, "
        f"time limit {args.time_limit} s, hold {args.hold} s, load before: {_load()}",
        flush=True,
    )

    rows: list[tuple[str, int, SizedFleet, SizedFleet, float]] = []
    solve: list[float] = []
    for instance in day_instances(orders, warehouses, params):
        if wanted and instance.warehouse_id not in wanted:
            continue
        started = time.perf_counter()
        naive = size_fleet(instance, "naive", params, args.target)
        rolling = size_fleet(
            instance, "rolling", params, args.target, naive_riders=naive.size.riders
        )
        seconds = time.perf_counter() - started
        solve.extend(t.solve_s for t in rolling.result.ticks)
        rows.append((instance.warehouse_id, len(instance.orders), naive, rolling, seconds))
        print(
            f"  {instance.warehouse_id}: naive {naive.size.tried}, "
            f"rolling {rolling.size.tried} ({seconds:.0f} s)",
            flush=True,
        )

    print()
    print(
        "| FW | orders | naive riders | naive rider-h | naive on time | rolling riders "
        "| rolling rider-h | rolling on time | rider-h saved | orders/trip | km naive → rolling "
        "| tick p50 / p99 s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals = np.zeros(7)
    for wid, n, naive, rolling, _ in rows:
        nk, rk = naive.kpis, rolling.kpis
        saved = 1 - _num(rk, "rider_hours") / _num(nk, "rider_hours")
        print(
            f"| {wid} | {n} | {naive.size.riders} | {_num(nk, 'rider_hours'):.1f} "
            f"| {_num(nk, 'on_time_rate'):.1%} | {rolling.size.riders} "
            f"| {_num(rk, 'rider_hours'):.1f} | {_num(rk, 'on_time_rate'):.1%} | {saved:.1%} "
            f"| {_num(rk, 'orders_per_trip'):.2f} | {_num(nk, 'km'):.0f} → {_num(rk, 'km'):.0f} "
            f"| {_num(rk, 'tick_solve_p50_s'):.3f} / {_num(rk, 'tick_solve_p99_s'):.3f} |"
        )
        totals += np.array(
            [
                n,
                naive.size.riders,
                _num(nk, "rider_hours"),
                _num(nk, "on_time"),
                rolling.size.riders,
                _num(rk, "rider_hours"),
                _num(rk, "on_time"),
            ]
        )
    if rows:
        n_all, nr, nh, non, rr, rh, ron = (float(x) for x in totals)
        ticks = np.array(solve)
        print(
            f"| **total** | {n_all:.0f} | {nr:.0f} | {nh:.1f} | {non / n_all:.1%} | {rr:.0f} "
            f"| {rh:.1f} | {ron / n_all:.1%} | {1 - rh / nh:.1%} | | "
            f"| {np.quantile(ticks, 0.5):.3f} / {np.quantile(ticks, 0.99):.3f} |"
        )
        print(
            f"\n{ticks.size} solved ticks at the rolling minimum fleets; max tick "
            f"{ticks.max():.3f} s; bench time {sum(r[4] for r in rows):.0f} s; "
            f"load after: {_load()}"
        )
    if args.promise:
        _promises(day_instances(orders, warehouses, params), rows, params)


def _promises(
    instances: list[DayInstance],
    rows: list[tuple[str, int, SizedFleet, SizedFleet, float]],
    params: SimParams,
) -> None:
    """Each day again at the rolling fleet, each order promised a handover as it is
    placed (``optimization.delivery.promise.dispatch_promised``): promises kept, how long
    they were, and the 30-minute rule kept meanwhile."""
    by_id = {i.warehouse_id: i for i in instances}
    print(
        "\n| FW | riders | promises kept | promise p50 / p90 / max min "
        "| on time (30 min) with promises | without |"
    )
    print("|---|---:|---:|---|---:|---:|")
    for wid, _, _, rolling, _ in rows:
        instance = by_id[wid]
        fleet = make_riders(rolling.size.riders, params)
        result, promised = dispatch_promised(
            instance.orders, fleet, instance.travel, params.times, params.dispatch
        )
        placed = {o.id: o.arrival_s for o in instance.orders}
        handed = handovers(result.trips, params.times)
        kept = sum(handed[oid] <= due for oid, due in promised.items())
        minutes = np.array([(due - placed[oid]) / 60 for oid, due in promised.items()])
        late = late_orders(result.trips, instance.orders, params.times)
        n = len(instance.orders)
        p50, p90, top = np.quantile(minutes, [0.5, 0.9, 1.0])
        print(
            f"| {wid} | {rolling.size.riders} | {kept}/{n} ({kept / n:.1%}) "
            f"| {p50:.1f} / {p90:.1f} / {top:.1f} | {(n - late) / n:.1%} "
            f"| {_num(rolling.kpis, 'on_time_rate'):.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
