"""The ``unit_fill`` target kind: one expected unit fill rate per (warehouse, group) of series."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from optimization.evaluation.level_rules import policy_levels
from optimization.replenishment.policy import (
    DEMAND_DISTRIBUTION,
    POSITIONS,
    SERVICE_TARGETS,
    SKU_POLICY,
    PolicyParams,
    plan_replenishment,
)
from optimization.replenishment.service import TARGET_KINDS, ServiceTarget, fill_rate, order_up_to
from optimization.replenishment.unit_fill import UnitFillLevels, unit_fill_levels
from warehouse.schema import connect, current_version, migrate

AS_OF = date(2026, 11, 20)


def _unit_fill(s: np.ndarray, protection: np.ndarray, lead: np.ndarray, phi: np.ndarray) -> float:
    """Expected units served over units asked for in a review, summed over the series."""
    asked = protection - lead
    return float((fill_rate(s, protection, phi, lead) * asked).sum() / asked.sum())


# (a) The group rule against brute force and against one fill rate per series.

#: Three series small enough to try every S in 0..6: a fast cheap part, a
#: middling one and a slow dear one (Poisson and NB1, L = 0).
TINY_MEAN = np.array([2.5, 1.0, 0.3])
TINY_PHI = np.array([1.0, 1.6, 1.0])
TINY_COST = np.array([4.0, 15.0, 60.0])


@pytest.mark.parametrize("target", [0.6, 0.8, 0.9, 0.95])
def test_unit_fill_is_within_one_unit_of_the_cheapest_levels_meeting_it(target: float) -> None:
    zero = np.zeros(3)
    ours = unit_fill_levels(TINY_MEAN, zero, TINY_PHI, TINY_COST, target, np.zeros(3, np.int64))
    s = ours.order_up_to
    fill = _unit_fill(s.astype(float), TINY_MEAN, zero, TINY_PHI)
    assert fill >= target - 1e-9
    assert ours.group_fill[0] == pytest.approx(fill)

    grid = np.array(list(itertools.product(range(7), repeat=3)), dtype=float)
    fills = (fill_rate(grid, TINY_MEAN, TINY_PHI) * TINY_MEAN).sum(axis=1) / TINY_MEAN.sum()
    cheapest = (grid[fills >= target - 1e-9] @ TINY_COST).min()
    assert (s <= 6).all()
    assert cheapest <= s @ TINY_COST <= cheapest + TINY_COST.max()
    # A Lagrangian solution: nothing cheaper serves as much as it does.
    assert (grid[fills >= fill - 1e-12] @ TINY_COST).min() == s @ TINY_COST


def _mix(n: int = 300, seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Slow and fast parts, cheap and dear, some with a 2-day lead time."""
    rng = np.random.default_rng(seed)
    rate = rng.choice([0.05, 0.3, 2.0, 8.0], n)
    lead_days = rng.choice([0, 2], n)
    return rate * (1 + lead_days), rate * lead_days, np.full(n, 1.5), rng.choice([5.0, 500.0], n)


@pytest.mark.parametrize("target", [0.9, 0.97])
def test_unit_fill_needs_less_stock_value_than_a_fill_rate_per_series(target: float) -> None:
    protection, lead, phi, cost = _mix()
    ours = unit_fill_levels(protection, lead, phi, cost, target, np.zeros(protection.size, int))
    s = ours.order_up_to.astype(float)
    assert _unit_fill(s, protection, lead, phi) >= target - 1e-9
    # One fill rate per series, raised until the group reaches the same unit fill.
    review = (protection - lead)[:, None]
    for level in np.linspace(0.5, 0.999, 300):
        _, per_series = policy_levels(lead[:, None], review, phi, ServiceTarget("fill_rate", level))
        if _unit_fill(per_series[:, 0].astype(float), protection, lead, phi) >= target:
            break
    assert s @ cost < 0.95 * (per_series[:, 0] @ cost)


def test_each_group_meets_its_own_target_as_if_alone() -> None:
    protection, lead, phi, cost = _mix()
    codes = np.arange(protection.size) % 3
    targets = np.array([0.8, 0.9, 0.99])
    together = unit_fill_levels(protection, lead, phi, cost, targets[codes], codes)
    for code, target in enumerate(targets):
        rows = codes == code
        alone = unit_fill_levels(
            protection[rows], lead[rows], phi[rows], cost[rows], target, np.zeros(rows.sum(), int)
        )
        assert (together.order_up_to[rows] == alone.order_up_to).all()
        s = together.order_up_to[rows].astype(float)
        fill = _unit_fill(s, protection[rows], lead[rows], phi[rows])
        assert target - 1e-9 <= fill < target + 0.01


