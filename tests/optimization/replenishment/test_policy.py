"""Service maths (textbook values) and the order-up-to proposals with their constraints."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy.stats import nbinom

from optimization.replenishment.policy import (
    DEMAND_DISTRIBUTION,
    POSITIONS,
    PROPOSAL,
    SERVICE_TARGETS,
    SKU_POLICY,
    PolicyParams,
    SiteInputs,
    plan_replenishment,
    resolve_targets,
)
from optimization.replenishment.service import (
    ServiceTarget,
    critical_ratio,
    cycle_service,
    expected_shortage,
    fill_rate,
    normal_order_up_to,
    order_up_to,
)
from optimization.replenishment.stocking import STOCKING_OVERRIDES

AS_OF = date(2026, 11, 20)


def test_newsvendor_normal_matches_snyder_shen_example_4_3() -> None:
    alpha = critical_ratio(holding=0.18, penalty=0.70)
    assert normal_order_up_to(50.0, 8.0, alpha) == pytest.approx(56.60, abs=0.005)


def test_newsvendor_poisson_mean_50_orders_56() -> None:
    alpha = critical_ratio(holding=0.18, penalty=0.70)
    assert order_up_to(50.0, 1.0, alpha, fill_rate_target=False) == 56


def test_poisson_0_4_per_day_fill_rates_and_cycle_service() -> None:
    s = np.array([1.0, 2.0, 3.0])
    assert fill_rate(s, 0.4, 1.0) == pytest.approx([0.824, 0.978, 0.998], abs=5e-4)
    assert cycle_service(s, 0.4, 1.0) == pytest.approx([0.938, 0.992, 0.999], abs=5e-4)


@pytest.mark.parametrize(
    ("kind", "level", "expected"),
    [
        ("fill_rate", 0.80, 1),
        ("fill_rate", 0.95, 2),
        ("fill_rate", 0.99, 3),
        ("cycle_service", 0.93, 1),
        ("cycle_service", 0.95, 2),
        ("cycle_service", 0.995, 3),
    ],
)
def test_order_up_to_is_the_smallest_level_meeting_the_target(
    kind: str, level: float, expected: int
) -> None:
    assert order_up_to(0.4, 1.0, level, kind == "fill_rate") == expected


def test_loss_function_matches_the_sum_over_the_distribution() -> None:
    mu, phi = 7.3, 3.2
    d = np.arange(3000)
    pmf = nbinom.pmf(d, mu / (phi - 1), 1 / phi)
    for s in (0, 3, 10, 25):
        brute = (np.maximum(d - s, 0) * pmf).sum()
        assert expected_shortage(float(s), mu, phi) == pytest.approx(brute, rel=1e-9)


def test_lead_time_counts_only_the_shortage_of_the_review_cycle() -> None:
    # With L > 0 the part of the shortage already present before the delivery is not this cycle's.
    with_lead = fill_rate(np.array([6.0]), 4.0, 1.5, lead_mean=2.0)
    textbook = 1 - (expected_shortage(6.0, 4.0, 1.5) - expected_shortage(6.0, 2.0, 1.5)) / 2.0
    assert with_lead == pytest.approx(textbook)
    assert fill_rate(np.array([6.0]), 2.0, 1.5) > with_lead


def test_zero_demand_needs_no_stock() -> None:
    assert order_up_to(0.0, 1.0, 0.99) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"level": 1.2}, "service level must be in"), ({"kind": "speed"}, "target kind")],
)
def test_service_target_is_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceTarget(**kwargs)  # type: ignore[arg-type]


def _plan(
    rate: float = 0.4,
    on_hand: int = 0,
    pack: int = 1,
    moq: int = 1,
    lead: int = 0,
    dns: bool = False,
    reserved: int = 0,
    in_transit: int = 0,
    committed: int = 0,
    last_movement: date | None = AS_OF,
    targets: pl.DataFrame | None = None,
    dispersion: float = 1.0,
    *,
    multiple: int = 1,
    klass: str | None = "intermittent",
    last_receipt: date | None = None,
    params: PolicyParams | None = None,
    pins: pl.DataFrame | None = None,
) -> dict[str, object]:
    # A series that sold on its last movement day (None: never sold here).
    demand = pl.DataFrame(
        [("FW1", "K1", rate, dispersion, klass, last_movement)],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [("FW1", "K1", on_hand, in_transit, reserved, committed, last_movement, last_receipt)],
        schema=POSITIONS,
        orient="row",
    )
    skus = pl.DataFrame(
        [("K1", "filters", pack, moq, multiple, lead, dns, 0.5, 20.0, 10.0)],
        schema=SKU_POLICY,
        orient="row",
    )
    sites = SiteInputs(overrides=pins) if pins is not None else None
    out = plan_replenishment(
        demand, positions, skus, AS_OF, targets, params or PolicyParams(), sites
    )
    assert out.schema == PROPOSAL
    return out.row(0, named=True)


def test_default_target_is_a_unit_fill_of_95_which_a_series_alone_meets_as_a_fill_rate() -> None:
    row = _plan(0.4)
    assert (row["target_kind"], row["target_level"]) == ("unit_fill", 0.95)
    assert row["order_up_to"] == 2
    assert row["expected_fill_rate"] == pytest.approx(0.978, abs=5e-4)


def test_inventory_position_nets_reserved_and_committed() -> None:
    row = _plan(5.0, on_hand=6, in_transit=4, reserved=2, committed=3)
    assert row["inventory_position"] == 5
    assert row["raw_need"] == row["order_up_to"] - 5


def test_lead_time_lengthens_the_protection_period() -> None:
    row = _plan(0.4, lead=2)
    assert (row["protection_days"], row["forecast_mean"]) == (3, pytest.approx(1.2))


def test_levels_and_transfers_move_in_sales_multiples() -> None:
    row = _plan(5.0, on_hand=2, multiple=4)
    assert row["order_up_to"] % 4 == 0
    assert row["proposed_quantity"] % 4 == 0
    assert 0 <= row["proposed_quantity"] - row["raw_need"] < 4
    assert row["rounding"] == "multiple"
    assert "sets of 4" in row["reason"]


def test_the_suppliers_case_never_rounds_a_transfer() -> None:
    row = _plan(5.0, on_hand=2, pack=12, moq=24)
    assert row["proposed_quantity"] == row["raw_need"] > 0
    assert (row["rounding"], row["pack_size"], row["moq"]) == ("none", 12, 24)


def test_a_transfer_never_leaves_more_than_the_cover_cap() -> None:
    row = _plan(1.0, dispersion=4.0, params=PolicyParams(cover_cap_days=5))
    assert row["order_up_to"] > 5
    assert (row["proposed_quantity"], row["rounding"], row["cover_days"]) == (5, "cover_cap", 5.0)
    assert "the 5-day cover cap lets 5 go" in row["reason"]


def test_the_line_says_what_it_sends_and_what_it_is_worth() -> None:
    row = _plan(0.4)
    assert row["proposed_value"] == pytest.approx(row["proposed_quantity"] * 20.0)
    assert (
        f"Send {row['proposed_quantity']} (¥{round(row['proposed_value'])} at cost)"
        in row["reason"]
    )
    assert "Intermittent, last sold here 2026-11-20" in row["reason"]
    assert "φ" not in row["reason"] and "NB1" not in row["reason"]


def test_do_not_stock_proposes_nothing_and_pulls_stock_back() -> None:
    row = _plan(5.0, dns=True, on_hand=3, reserved=1)
    assert (row["proposed_quantity"], row["order_up_to"], row["stocked"]) == (0, 0, False)
    assert (row["action"], row["pull_back_quantity"]) == ("pull_back", 2)


def test_idle_stock_above_s_is_pulled_back() -> None:
    row = _plan(0.05, on_hand=4, last_movement=date(2026, 8, 1))
    assert row["idle_days"] == 111
    assert row["stocked"]
    assert row["pull_back_quantity"] == 4 - row["order_up_to"] > 0
    assert "no sale for 111 days" in row["reason"]


def test_dormant_series_are_kept_at_the_dc_and_their_stock_goes_back() -> None:
    row = _plan(0.0, on_hand=4, klass="dormant", last_movement=date(2026, 8, 1))
    assert (row["stocked"], row["order_up_to"], row["action"]) == (False, 0, "pull_back")
    assert row["pull_back_quantity"] == 4
    assert "Kept at the DC: dormant, last sold here 2026-08-01" in row["reason"]


def test_a_never_sold_series_is_not_stocked_unless_pinned() -> None:
    row = _plan(0.3, last_movement=None, klass=None)
    assert (row["stocked"], row["proposed_quantity"], row["action"]) == (False, 0, "not_stocked")
    assert "never sold here" in row["stocking_reason"]
    pins = pl.DataFrame(
        [("FW1", "K1", True, "launch at FW1")], schema=STOCKING_OVERRIDES, orient="row"
    )
    pinned = _plan(0.3, last_movement=None, klass=None, pins=pins)
    assert pinned["stocked"] and pinned["proposed_quantity"] > 0
    assert "pinned by a planner (launch at FW1)" in pinned["reason"]


def test_a_pinned_series_without_a_forecast_holds_one_set() -> None:
    pins = pl.DataFrame([("FW1", "K1", True, "new model")], schema=STOCKING_OVERRIDES, orient="row")
    row = _plan(0.0, last_movement=None, klass=None, multiple=4, pins=pins)
    assert (row["stocked"], row["order_up_to"], row["proposed_quantity"]) == (True, 4, 4)


def test_stock_far_above_the_cap_goes_back_down_to_the_cap() -> None:
    row = _plan(0.4, on_hand=60)
    # 150 days of cover > 2 × 60: back to 60 days of demand (24 units).
    assert (row["action"], row["pull_back_quantity"]) == ("pull_back", 36)


def test_fast_movers_with_days_of_cover_are_not_pulled_back() -> None:
    row = _plan(3.5, on_hand=32)
    assert (row["action"], row["pull_back_quantity"]) == ("hold", 0)


def test_nothing_received_within_the_guard_goes_back() -> None:
    row = _plan(0.4, on_hand=60, last_receipt=date(2026, 11, 14))
    assert (row["action"], row["pull_back_quantity"]) == ("hold", 0)


def test_recently_moved_stock_a_little_above_s_stays() -> None:
    row = _plan(0.4, on_hand=3)
    assert (row["action"], row["pull_back_quantity"]) == ("hold", 0)


def test_sku_target_beats_category_target() -> None:
    targets = pl.DataFrame(
        [("category", "filters", "cycle_service", 0.93), ("sku", "K1", "fill_rate", 0.99)],
        schema=SERVICE_TARGETS,
        orient="row",
    )
    row = _plan(0.4, targets=targets)
    assert (row["target_kind"], row["target_level"], row["order_up_to"]) == ("fill_rate", 0.99, 3)
    row = _plan(0.4, targets=targets.filter(pl.col("scope") == "category"))
    assert (row["target_kind"], row["order_up_to"]) == ("cycle_service", 1)


def test_the_target_in_force_says_where_it_came_from() -> None:
    targets = pl.DataFrame(
        [("category", "filters", "unit_fill", 0.9), ("sku", "K1", "cycle_service", 0.8)],
        schema=SERVICE_TARGETS,
        orient="row",
    )
    skus = pl.DataFrame({"sku": ["K1", "K2", "K3"], "category": ["filters", "filters", "wipers"]})
    out = resolve_targets(skus, targets, ServiceTarget())
    assert out.sort("sku").rows() == [
        ("K1", "cycle_service", 0.8, "sku"),
        ("K2", "unit_fill", 0.9, "category"),
        ("K3", "fill_rate", 0.95, "default"),
    ]


def test_lumpier_demand_needs_more_stock() -> None:
    assert _plan(2.0, dispersion=4.0)["order_up_to"] > _plan(2.0)["order_up_to"]


def test_stock_without_forecast_is_planned_as_zero_demand() -> None:
    positions = pl.DataFrame(
        [("FW1", "K9", 2, 0, 0, 0, date(2026, 1, 1), None)], schema=POSITIONS, orient="row"
    )
    out = plan_replenishment(
        DEMAND_DISTRIBUTION.to_frame(), positions, SKU_POLICY.to_frame(), AS_OF
    )
    row = out.row(0, named=True)
    assert (row["order_up_to"], row["action"], row["pull_back_quantity"]) == (0, "pull_back", 2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("sku", "K1", "fill_rate", 1.5), "service level must be in"),
        (("shelf", "K1", "fill_rate", 0.9), "target scope"),
        (("sku", "K1", "speed", 0.9), "one of fill_rate, cycle_service, unit_fill, got 'speed'"),
    ],
)
def test_bad_targets_are_refused(row: tuple[str, str, str, float], message: str) -> None:
    targets = pl.DataFrame([row], schema=SERVICE_TARGETS, orient="row")
    with pytest.raises(ValueError, match=message):
        _plan(targets=targets)


def test_policy_params_are_validated() -> None:
    with pytest.raises(ValueError, match="review period"):
        PolicyParams(review_period_days=0)
    with pytest.raises(ValueError, match="cover_cap_days must be in"):
        PolicyParams(cover_cap_days=120)


def _group_of_two(k2_held: bool) -> pl.DataFrame:
    """Two filters at FW1 selling 0.4/day: K1 held, K2 held or kept at the DC by the range
    (sold in 40s, one multiple is 100 days of demand, past the 60-day cover cap)."""
    demand = pl.DataFrame(
        [("FW1", k, 0.4, 1.0, "intermittent", AS_OF) for k in ("K1", "K2")],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [("FW1", k, 0, 0, 0, 0, AS_OF, None) for k in ("K1", "K2")], schema=POSITIONS, orient="row"
    )
    skus = pl.DataFrame(
        [
            (k, "filters", 1, 1, multiple, 0, False, 0.5, 20.0, 10.0)
            for k, multiple in (("K1", 1), ("K2", 1 if k2_held else 40))
        ],
        schema=SKU_POLICY,
        orient="row",
    )
    plan = plan_replenishment(demand, positions, skus, AS_OF, None, PolicyParams())
    return plan.sort("sku")


def test_a_unit_fill_group_asks_its_held_series_to_make_up_for_the_ones_kept_at_the_dc() -> None:
    # (A do-not-stock SKU stays out of its group: test_unit_fill's HOSE.)
    both = _group_of_two(k2_held=True)
    assert both["stocked"].to_list() == [True, True]
    assert both["order_up_to"].to_list() == [2, 2]  # 0.95 of the group: fill 0.978 each
    assert (both["expected_fill_rate"] > 0.95).all()
    one = _group_of_two(k2_held=False)
    assert one["stocked"].to_list() == [True, False]
    # Half the group's units are served late: K1 alone cannot give 0.95 of them, so it aims
    # at the cap 0.99 (Poisson 0.4: S 3 gives 0.998, S 2 only 0.978).
    assert one["order_up_to"].to_list() == [3, 0]
    assert one["expected_fill_rate"][0] == pytest.approx(0.998, abs=5e-4)
