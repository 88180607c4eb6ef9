"""The network plan: protection-period rates, one allocation per DC, transfer orders."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from optimization.replenishment.planning import (
    ALLOCATION_STATS,
    DAILY_MEANS,
    NETWORK_DC_STOCK,
    NETWORK_PLAN,
    NETWORK_SHELF,
    TRANSFER_LINES,
    TRANSFER_ORDERS,
    allocate_network,
    demand_distribution,
    plan_network,
    propose_network,
    transfer_orders,
)
from optimization.replenishment.policy import DEMAND_DISTRIBUTION, POSITIONS, SKU_POLICY

AS_OF = date(2026, 11, 20)


def _means(rows: dict[tuple[str, str], list[float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (w, s, AS_OF + timedelta(days=d + 1), m, "smooth")
            for (w, s), means in rows.items()
            for d, m in enumerate(means)
        ],
        schema=DAILY_MEANS,
        orient="row",
    )


def test_the_rate_averages_each_skus_own_protection_period() -> None:
    forecasts = _means(
        {("FW1", "FAST"): [1.0, 3.0, 5.0, 7.0], ("FW1", "SLOW"): [1.0, 3.0, 5.0, 7.0]}
    )
    lead = pl.DataFrame({"sku": ["SLOW"], "lead_time_days": [2]})
    spread = pl.DataFrame({"warehouse_id": ["FW1"], "sku": ["FAST"], "dispersion": [2.5]})
    out = demand_distribution(forecasts, spread, lead, review_period_days=1)
    assert out.schema == DEMAND_DISTRIBUTION
    rows = {r["sku"]: r for r in out.iter_rows(named=True)}
    assert rows["FAST"]["rate"] == pytest.approx(1.0)  # R + L = 1: tomorrow only
    assert rows["SLOW"]["rate"] == pytest.approx(3.0)  # R + L = 3: mean of 1, 3, 5
    assert rows["FAST"]["dispersion"] == 2.5
    assert rows["SLOW"]["dispersion"] == 1.0  # no row: Poisson
    assert rows["FAST"]["class"] == "smooth"


def test_the_last_sale_comes_from_the_demand_history() -> None:
    forecasts = _means({("FW1", "A"): [1.0], ("FW1", "B"): [1.0]})
    sales = pl.DataFrame(
        {
            "warehouse_id": ["FW1", "FW1"],
            "sku": ["A", "A"],
            "ds": [date(2026, 10, 1), date(2026, 11, 2)],
        }
    )
    no_lead = pl.DataFrame(schema={"sku": pl.String, "lead_time_days": pl.Int64})
    out = demand_distribution(forecasts, DEMAND_DISTRIBUTION.to_frame(), no_lead, 1, sales)
    assert out.select("sku", "last_sale").rows() == [("A", date(2026, 11, 2)), ("B", None)]


def test_a_protection_period_longer_than_the_horizon_uses_the_whole_horizon() -> None:
    forecasts = _means({("FW1", "A"): [2.0, 4.0]})
    lead = pl.DataFrame({"sku": ["A"], "lead_time_days": [10]})
    out = demand_distribution(forecasts, DEMAND_DISTRIBUTION.to_frame(), lead, 1)
    assert out["rate"].to_list() == [pytest.approx(3.0)]


def _network(
    dc_units: dict[tuple[str, str], int],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two DCs, each feeding one warehouse; one SKU with demand 5/day at both."""
    demand = pl.DataFrame(
        [("FW1", "A", 5.0, 1.0, "smooth", AS_OF), ("FW2", "A", 5.0, 1.0, "smooth", AS_OF)],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [("FW1", "A", 0, 0, 0, 0, AS_OF, None), ("FW2", "A", 0, 0, 0, 0, AS_OF, None)],
        schema=POSITIONS,
        orient="row",
    )
    skus = pl.DataFrame(
        [("A", "tyres", 1, 1, 1, 0, False, 1.0, 10.0, 2.0)], schema=SKU_POLICY, orient="row"
    )
    dc_stock = pl.DataFrame(
        [(dc, sku, n) for (dc, sku), n in dc_units.items()], schema=NETWORK_DC_STOCK, orient="row"
    )
    shelf = pl.DataFrame(
        [("FW1", "DC1", 1000.0), ("FW2", "DC2", 1000.0)], schema=NETWORK_SHELF, orient="row"
    )
    return demand, positions, skus, dc_stock, shelf