def test_series_and_groups_without_demand_get_no_stock() -> None:
    out = unit_fill_levels(
        np.array([0.0, 0.0, 0.0, 3.0]),
        np.zeros(4),
        np.ones(4),
        np.array([1.0, 2.0, 3.0, 4.0]),
        0.9,
        np.array([0, 0, 1, 1]),
    )
    assert out.order_up_to.tolist()[:3] == [0, 0, 0]
    assert out.order_up_to[3] > 0
    assert out.group_fill[0] == 1.0  # nothing asked for, nothing short
    assert out.cycle_service[0] == 0.0


def test_the_cycle_service_level_reproduces_s() -> None:
    """S is the quantile of the reported level: the rule is a cycle-service level per series."""
    protection, lead, phi, cost = _mix()
    out = unit_fill_levels(protection, lead, phi, cost, 0.95, np.zeros(protection.size, int))
    assert (order_up_to(protection, phi, out.cycle_service, False) == out.order_up_to).all()
    # Dear parts get a lower level than cheap ones of the same demand.
    same = (protection == protection[0]) & (lead == lead[0])
    dear, cheap = same & (cost == 500.0), same & (cost == 5.0)
    assert out.cycle_service[dear].max() < out.cycle_service[cheap].min()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_level": 1.0}, "unit fill target must be in"),
        ({"target_level": np.array([0.9, 0.8])}, "two unit fill targets"),
        ({"group_codes": np.zeros(3, np.int64)}, "differ"),
    ],
)
def test_bad_unit_fill_inputs_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "protection_mean": np.ones(2),
        "lead_mean": np.zeros(2),
        "dispersion": np.ones(2),
        "unit_cost": np.ones(2),
        "target_level": 0.9,
        "group_codes": np.zeros(2, np.int64),
    }
    with pytest.raises(ValueError, match=message):
        unit_fill_levels(**{**args, **kwargs})  # type: ignore[arg-type]


def test_a_per_series_rule_refuses_a_unit_fill_target() -> None:
    with pytest.raises(ValueError, match="per group of series"):
        policy_levels(np.zeros((1, 1)), np.ones((1, 1)), np.ones(1), ServiceTarget("unit_fill"))


# (b) plan_replenishment groups a unit_fill target by warehouse.

SKUS = pl.DataFrame(
    [
        ("PAD", "brakes", 1, 1, 1, 0, False, 0.5, 8.0, 1.0),
        ("DISC", "brakes", 1, 1, 1, 0, False, 2.0, 45.0, 1.0),
        ("CALIPER", "brakes", 1, 1, 1, 1, False, 3.0, 160.0, 1.0),
        ("HOSE", "brakes", 1, 1, 1, 0, True, 0.2, 6.0, 1.0),
        ("WIPER", "wipers", 1, 1, 1, 0, False, 0.3, 5.0, 1.0),
        ("BLADE", "wipers", 1, 1, 1, 0, False, 0.3, 12.0, 1.0),
    ],
    schema=SKU_POLICY,
    orient="row",
)
#: FW1 sells brakes fast, FW2 slowly: the same target must give them different levels.
RATES = {
    ("FW1", "PAD"): 6.0,
    ("FW1", "DISC"): 2.0,
    ("FW1", "CALIPER"): 0.5,
    ("FW1", "HOSE"): 1.0,
    ("FW1", "WIPER"): 3.0,
    ("FW1", "BLADE"): 0.4,
    ("FW2", "PAD"): 0.4,
    ("FW2", "DISC"): 0.1,
    ("FW2", "CALIPER"): 0.05,
    ("FW2", "HOSE"): 0.2,
    ("FW2", "WIPER"): 0.2,
    ("FW2", "BLADE"): 0.05,
}


def _network_plan(
    targets: pl.DataFrame | None = None, default: ServiceTarget | None = None
) -> pl.DataFrame:
    demand = pl.DataFrame(
        [(w, s, rate, 1.3, "smooth", AS_OF) for (w, s), rate in RATES.items()],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [(w, s, 0, 0, 0, 0, AS_OF, None) for (w, s) in RATES], schema=POSITIONS, orient="row"
    )
    params = PolicyParams(default_target=default or ServiceTarget())
    return plan_replenishment(demand, positions, SKUS, AS_OF, targets, params)


