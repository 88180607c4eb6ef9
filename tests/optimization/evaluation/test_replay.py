"""The nightly what-if replay: every policy and setting per warehouse, sensible frontiers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from optimization.evaluation.replay import POLICIES, REPLAY_RESULTS, ReplayParams, replay_policies

AS_OF = date(2026, 11, 20)


def _network(seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two warehouses, 40 Poisson series each over 120 days, one do-not-stock series."""
    rng = np.random.default_rng(seed)
    rows, plan = [], []
    for w in ("FW1", "FW2"):
        for i in range(40):
            rate = float(rng.choice([0.1, 0.5, 2.0]))
            for d in range(120):
                y = int(rng.poisson(rate))
                if y:
                    rows.append((w, f"S{i}", AS_OF - timedelta(days=d), float(y)))
            plan.append((w, f"S{i}", "replenish", rate, 1.0, int(i % 3 == 0), 1, 10.0))
    plan.append(("FW1", "DNS", "do_not_stock", 5.0, 1.0, 0, 1, 10.0))
    history = pl.DataFrame(rows, schema=["warehouse_id", "sku", "ds", "y"], orient="row")
    schema = ["warehouse_id", "sku", "action", "rate", "dispersion", "lead_time_days"]
    frame = pl.DataFrame(plan, schema=[*schema, "pack_size", "unit_cost"], orient="row")
    return history, frame


def test_every_warehouse_gets_every_policy_and_setting() -> None:
    history, plan = _network()
    params = ReplayParams(days=28, targets=(0.8, 0.95), covers=(1.0, 3.0))
    out = replay_policies(history, plan, AS_OF, params)
    assert out.schema == REPLAY_RESULTS
    assert out.height == 2 * (4 * 2 + 2)
    assert set(out["policy"]) == set(POLICIES)
    assert (out["series"] == 40).all() and (out["sampled"] == 40).all()  # DNS left out
    # The same demand is replayed under every policy.
    assert out.group_by("warehouse_id").agg(pl.col("demand").n_unique())["demand"].to_list() == [
        1,
        1,
    ]
    assert ((out["served"] <= out["demand"]) & (out["fill_rate"].is_between(0, 1))).all()


def test_a_higher_target_serves_more_with_more_stock() -> None:
    history, plan = _network()
    out = replay_policies(history, plan, AS_OF, ReplayParams(days=56, targets=(0.7, 0.9, 0.99)))
    ours = out.filter(pl.col("policy") == "nb1_fill_rate").sort("warehouse_id", "setting")
    for _, part in ours.group_by("warehouse_id"):
        assert part["fill_rate"].is_sorted()
        assert part["avg_inventory_value"].is_sorted()
        assert part["fill_rate"][-1] > 0.95  # Poisson demand, correct model: target met


def test_a_large_warehouse_is_sampled_and_values_scaled() -> None:
    history, plan = _network()
    full = replay_policies(history, plan, AS_OF, ReplayParams(days=28, targets=(0.9,)))
    part = replay_policies(
        history, plan, AS_OF, ReplayParams(days=28, targets=(0.9,), max_series=20)
    )
    assert (part["sampled"] == 20).all() and (part["series"] == 40).all()
    ours = pl.col("policy") == "nb1_fill_rate"
    total = full.filter(ours)["avg_inventory_value"].sum()
    estimate = part.filter(ours)["avg_inventory_value"].sum()
    assert estimate == pytest.approx(total, rel=0.6)  # same order: scaled to the warehouse


def test_a_warehouse_without_recent_demand_has_no_rows() -> None:
    history, plan = _network()
    quiet = history.filter(pl.col("warehouse_id") == "FW1")
    out = replay_policies(quiet, plan, AS_OF, ReplayParams(days=14))
    assert set(out["warehouse_id"]) == {"FW1"}


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 7 days"):
        ReplayParams(days=3)
    with pytest.raises(ValueError, match="targets must lie in"):
        ReplayParams(targets=(1.0,))


def test_the_unit_fill_kind_meets_its_target_with_less_stock_than_per_series() -> None:
    history, plan = _network()
    plan = plan.with_columns(
        category=pl.when(pl.col("rate") > 1).then(pl.lit("b")).otherwise(pl.lit("a"))
    )
    out = replay_policies(history, plan, AS_OF, ReplayParams(days=56, targets=(0.9,)))
    at = out.filter(pl.col("setting") == 0.9)
    grouped = at.filter(pl.col("policy") == "nb1_unit_fill").sort("warehouse_id")
    per_series = at.filter(pl.col("policy") == "nb1_fill_rate").sort("warehouse_id")
    assert (grouped["fill_rate"] > 0.85).all()
    assert (grouped["avg_inventory_value"] < per_series["avg_inventory_value"]).all()
