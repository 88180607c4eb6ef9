"""Speed of the nightly planning step: proposals for every series + each DC's allocation.

Issue 4's speed target: planning + allocation for the large network in ≤ 5
minutes. Reads a network database (``partsflow generate`` + ``partsflow
ingest``; opening it upgrades its schema), loads what the nightly plan step
reads (``warehouse.replenishment``: stock positions, SKU policy data, DC stock,
shelves, targets) and times :func:`optimization.replenishment.planning.plan_network` and
:func:`optimization.replenishment.planning.transfer_orders` ``--repeat`` times.

The demand distribution is a stand-in for the forecast, so that this runs
without a 6-minute forecasting step first: per series the mean daily demand of
the last 28 days and the variance-to-mean ratio of the last 91 days (≥ 1), for
every series with a sale in the last 365 days. The cost of the plan depends on
the number of series and of contested lines, not on how the rate was made.

Also reports the allocation per DC: status, lines, contested lines, MIP
variables and constraints, solve time, units proposed and allocated.

    .venv/bin/python bench/bench_plan_speed.py --db /tmp/large/w.duckdb [--repeat 3]
        [--time-limit 30]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimization.replenishment.allocation import AllocationParams  # noqa: E402
from optimization.replenishment.planning import plan_network, transfer_orders  # noqa: E402
from optimization.replenishment.policy import DEMAND_DISTRIBUTION  # noqa: E402
from warehouse import demand, replenishment  # noqa: E402
from warehouse.schema import connect  # noqa: E402


def stand_in_demand(history: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Rate = mean of the last 28 days; dispersion = variance/mean of the last 91 days."""
    recent = history.filter(pl.col("ds") > as_of - timedelta(days=91))
    spread = recent.group_by("warehouse_id", "sku").agg(
        total=pl.col("y").sum(), squares=(pl.col("y") ** 2).sum()
    )
    spread = spread.with_columns(mean=pl.col("total") / 91).with_columns(
        dispersion=((pl.col("squares") / 91 - pl.col("mean") ** 2) / pl.col("mean"))
        .fill_nan(1.0)
        .clip(lower_bound=1.0)
    )
    rate = (
        history.filter(pl.col("ds") > as_of - timedelta(days=28))
        .group_by("warehouse_id", "sku")
        .agg(rate=pl.col("y").sum() / 28)
    )
    # The class is left unknown (no forecast here); the last sale is the history's.
    series = history.group_by("warehouse_id", "sku").agg(last_sale=pl.col("ds").max())
    return (
        series.with_columns(pl.lit(None, pl.String).alias("class"))
        .join(rate, on=["warehouse_id", "sku"], how="left")
        .join(
            spread.select("warehouse_id", "sku", "dispersion"),
            on=["warehouse_id", "sku"],
            how="left",
        )
        .with_columns(pl.col("rate").fill_null(0.0), pl.col("dispersion").fill_null(1.0))
        .select(DEMAND_DISTRIBUTION.names())
        .cast(DEMAND_DISTRIBUTION)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args()

    started = time.perf_counter()
    with connect(args.db) as con:
        as_of = demand.last_demand_date(con)
        assert as_of is not None, "no order lines in the database"
        history = demand.daily_demand(con, as_of, 365)
        positions = replenishment.stock_positions(con, as_of)
        skus = replenishment.sku_policy(con)
        dc_stock = replenishment.dc_stock(con, as_of)
        shelf = replenishment.network_shelf(con)
        targets = replenishment.service_targets(con)
    load_s = time.perf_counter() - started
    distribution = stand_in_demand(history, as_of)
    params = AllocationParams(time_limit_s=args.time_limit)

    times: list[float] = []
    network = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        network = plan_network(
            distribution, positions, skus, dc_stock, shelf, as_of, targets, allocation=params
        )
        headers, lines = transfer_orders(network.plan, "bench", as_of)
        times.append(time.perf_counter() - t0)
    assert network is not None
    plan = network.plan
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    print(f"date {date.today()}, {platform.platform()}, {platform.processor() or 'cpu'}")
    print(f"command: {' '.join(sys.argv)}")
    print()
    print(
        "| database | series | lines proposed | units proposed | units allocated | lines cut "
        "| transfer orders | load inputs s | plan + allocate + orders s (median) | runs s "
        "| peak RSS GB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    proposed = plan.filter(pl.col("proposed_quantity") > 0)
    print(
        f"| {args.db} | {plan.height:,} | {proposed.height:,} "
        f"| {int(plan['proposed_quantity'].sum()):,} | {int(plan['allocated_quantity'].sum()):,} "
        f"| {plan.filter(pl.col('allocated_quantity') < pl.col('proposed_quantity')).height:,} "
        f"| {headers.height:,} ({lines.height:,} lines) | {load_s:.1f} "
        f"| {statistics.median(times):.1f} | {', '.join(f'{t:.1f}' for t in times)} "
        f"| {peak_gb:.2f} |"
    )
    print()
    print(
        "| DC | status | lines | contested | MIP variables | MIP constraints | solve s "
        "| units proposed | units allocated | value kept | of upper bound |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in network.allocations.iter_rows(named=True):
        kept = row["objective"] / row["proposed_value"] if row["proposed_value"] else 1.0
        print(
            f"| {row['dc_id']} | {row['status']} | {row['lines']:,} | {row['contested']:,} "
            f"| {row['variables']:,} | {row['constraints']:,} | {row['solve_seconds']:.1f} "
            f"| {row['units_proposed']:,} | {row['units_allocated']:,} | {kept:.3f} "
            f"| {row['objective'] / row['upper_bound']:.3f} |"
        )
    cuts = plan.group_by("cut_by").len().sort("len", descending=True)
    print()
    print("cut_by: " + ", ".join(f"{c} {n:,}" for c, n in cuts.rows()))


if __name__ == "__main__":
    main()
