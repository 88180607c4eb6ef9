"""Benchmark: would a planner sign the night's plan? Checks and distributions of one run.

Reads the latest succeeded nightly run of a working database (after ``partsflow
demo`` or ``partsflow nightly``) and prints what issue 12 asks of a first night:

* no dormant series allocated anything; no line above the cover cap;
* no stranded DC unit (a line cut for DC stock while its DC kept a whole sales
  multiple of that SKU free); no transfer line that breaks a set (tyres);
* the range decision (series held / kept at the DC, by class), days of cover and
  value of what is proposed and allocated, cuts, pull-backs, and transfer-order
  lines that move nothing.

Usage::

    .venv/bin/python bench/bench_first_night.py --db data/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _quantiles(values: pl.Series) -> str:
    if values.is_empty():
        return "–"
    qs = [values.quantile(q) for q in (0.1, 0.5, 0.9)]
    return " / ".join(f"{q:,.0f}" for q in qs if q is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    con = duckdb.connect(str(args.db), read_only=True)
    run_id, as_of, params = con.execute(
        "SELECT run_id, as_of, params FROM runs WHERE kind = 'nightly' AND status = 'succeeded' "
        "ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()[0]
    cap = float(json.loads(params)["policy"]["cover_cap_days"])
    plan = con.sql(
        "SELECT p.*, s.category AS sku_category FROM replenishment_plan p "
        "JOIN skus s USING (sku) WHERE run_id = ?",
        params=[run_id],
    ).pl()
    free = con.sql(
        """
        SELECT l.sku, sum(l.quantity) AS sent FROM transfer_orders o
        JOIN transfer_order_lines l USING (transfer_id)
        WHERE o.run_id = ? AND o.from_warehouse_id IN
            (SELECT warehouse_id FROM warehouses WHERE kind = 'dc')
        GROUP BY ALL
        """,
        params=[run_id],
    ).pl()
    dc = con.sql(
        """
        SELECT sku, sum(free) AS free FROM (
            SELECT s.sku, s.on_hand - s.reserved AS free FROM stock_levels s
            JOIN warehouses w USING (warehouse_id)
            WHERE w.kind = 'dc' AND s.as_of <= ?
            QUALIFY row_number() OVER (
                PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        ) GROUP BY ALL
        """,
        params=[as_of],
    ).pl()
    lines = con.sql(
        "SELECT l.* FROM transfer_order_lines l JOIN transfer_orders o USING (transfer_id) "
        "WHERE o.run_id = ?",
        params=[run_id],
    ).pl()
    con.close()

    allocated = plan.filter(pl.col("allocated_quantity") > 0)
    left = (
        dc.join(free, on="sku", how="left")
        .with_columns(left=pl.col("free") - pl.col("sent").fill_null(0))
        .join(plan.select("sku", "sales_multiple").unique("sku"), on="sku", how="left")
    )
    cut_short = plan.filter(pl.col("cut_by").str.contains("dc_stock")).select("sku").unique()
    stranded = left.join(cut_short, on="sku").filter(
        pl.col("left") >= pl.col("sales_multiple").fill_null(1)
    )
    tyres = allocated.filter(pl.col("sku_category") == "tyres")
    print(f"date {date.today()}; run {run_id} as of {as_of}; cover cap {cap:g} days")
    print()
    print("| check | count |")
    print("|---|---:|")
    checks = {
        "dormant series allocated": allocated.filter(pl.col("class") == "dormant").height,
        "lines above the cover cap after transfer": allocated.filter(
            pl.col("cover_days") > cap + 1e-9
        ).height,
        "SKUs cut for DC stock while the DC keeps a whole multiple free": stranded.height,
        "tyre lines not a multiple of their set": tyres.filter(
            pl.col("allocated_quantity") % pl.col("sales_multiple") != 0
        ).height,
        "odd tyre lines": tyres.filter(pl.col("allocated_quantity") % 2 == 1).height,
        "transfer-order lines moving nothing": lines.filter(pl.col("quantity") == 0).height,
    }
    for name, count in checks.items():
        print(f"| {name} | {count:,} |")
    print()
    by_class = (
        plan.group_by(pl.col("class").fill_null("(none)"))
        .agg(
            series=pl.len(),
            held=pl.col("stocked").sum(),
            proposed=pl.col("proposed_quantity").sum(),
            allocated=pl.col("allocated_quantity").sum(),
        )
        .sort("series", descending=True)
    )
    print("| class | series | held here | units proposed | units allocated |")
    print("|---|---:|---:|---:|---:|")
    for row in by_class.iter_rows(named=True):
        print(
            f"| {row['class']} | {row['series']:,} | {row['held']:,} | {row['proposed']:,} "
            f"| {row['allocated']:,} |"
        )
    print()
    proposed = plan.filter(pl.col("proposed_quantity") > 0)
    cover_after = allocated.with_columns(
        cover=(pl.col("inventory_position") + pl.col("allocated_quantity")) / pl.col("rate")
    )["cover"]
    held = plan.filter(pl.col("stocked") & (pl.col("rate") > 0))
    trimmed = plan.filter(pl.col("order_up_to") < pl.col("level_before_shelf"))
    print("| figure | value |")
    print("|---|---:|")
    figures = {
        "series / held here": f"{plan.height:,} / {plan['stocked'].sum():,}",
        "lines proposed / allocated": f"{proposed.height:,} / {allocated.height:,}",
        "units raw need / proposed / allocated": (
            f"{plan['raw_need'].sum():,} / {plan['proposed_quantity'].sum():,} / "
            f"{plan['allocated_quantity'].sum():,}"
        ),
        "value proposed / allocated (¥ at cost)": (
            f"{(plan['proposed_quantity'] * plan['unit_cost']).sum():,.0f} / "
            f"{(plan['allocated_quantity'] * plan['unit_cost']).sum():,.0f}"
        ),
        "days of cover after allocation, p10 / median / p90": _quantiles(cover_after),
        "days of cover of held series' levels S, p10 / median / p90": _quantiles(
            held["order_up_to"] / held["rate"]
        ),
        "level value, all S (¥ at cost)": f"{(plan['order_up_to'] * plan['unit_cost']).sum():,.0f}",
        "lines cut (by cause)": ", ".join(
            f"{c} {n:,}"
            for c, n in plan.filter(pl.col("cut_by") != "none")
            .group_by("cut_by")
            .len()
            .sort("len", descending=True)
            .rows()
        )
        or "none",
        "pull-back lines / units / their median rate per day": (
            f"{plan.filter(pl.col('pull_back_quantity') > 0).height:,} / "
            f"{plan['pull_back_quantity'].sum():,} / "
            f"{plan.filter(pl.col('pull_back_quantity') > 0)['rate'].median() or 0:.2f}"
        ),
        "levels trimmed to the shelf": f"{trimmed.height:,}",
        "transfer-order lines": f"{lines.height:,}",
    }
    for name, value in figures.items():
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
