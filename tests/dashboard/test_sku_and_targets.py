"""The SKU drill-down's and the targets page's service sides, and both pages in Chromium.

The service tests call :mod:`dashboard.sku_service` and
:mod:`dashboard.targets_service` on small frames; the browser tests
(``dashboard_server`` and ``signed_in_page`` from tests/dashboard/conftest.py)
open the pages on the real server and check that the chart is drawn, a target
is priced and stored, no request leaves the server and nothing is logged to
the console.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import sku_service, targets_service
from pipelines.demand_series import STOCK_COUNTS, stockout_spans
from warehouse.published import POLICY_REPLAYS

START, AS_OF = date(2026, 11, 1), date(2026, 11, 20)


def _counts(*rows: tuple[date, int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [("FW01", "K1", day, available, transit) for day, available, transit in rows],
        schema=STOCK_COUNTS,
        orient="row",
    )


@pytest.mark.parametrize(
    "counts",
    [
        # Empty after the 3rd until the 7th's count; empty again from the 18th to the end.
        _counts((date(2026, 11, 3), 0, 0), (date(2026, 11, 8), 4, 0), (date(2026, 11, 17), 0, 0)),
        # Empty before the window: only its days inside count; nothing on the way matters.
        _counts((date(2026, 10, 20), 0, 0), (date(2026, 11, 5), 0, 3), (date(2026, 11, 9), 2, 0)),
        _counts(),
    ],
)
def test_empty_shelf_days_follow_the_nightlys_rule(counts: pl.DataFrame) -> None:
    ours = sku_service.stockout_spans(counts, START, AS_OF)
    nightly = stockout_spans(counts, START, AS_OF).select("from_day", "to_day")
    assert_frame_equal(ours, nightly.cast(sku_service.STOCKOUT_SPANS))


def _replays() -> pl.DataFrame:
    """One warehouse's replays: unit fill at three settings (one not efficient), min/max."""
    rows = [
        ("nb1_unit_fill", 0.90, 0.92, 0.99, 1_000_000.0),
        ("nb1_unit_fill", 0.95, 0.96, 0.995, 2_000_000.0),
        ("nb1_unit_fill", 0.97, 0.95, 0.996, 2_500_000.0),  # dearer and worse: off the frontier
        ("nb1_unit_fill", 0.99, 0.99, 0.999, 4_000_000.0),
        ("min_max", 2.0, 0.90, 0.98, 3_000_000.0),
    ]
    full: dict[str, list[object]] = {name: [] for name in POLICY_REPLAYS.names()}
    for policy, setting, fill, cycle, value in rows:
        values = {
            "warehouse_id": "FW01",
            "policy": policy,
            "setting": setting,
            "fill_rate": fill,
            "item_fill_rate": fill,
            "cycle_service": cycle,
            "avg_inventory_value": value,
            "turns": 10.0,
            "dead_stock_value": 0.0,
        }
        for name, column in full.items():
            column.append(values.get(name, 1))
    return pl.DataFrame(full, schema=POLICY_REPLAYS)


def test_a_level_is_priced_off_its_kinds_frontier() -> None:
    cost = targets_service.expected_cost(_replays(), "unit_fill", 0.975)
    # Halfway between the efficient points (0.96, ¥2.0 M) and (0.99, ¥4.0 M).
    assert cost.policy == "nb1_unit_fill"
    assert cost.service == "fill_rate"
    assert cost.inventory == pytest.approx(3_000_000.0)
    assert (cost.low, cost.high) == (0.92, 0.99)


def test_a_level_outside_the_replays_has_no_price() -> None:
    assert targets_service.expected_cost(_replays(), "unit_fill", 0.80).inventory is None
    # No cycle-service replays at all: nothing to read off.
    missing = targets_service.expected_cost(_replays(), "cycle_service", 0.99)
    assert missing.inventory is None
    assert missing.low is None


def test_the_standing_target_and_stock_share_come_from_the_plan_lines() -> None:
    lines = pl.DataFrame(
        {
            "category": ["tyres", "tyres", "tyres", "wipers"],
            "target_kind": ["unit_fill", "unit_fill", "fill_rate", "unit_fill"],
            "service_target": [0.95, 0.95, 0.9, 0.95],
            "on_hand": [2, 0, 1, 10],
            "unit_cost": [100.0, 50.0, 100.0, 10.0],
        }
    )
    found = targets_service.standing(lines.filter(pl.col("category") == "tyres"))
    assert found == targets_service.Standing("unit_fill", 0.95, 2)
    assert targets_service.stock_share(lines, "tyres") == pytest.approx(300 / 400)
    assert targets_service.standing(lines.head(0)) is None
