"""The inbox's items (dashboard.inbox): ranked by severity and stake, ids that follow the
figures, reasons in words. Frames in, a frame out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from dashboard import inbox
from warehouse import published

_LINE: dict[str, Any] = {
    "warehouse_id": "FW01", "category": "tyres", "action": "hold", "stocked": True,
    "rate": 1.0, "unit_cost": 10.0, "on_hand": 0, "reserved": 0, "inventory_position": 0,
    "order_up_to": 4, "proposed_quantity": 0, "allocated_quantity": 0,
    "pull_back_quantity": 0, "cut_by": "none", "idle_days": 1,
}  # fmt: skip


def _lines(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([{**_LINE, **row} for row in rows], schema=published.ATTENTION_LINES)


def _items(lines: pl.DataFrame, **frames: pl.DataFrame) -> pl.DataFrame:
    return inbox.build_items(
        lines,
        frames.get("accuracy", pl.DataFrame(schema=published.ACCURACY_ROWS)),
        frames.get("coverage", pl.DataFrame(schema=published.STORE_COVERAGE)),
        frames.get("runs", pl.DataFrame(schema=published.RUN_HISTORY)),
    )


def test_items_rank_by_severity_then_what_is_at_stake() -> None:
    items = _items(
        _lines(
            # out, nothing coming, the DC cut it all: high
            {"sku": "A", "proposed_quantity": 4, "cut_by": "dc_stock"},
            # out until tonight's delivery: medium, at stake a day of sales
            {"sku": "B", "proposed_quantity": 4, "allocated_quantity": 4, "rate": 3.0},
            # stocked, a cut of 1 in 4: low
            {
                "sku": "C",
                "on_hand": 5,
                "inventory_position": 1,
                "proposed_quantity": 4,
                "allocated_quantity": 3,
                "cut_by": "dc_stock",
            },
            # idle 120 days with 5 on the shelf: dead, medium, ¥50
            {"sku": "D", "on_hand": 5, "inventory_position": 5, "idle_days": 120},
        )
    )
    assert items.schema == inbox.ITEMS
    assert items.select("subject", "severity").rows() == [
        ("A", "high"),
        ("D", "medium"),
        ("B", "medium"),
        ("C", "low"),
    ]
    reasons = dict(items.select("subject", "reason").rows())
    assert reasons["A"].startswith("Nothing free at FW01 and nothing on its way or sent tonight")
    assert "short of DC stock" in reasons["A"]
    assert "until tonight's line-haul brings 4" in reasons["B"]
    assert reasons["C"].startswith("The DC sends 3 of the 4 units proposed (short of DC stock)")
    assert reasons["D"] == "No movement for 120 days: 5 units (¥50) past 90 days"
    assert items.filter(pl.col("subject") == "A")["link"][0] == (
        "/dashboard/sku?warehouse_id=FW01&sku=A"
    )


def test_an_items_id_changes_with_its_figures() -> None:
    cut = {"sku": "C", "on_hand": 5, "inventory_position": 1, "proposed_quantity": 4}
    before = _items(_lines({**cut, "allocated_quantity": 3}))
    after = _items(_lines({**cut, "allocated_quantity": 2}))
    assert before["item_id"].to_list() == ["cut:FW01/C:4-3"]
    assert after["item_id"].to_list() == ["cut:FW01/C:4-2"]


def test_bias_uncovered_stores_and_failed_runs_are_items() -> None:
    accuracy = pl.DataFrame(
        [
            {"scope": "category", "key": "tyres", "series": 9, "bias": 0.4, "coverage_q80": 0.7},
            {"scope": "warehouse", "key": "FW01", "series": 9, "bias": -0.05},
            {"scope": "category", "key": "oil", "series": 9, "bias": float("inf")},
        ],
        schema=published.ACCURACY_ROWS,
    )
    coverage = pl.DataFrame(
        [{"store_id": "S9", "warehouse_id": "FW01", "distance_m": 6200, "reach_s": 1500,
          "ok": False, "issues": "6.2 km from FW01"}],
        schema=published.STORE_COVERAGE,
    )  # fmt: skip
    runs = pl.DataFrame(
        [{"run_id": "nightly-x", "kind": "nightly", "status": "failed",
          "started_at": datetime(2026, 12, 6, 3, tzinfo=UTC), "error": "ValueError: boom"}],
        schema=published.RUN_HISTORY,
    )  # fmt: skip
    items = _items(_lines(), accuracy=accuracy, coverage=coverage, runs=runs)
    assert items.select("kind", "severity").rows() == [
        ("Failed run", "high"),
        ("Store outside 5 km / 30 min", "high"),
        ("Forecast bias", "medium"),
    ]
    assert items["reason"][2].startswith("The backtest's forecasts run 40% high for category tyres")
    assert items["link"].to_list() == [
        "/dashboard/runs",
        "/dashboard/delivery?warehouse_id=FW01",
        "/dashboard/?category=tyres",
    ]


def test_decided_items_are_left_out() -> None:
    items = _items(_lines({"sku": "A"}, {"sku": "B"}))
    assert inbox.without(items, ["stock_out:FW01/A:0-0"])["subject"].to_list() == ["B"]