def _group_fill(plan: pl.DataFrame) -> float:
    asked = plan["forecast_mean"] * (1 - plan["lead_time_days"] / plan["protection_days"])
    return float((plan["expected_fill_rate"] * asked).sum() / asked.sum())


BRAKES_90 = pl.DataFrame(
    [("category", "brakes", "unit_fill", 0.9)], schema=SERVICE_TARGETS, orient="row"
)


def _alone(part: pl.DataFrame, target: float) -> UnitFillLevels:
    """The unit-fill levels of one plan group solved on its own."""
    return unit_fill_levels(
        part["forecast_mean"].to_numpy(),
        (part["rate"] * part["lead_time_days"]).to_numpy(),
        part["dispersion"].to_numpy(),
        part["unit_cost"].to_numpy(),
        target,
        np.zeros(part.height, np.int64),
    )


def test_a_category_unit_fill_target_is_met_per_warehouse() -> None:
    plan = _network_plan(BRAKES_90)
    brakes = plan.filter((pl.col("category") == "brakes") & ~pl.col("sku").eq("HOSE"))
    assert set(brakes["target_kind"]) == {"unit_fill"}
    levels = {}
    for warehouse in ("FW1", "FW2"):
        part = brakes.filter(pl.col("warehouse_id") == warehouse).sort("sku")
        assert 0.9 - 1e-6 <= _group_fill(part) < 0.97
        # The group of this warehouse alone gives these levels.
        alone = _alone(part, 0.9)
        assert part["order_up_to"].to_list() == alone.order_up_to.tolist()
        levels[warehouse] = alone.cycle_service
    # Separate prices: the same part gets a different cycle-service level at each warehouse.
    assert not np.allclose(levels["FW1"], levels["FW2"])
    # Wipers have no row: the default per-series fill rate.
    wipers = plan.filter(pl.col("category") == "wipers")
    assert set(wipers["target_kind"]) == {"fill_rate"}
    assert (wipers["expected_fill_rate"] >= 0.95 - 1e-9).all()


def test_unit_fill_over_the_group_uses_less_stock_than_the_same_fill_per_series() -> None:
    grouped = _network_plan(BRAKES_90).filter(pl.col("category") == "brakes")
    per_series = _network_plan(BRAKES_90.with_columns(kind=pl.lit("fill_rate"))).filter(
        pl.col("category") == "brakes"
    )
    value = (pl.col("order_up_to") * pl.col("unit_cost")).sum()
    assert grouped.select(value).item() < per_series.select(value).item()


def test_a_do_not_stock_part_stays_out_of_its_group() -> None:
    plan = _network_plan(BRAKES_90)
    hose = plan.filter(pl.col("sku") == "HOSE")
    assert hose["order_up_to"].to_list() == [0, 0]
    assert hose["action"].to_list() == ["do_not_stock", "do_not_stock"]
    assert hose["stocked"].to_list() == [False, False]
    assert "Kept at the DC: the SKU is do-not-stock" in hose["reason"][0]
    assert "Target" not in hose["reason"][0]


def test_a_sku_unit_fill_target_is_that_series_fill_rate() -> None:
    def disc(kind: str) -> pl.DataFrame:
        targets = pl.DataFrame([("sku", "DISC", kind, 0.93)], schema=SERVICE_TARGETS, orient="row")
        return _network_plan(targets).filter(pl.col("sku") == "DISC").sort("warehouse_id")

    grouped, per_series = disc("unit_fill"), disc("fill_rate")
    assert grouped["target_kind"].to_list() == ["unit_fill", "unit_fill"]
    assert grouped["order_up_to"].to_list() == per_series["order_up_to"].to_list()
    assert (grouped["expected_fill_rate"] >= 0.93 - 1e-9).all()
    assert "Target: unit fill 93.0 % of FW1 × DISC (its held parts expect" in grouped["reason"][0]


def test_a_unit_fill_default_target_groups_each_warehouse_and_category() -> None:
    plan = _network_plan(default=ServiceTarget("unit_fill", 0.92))
    stocked = plan.filter(pl.col("sku") != "HOSE")  # do-not-stock
    assert set(stocked["target_kind"]) == {"unit_fill"}
    for (warehouse, category), part in stocked.group_by("warehouse_id", "category"):
        assert _group_fill(part) >= 0.92 - 1e-6, (warehouse, category)
        assert f"of {warehouse} × {category} (its held parts expect" in part["reason"][0]


