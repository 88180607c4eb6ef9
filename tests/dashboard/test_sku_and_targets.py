"""The SKU drill-down's and the targets page's service sides, and both pages in Chromium.

The service tests call :mod:`dashboard.sku_service` and
:mod:`dashboard.targets_service` on small frames; the browser tests
(``small_night`` and ``signed_in``, tests/dashboard/conftest.py)
open the pages on the real server and check that the chart is drawn, a target
is priced and stored, no request leaves the server and nothing is logged to
the console.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard import sku_service, targets_service
from ops import audit, make_engine, reading, targets
from pipelines.demand_series import STOCK_COUNTS, stockout_spans
from tests.dashboard._night import Served, Watched
from warehouse import published
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


# ---- in the browser ------------------------------------------------------------------------


def test_the_drill_down_draws_the_fan_chart_of_a_planned_series(
    small_night: Served, signed_in: Watched
) -> None:
    with published.open_snapshot(small_night.snapshots) as snap:
        forward = set(published.warehouses(snap, kind="forward")["warehouse_id"].to_list())
    with small_night.api() as api:  # tonight's first replenishment, whatever its status now
        listed = api.get("/v1/transfer-orders").json()["items"]
        first = next(o for o in listed if o["to_warehouse_id"] in forward and o["lines"])
        order = api.get(f"/v1/transfer-orders/{quote(first['transfer_id'], safe='')}").json()
        line = order["lines"][0]
        warehouse = first["to_warehouse_id"]
        series = api.get(f"/v1/warehouses/{warehouse}/series/{line['sku']}").json()
    signed_in.open(f"/sku?warehouse_id={warehouse}&sku={line['sku']}")
    page = signed_in.page
    page.wait_for_selector("#sku-chart .main-svg")
    # The history's bars, the forecast's mean and its four quantile bands are drawn.
    assert page.locator("#sku-chart .barlayer .trace").count() >= 1
    assert page.locator("#sku-chart .scatterlayer .trace").count() >= 1 + 2 * 4
    assert page.inner_text("#sku-reason") == series["reason"]
    assert f"{series['order_up_to']:,} units" in page.inner_text("#sku-kpis")
    assert (series["demand_class"] or "–") in page.inner_text("#sku-kpis")
    page.wait_for_selector("#sku-transfers .ag-row")
    assert first["transfer_id"] in page.inner_text("#sku-transfers")
    signed_in.assert_clean()


def test_a_planner_prices_and_sets_a_category_target(
    small_night: Served, signed_in: Watched
) -> None:
    with published.open_snapshot(small_night.snapshots) as snap:
        warehouse = published.warehouses(snap, kind="forward")["warehouse_id"][0]
        category = sorted(set(published.skus(snap)["category"].to_list()))[0]
    signed_in.open(f"/targets?warehouse_id={warehouse}&category={category}")
    page = signed_in.page
    page.wait_for_selector("#targets-chart .main-svg .scatterlayer .trace")
    assert "tonight's plan" in page.inner_text("#targets-cards").lower()
    page.fill("#targets-level", "")
    page.fill("#targets-level", "97")
    page.press("#targets-level", "Tab")
    page.wait_for_function(
        "() => (document.querySelector('#targets-cost-text') || {}).innerText?.includes('97.0 %')"
    )
    expected = page.locator("#targets-expected")
    if expected.count():  # inside the replayed range: a price in yuan
        assert "¥" in expected.inner_text()
    else:
        assert "outside what the" in page.inner_text("#targets-cost-text")

    page.click("#targets-set")  # no reason: refused, nothing stored
    page.wait_for_selector("#targets-outcome .pf-refused")
    assert "needs a reason" in page.inner_text("#targets-outcome")
    page.fill("#targets-reason", "peak season ahead")
    page.click("#targets-set")
    page.wait_for_selector("#targets-outcome .pf-ok")
    page.wait_for_function(
        "c => (document.querySelector('#targets-grid') || {}).innerText?.includes(c)",
        arg=category,
    )
    engine = make_engine(small_night.ops_url)
    with reading(engine) as conn:
        stored = targets.get_target(conn, "category", category)
        logged = audit.history(conn, "service_target", f"category:{category}")
    engine.dispose()
    assert stored is not None
    assert (stored.kind, stored.level, stored.updated_by) == (
        "unit_fill",
        0.97,
        small_night.planner,
    )
    assert [(e.action, e.who, e.why) for e in logged] == [
        ("set", small_night.planner, "peak season ahead")
    ]
    signed_in.assert_clean()
