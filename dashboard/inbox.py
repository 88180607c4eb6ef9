"""The exceptions inbox: what needs a planner today, ranked, each with its reason in words.

:func:`build_items` turns what the published snapshot says (plan lines
needing attention, the backtest's bias, tonight's store coverage, the
runs) into items of :data:`ITEMS`. Frames in, a frame out: no IO here.

An item's id is its kind, its subject and a fingerprint of the figures that
make it an exception (``cut:FW01/K1:6-4``): a decision (acknowledge, snooze)
holds for those figures, and the item comes back when they change.

Severity: ``high`` (stores are or will be turned away: nothing free and
nothing coming tonight, a store outside the promise, a failed night),
``medium`` (a stock-out until tonight's delivery, a cut of half or more,
dead stock, a bias past 30 %), ``low`` (smaller cuts, stock nearing 90
days, a bias past 15 %). Within a severity, by what is at stake (¥).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

import polars as pl

#: One inbox item.
ITEMS = pl.Schema(
    {
        "item_id": pl.String(),
        "severity": pl.String(),
        "kind": pl.String(),
        "warehouse_id": pl.String(),
        "category": pl.String(),
        "subject": pl.String(),
        "reason": pl.String(),
        "stake": pl.Float64(),
        "link": pl.String(),
    }
)

SEVERITIES = ("high", "medium", "low")

#: Kinds, as the inbox names them.
KINDS = {
    "stock_out": "Stock-out risk",
    "cut": "DC shortage cut",
    "allocation": "Allocation cut",
    "dead": "Dead stock",
    "ageing": "Nearing 90 days",
    "bias": "Forecast bias",
    "uncovered": "Store outside 5 km / 30 min",
    "failed_run": "Failed run",
}

#: |bias| from which a scope's forecast is an exception (low), and medium.
BIAS_LOW, BIAS_MEDIUM = 0.15, 0.30


def build_items(
    lines: pl.DataFrame,
    accuracy: pl.DataFrame,
    coverage: pl.DataFrame,
    runs: pl.DataFrame,
    *,
    root: str = "/dashboard/",
) -> pl.DataFrame:
    """Every item, ranked: severity, then the stake.

    Parameters
    ----------
    lines
        ``published.ATTENTION_LINES``.
    accuracy
        ``published.ACCURACY_ROWS`` at the warehouse and category scopes.
    coverage
        ``published.STORE_COVERAGE`` of the flagged stores.
    runs
        ``published.RUN_HISTORY``.
    root
        The dashboard's path, for the links.
    """
    rows: list[dict[str, Any]] = []
    rows += _line_items(lines, root)
    rows += _bias_items(accuracy, root)
    rows += _store_items(coverage, root)
    rows += _run_items(runs, root)
    if not rows:
        return ITEMS.to_frame()
    order = {name: rank for rank, name in enumerate(SEVERITIES)}
    return (
        pl.DataFrame(rows, schema=ITEMS)
        .with_columns(_rank=pl.col("severity").replace_strict(order, return_dtype=pl.Int64))
        .sort(["_rank", "stake", "item_id"], descending=[False, True, False])
        .drop("_rank")
    )


def _sku_link(root: str, warehouse_id: str, sku: str) -> str:
    # quote, not urlencode: thousands of links a page, and urlencode is ten times slower
    return f"{root}sku?warehouse_id={quote(warehouse_id, safe='')}&sku={quote(sku, safe='')}"


def _line_items(lines: pl.DataFrame, root: str) -> list[dict[str, Any]]:
    rows = []
    for line in lines.iter_rows(named=True):
        where, sku = line["warehouse_id"], line["sku"]
        free = line["on_hand"] - line["reserved"]
        sent, proposed = line["allocated_quantity"], line["proposed_quantity"]
        cut = proposed - sent
        cost = line["unit_cost"] or 0.0
        base = {
            "warehouse_id": where,
            "category": line["category"],
            "subject": sku,
            "link": _sku_link(root, where, sku),
        }
        why_cut = _cause(line["cut_by"])
        if line["stocked"] and free <= 0:
            day_value = (line["rate"] or 0.0) * cost
            counted = f"{line['on_hand']} on hand, {line['reserved']} reserved"
            position = line["inventory_position"]
            if sent > 0:
                reason = (
                    f"Nothing free at {where} ({counted}) until tonight's line-haul brings {sent}"
                )
                severity = "medium"
            elif position > 0:
                reason = (
                    f"Nothing free at {where} ({counted}); {position} counted on the way, "
                    "nothing sent tonight"
                )
                severity = "medium"
            else:
                reason = f"Nothing free at {where} and nothing on its way or sent tonight"
                if cut > 0:
                    reason += f": the allocation cut all {_units(proposed)} ({why_cut})"
                severity = "high"
            rate = line["rate"] or 0.0
            reason += f"; sells {rate:.2f} a day here"
            rows.append(
                {
                    **base,
                    "item_id": f"stock_out:{where}/{sku}:{free}-{sent}",
                    "severity": severity,
                    "kind": KINDS["stock_out"],
                    "reason": reason,
                    "stake": day_value * (2.0 if severity == "high" else 1.0),
                }
            )
        elif cut > 0:
            dc = "dc_stock" in (line["cut_by"] or "")
            after = line["inventory_position"] + sent
            rows.append(
                {
                    **base,
                    "item_id": f"cut:{where}/{sku}:{proposed}-{sent}",
                    "severity": "medium" if cut * 2 >= proposed else "low",
                    "kind": KINDS["cut" if dc else "allocation"],
                    "reason": (
                        f"The DC sends {sent} of the {proposed} units proposed ({why_cut}): "
                        f"{after} after tonight against a level of {line['order_up_to']}"
                    ),
                    "stake": cut * cost,
                }
            )
        idle = line["idle_days"]
        if line["on_hand"] > 0 and idle is not None and idle >= 60:
            value = line["on_hand"] * cost
            held = f"{line['on_hand']} units (¥{value:,.0f})"
            pulled = line["pull_back_quantity"]
            back = f"; tonight pulls back {pulled}" if pulled else ""
            if idle >= 90:
                item = ("dead", "medium", f"No movement for {idle} days: {held} past 90 days")
            else:
                item = (
                    "ageing",
                    "low",
                    f"No movement for {idle} days: {held} reach 90 days in {90 - idle} days",
                )
            rows.append(
                {
                    **base,
                    "item_id": f"{item[0]}:{where}/{sku}:{line['on_hand']}",
                    "severity": item[1],
                    "kind": KINDS[item[0]],
                    "reason": item[2] + back,
                    "stake": value,
                }
            )
    return rows


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def _cause(cut_by: str | None) -> str:
    causes = {"dc_stock": "DC stock", "shelf": "shelf space", "budget": "budget", "value": "value"}
    named = [
        causes.get(part, part) for part in (cut_by or "").split("+") if part and part != "none"
    ]
    return "short of " + " and ".join(named) if named else "cut"


def _bias_items(accuracy: pl.DataFrame, root: str) -> list[dict[str, Any]]:
    rows = []
    for row in accuracy.iter_rows(named=True):
        bias = row["bias"]
        if bias is None or not math.isfinite(bias) or abs(bias) < BIAS_LOW:
            continue  # no sales in the backtest gives an infinite bias: nothing to say
        scope, key = row["scope"], row["key"]
        words = "high" if bias > 0 else "low"
        # The fingerprint: the bias in steps of 5 points, so a drift brings the item back.
        step = round(bias * 20)
        query = {"warehouse_id" if scope == "warehouse" else "category": key}
        rows.append(
            {
                "item_id": f"bias:{scope}:{key}:{step:+d}",
                "severity": "medium" if abs(bias) >= BIAS_MEDIUM else "low",
                "kind": KINDS["bias"],
                "warehouse_id": key if scope == "warehouse" else None,
                "category": key if scope == "category" else None,
                "subject": f"{scope} {key}",
                "reason": (
                    f"The backtest's forecasts run {abs(bias):.0%} {words} for {scope} {key} "
                    f"({row['series']:,} series; q80 covers {row['coverage_q80'] or 0:.0%} "
                    "of days)"
                ),
                "stake": abs(bias) * 1000.0,
                "link": f"{root}?{urlencode(query)}",
            }
        )
    return rows


def _store_items(coverage: pl.DataFrame, root: str) -> list[dict[str, Any]]:
    return [
        {
            "item_id": f"uncovered:{row['store_id']}:{_digest(row['issues'])}",
            "severity": "high",
            "kind": KINDS["uncovered"],
            "warehouse_id": row["warehouse_id"],
            "category": None,
            "subject": row["store_id"],
            "reason": (
                f"{row['store_id']} is {row['distance_m'] / 1000:.1f} km and "
                f"{row['reach_s'] / 60:.0f} min from {row['warehouse_id']}: "
                f"{row['issues'] or 'outside the promise'}"
            ),
            "stake": float(row["distance_m"]),
            "link": f"{root}delivery?{urlencode({'warehouse_id': row['warehouse_id']})}",
        }
        for row in coverage.iter_rows(named=True)
    ]


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:10]


def _run_items(runs: pl.DataFrame, root: str) -> list[dict[str, Any]]:
    return [
        {
            "item_id": f"failed_run:{row['run_id']}",
            "severity": "high",
            "kind": KINDS["failed_run"],
            "warehouse_id": None,
            "category": None,
            "subject": row["run_id"],
            "reason": (
                f"The {row['kind']} run of {row['started_at']:%d %b %H:%M} UTC failed: "
                f"{row['error'] or 'no error recorded'}"
            ),
            "stake": 1e12,  # first among the high ones: nothing else is current until it runs
            "link": f"{root}runs",
        }
        for row in runs.filter(pl.col("status") == "failed").iter_rows(named=True)
    ]


def without(items: pl.DataFrame, hidden: Iterable[str]) -> pl.DataFrame:
    """``items`` less those a decision hides."""
    return items.filter(~pl.col("item_id").is_in(list(hidden)))