def test_each_dc_allocates_only_its_own_stock_to_its_own_warehouses() -> None:
    # DC1 has plenty, DC2 only 3 units: FW2 is cut to 3 although DC1 could give more.
    network = plan_network(*_network({("DC1", "A"): 100, ("DC2", "A"): 3}), AS_OF)
    assert network.plan.schema == NETWORK_PLAN
    assert network.allocations.schema == ALLOCATION_STATS
    rows = {r["warehouse_id"]: r for r in network.plan.iter_rows(named=True)}
    assert rows["FW1"]["allocated_quantity"] == rows["FW1"]["proposed_quantity"] > 3
    assert rows["FW2"]["allocated_quantity"] == 3
    assert rows["FW2"]["cut_by"] == "dc_stock"
    assert rows["FW2"]["dc_id"] == "DC2"
    stats = {r["dc_id"]: r for r in network.allocations.iter_rows(named=True)}
    assert stats["DC1"]["status"] == "uncontested"
    assert stats["DC2"]["status"] == "optimal_greedy"
    assert stats["DC2"]["units_allocated"] == 3


def test_a_warehouse_without_a_dc_is_refused() -> None:
    demand, positions, skus, dc_stock, shelf = _network({("DC1", "A"): 9})
    with pytest.raises(ValueError, match="'FW2' has no DC"):
        plan_network(demand, positions, skus, dc_stock, shelf.head(1), AS_OF)


def test_a_short_dc_sends_units_in_sales_multiples_and_strands_none() -> None:
    # 7 tyres in sets of 2 for two warehouses wanting many sets: 6 go out, 1 stays
    # (less than a set), never 1 tyre to a warehouse.
    demand, positions, skus, dc_stock, shelf = _network({("DC1", "A"): 7})
    skus = skus.with_columns(sales_multiple=pl.lit(2, pl.Int64), pack_size=pl.lit(50, pl.Int64))
    shelf = shelf.with_columns(dc_id=pl.lit("DC1"))
    plan = plan_network(demand, positions, skus, dc_stock, shelf, AS_OF).plan
    assert (plan["allocated_quantity"] % 2 == 0).all()
    assert (plan["proposed_quantity"] % 2 == 0).all()
    assert plan["allocated_quantity"].sum() == 6
    assert (plan["proposed_quantity"] < 50).all()  # units, not the supplier's case of 50


def test_transfer_orders_group_lines_by_route_and_arrival_and_leave_cut_lines_out() -> None:
    plan = pl.DataFrame(
        {
            "warehouse_id": ["FW1", "FW1", "FW1", "FW2", "FW2"],
            "sku": ["A", "B", "C", "A", "D"],
            "dc_id": ["DC1"] * 5,
            "lead_time_days": [0, 0, 2, 0, 0],
            "proposed_quantity": [4, 6, 2, 5, 0],
            "allocated_quantity": [4, 0, 2, 5, 0],
            "pull_back_quantity": [0, 0, 0, 0, 7],
            "reason": ["r"] * 5,
            "decision": ["d"] * 5,
        }
    )
    headers, lines = transfer_orders(plan, "run1", AS_OF)
    assert headers.schema == TRANSFER_ORDERS
    assert lines.schema == TRANSFER_LINES
    tomorrow = "20261121"
    assert headers.rows() == [
        ("run1/DC1>FW1/20261121", "DC1", "FW1", AS_OF + timedelta(days=1)),
        ("run1/DC1>FW1/20261123", "DC1", "FW1", AS_OF + timedelta(days=3)),
        ("run1/DC1>FW2/20261121", "DC1", "FW2", AS_OF + timedelta(days=1)),
        ("run1/FW2>DC1/20261121", "FW2", "DC1", AS_OF + timedelta(days=1)),
    ]
    by_key = {(r["transfer_id"], r["sku"]): r for r in lines.iter_rows(named=True)}
    # B was cut to 0: it moves nothing, so it is on no order (its plan line tells why).
    assert (f"run1/DC1>FW1/{tomorrow}", "B") not in by_key
    assert (lines["quantity"] > 0).all()
    sent = by_key[(f"run1/DC1>FW1/{tomorrow}", "A")]
    assert (sent["proposed_quantity"], sent["quantity"], sent["line_no"]) == (4, 4, 1)
    assert sent["reason"] == "r; d"
    assert by_key[(f"run1/FW2>DC1/{tomorrow}", "D")]["quantity"] == 7
    # Every unit of the plan is on exactly one line.
    assert lines.filter(pl.col("transfer_id").str.contains(">FW"))["quantity"].sum() == 11