# (d) The reason a planner reads.


def test_the_reason_names_the_group_and_the_cycle_service_it_came_to() -> None:
    plan = _network_plan(BRAKES_90)
    row = plan.filter((pl.col("warehouse_id") == "FW2") & (pl.col("sku") == "CALIPER")).row(
        0, named=True
    )
    part = plan.filter((pl.col("warehouse_id") == "FW2") & (pl.col("category") == "brakes"))
    part = part.filter(pl.col("sku") != "HOSE").sort("sku")
    alone = _alone(part, 0.9)
    caliper = part["sku"].to_list().index("CALIPER")
    expected = (
        f"Target: unit fill 90.0 % of FW2 × brakes (its held parts expect "
        f"{round(alone.group_fill[0] * 100, 1)} %; here that takes "
        f"{round(float(alone.cycle_service[caliper]) * 100, 1)} % cycles without a stock-out). "
        f"Keep {row['order_up_to']} unit"
    )
    assert expected in row["reason"], row["reason"]


# (c) The migration and the places a planner sets a target.


def test_migration_0005_keeps_targets_and_plans_and_accepts_unit_fill(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, target=4)
    con.execute(
        "INSERT INTO service_targets VALUES "
        "('category', 'brakes', 'fill_rate', 0.97, '2026-11-01 08:00+00', 'ana'),"
        "('sku', 'K1', 'cycle_service', 0.9, '2026-11-02 08:00+00', 'bo')"
    )
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO service_targets VALUES ('sku', 'K2', 'unit_fill', 0.9, now(), 'x')"
        )
    con.execute(
        "INSERT INTO runs (run_id, kind, status, started_at) "
        "VALUES ('r1', 'nightly', 'running', now())"
    )
    _insert_plan_row(con, "K1", "cycle_service")
    before = con.execute("SELECT * FROM service_targets ORDER BY scope, key").fetchall()
    plan_before = con.execute("SELECT * FROM replenishment_plan").fetchall()

    assert migrate(con, target=5) == [5]
    assert current_version(con) == 5
    assert con.execute("SELECT * FROM service_targets ORDER BY scope, key").fetchall() == before
    assert con.execute("SELECT * FROM replenishment_plan").fetchall() == plan_before
    con.execute("INSERT INTO service_targets VALUES ('sku', 'K2', 'unit_fill', 0.9, now(), 'x')")
    _insert_plan_row(con, "K2", "unit_fill")
    assert con.execute("SELECT count(*) FROM replenishment_plan").fetchall() == [(2,)]
    insert = "INSERT INTO service_targets VALUES ('sku', 'K3', ?, ?, now(), 'x')"
    with pytest.raises(duckdb.ConstraintException):
        con.execute(insert, ["speed", 0.9])
    with pytest.raises(duckdb.ConstraintException):
        con.execute(insert, ["unit_fill", 1.0])


def _insert_plan_row(con: duckdb.DuckDBPyConnection, sku: str, kind: str) -> None:
    """A replenishment_plan row of run r1 (0004's columns, in order) with target kind ``kind``."""
    row = [
        "r1", "FW1", sku, AS_OF, "brakes", "replenish", 0, 0, 0, 0, 0, 0, 1, 0.4, 1.0, 0.4,
        kind, 0.9, 2, 0.97, 0.99, 2, 1, 1, 2, "none", None, 0, 0.5, 10.0, 1.0, 2, "none",
        "allocated", "optimal", "a reason",
    ]  # fmt: skip
    con.execute(f"INSERT INTO replenishment_plan VALUES ({', '.join('?' * len(row))})", row)


def test_the_target_kinds_are_the_same_everywhere(tmp_path: Path) -> None:
    """Settings, the domain type and the table CHECK accept the same kinds."""
    from typing import get_args

    from settings import Settings

    assert get_args(Settings.model_fields["target_kind"].annotation) == TARGET_KINDS
    con = connect(tmp_path / "w.duckdb")
    checks = con.execute(
        "SELECT constraint_text FROM duckdb_constraints() "
        "WHERE table_name = 'service_targets' AND constraint_text LIKE '%kind%'"
    ).fetchall()
    assert [c[0].count("'") // 2 for c in checks] == [len(TARGET_KINDS)]
    assert all(f"'{kind}'" in checks[0][0] for kind in TARGET_KINDS)