@pytest.mark.parametrize("seed", range(5))
def test_no_line_is_cut_while_its_dc_keeps_a_whole_multiple_free(seed: int) -> None:
    rng = np.random.default_rng(seed)
    skus = [f"K{i}" for i in range(6)]
    warehouses = [f"FW{w}" for w in range(4)]
    demand = pl.DataFrame(
        [
            (w, s, float(rng.uniform(0.2, 4.0)), float(rng.uniform(1.0, 3.0)), "lumpy", AS_OF)
            for w in warehouses
            for s in skus
        ],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    master = pl.DataFrame(
        [(s, "tyres", 24, 48, int(rng.choice([1, 2, 4])), 0, False, 1.0, 10.0, 2.0) for s in skus],
        schema=SKU_POLICY,
        orient="row",
    )
    dc = pl.DataFrame(
        [("DC1", s, int(rng.integers(0, 40))) for s in skus], schema=NETWORK_DC_STOCK, orient="row"
    )
    shelf = pl.DataFrame([(w, "DC1", 1e6) for w in warehouses], schema=NETWORK_SHELF, orient="row")
    plan = plan_network(demand, POSITIONS.to_frame(), master, dc, shelf, AS_OF).plan
    left = (
        plan.group_by("sku")
        .agg(sent=pl.col("allocated_quantity").sum(), m=pl.col("sales_multiple").first())
        .join(dc.select("sku", "available"), on="sku")
        .with_columns(left=pl.col("available") - pl.col("sent"))
    )
    cut = plan.filter(pl.col("allocated_quantity") < pl.col("proposed_quantity"))
    assert cut.height > 0  # the DC is short: the check below is about something
    stranded = left.join(cut.select("sku").unique(), on="sku").filter(pl.col("left") >= pl.col("m"))
    assert stranded.is_empty(), stranded
    assert (plan["allocated_quantity"] % plan["sales_multiple"] == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_proposing_warehouse_by_warehouse_gives_the_networks_plan(seed: int) -> None:
    """The nightly proposes per warehouse (on Dask when it scales out), then allocates."""
    rng = np.random.default_rng(seed)
    skus = [f"K{i}" for i in range(8)]
    warehouses = {f"FW{w}": f"DC{w % 2}" for w in range(5)}
    demand = pl.DataFrame(
        [
            (w, s, float(rng.uniform(0.0, 4.0)), float(rng.uniform(1.0, 3.0)), "lumpy", AS_OF)
            for w in warehouses
            for s in skus
            if rng.random() < 0.8
        ],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [
            (w, s, int(rng.integers(0, 9)), 0, 0, 0, AS_OF - timedelta(days=30), None)
            for w in warehouses
            for s in skus
            if rng.random() < 0.5
        ],
        schema=POSITIONS,
        orient="row",
    )
    master = pl.DataFrame(
        [(s, "tyres", 24, 48, int(rng.choice([1, 2, 4])), 0, False, 1.0, 10.0, 2.0) for s in skus],
        schema=SKU_POLICY,
        orient="row",
    )
    dc = pl.DataFrame(
        [(d, s, int(rng.integers(0, 30))) for d in ("DC0", "DC1") for s in skus],
        schema=NETWORK_DC_STOCK,
        orient="row",
    )
    shelf = pl.DataFrame(
        [(w, d, float(rng.uniform(50, 500))) for w, d in warehouses.items()],
        schema=NETWORK_SHELF,
        orient="row",
    )
    whole = plan_network(demand, positions, master, dc, shelf, AS_OF)
    parts = [
        propose_network(
            demand.filter(pl.col("warehouse_id") == w),
            positions.filter(pl.col("warehouse_id") == w),
            master,
            shelf.filter(pl.col("warehouse_id") == w),
            AS_OF,
        )
        for w in reversed(list(warehouses))  # any order: the allocation sorts them
    ]
    split = allocate_network(pl.concat(parts), dc, shelf)
    assert split.plan.height == whole.plan.height > 0
    assert split.plan.equals(whole.plan)
    assert split.allocations.drop("solve_seconds").equals(whole.allocations.drop("solve_seconds"))
