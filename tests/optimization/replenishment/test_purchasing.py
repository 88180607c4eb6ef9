"""The DC's purchase orders: review days, order-up-to over lead time + cycle, cases and MOQ."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.stats import poisson

from optimization.replenishment.dc_demand import (
    DC_DEMAND,
    DC_OUTGOING,
    dc_demand,
    tonight_transfers,
)
from optimization.replenishment.purchasing import (
    DC_POSITIONS,
    PURCHASE_LINES,
    PURCHASE_ORDERS,
    PURCHASE_PLAN,
    REVIEWED,
    SUPPLY_TERMS,
    PurchasingParams,
    next_review_day,
    plan_purchases,
    purchase_orders,
)
from optimization.replenishment.service import ServiceTarget, order_up_to

# The night before a Thursday: 2026-11-19 is day 20,776 since 1970-01-01, a multiple of 7,
# so a weekly supplier's review day is tomorrow's order day.
AS_OF = date(2026, 11, 18)
ORDER_DAY = date(2026, 11, 19)
# Poisson demand, cycle service 0.9: S is a quantile anyone can look up.
CYCLE_90 = PurchasingParams(ServiceTarget("cycle_service", 0.9))


def _supply(*rows: tuple[str, str | None, int | None, int | None, int, int, float]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SUPPLY_TERMS, orient="row")


def _position(sku: str, on_hand: int, reserved: int = 0, **parts: int) -> tuple[object, ...]:
    return (
        "DC01",
        sku,
        on_hand,
        reserved,
        parts.get("on_order", 0),
        parts.get("pull_backs", 0),
        parts.get("released_out", 0),
    )


def _one_sku(
    on_hand: int,
    as_of: date = AS_OF,
    case: int = 5,
    moq: int = 10,
    params: PurchasingParams = CYCLE_90,
    **parts: int,
) -> dict[str, object]:
    """One SKU at 1 unit/day (Poisson), supplier S1: lead time 3, ordered weekly."""
    plan = plan_purchases(
        pl.DataFrame([("DC01", "K1", 1.0, 1.0)], schema=DC_DEMAND, orient="row"),
        pl.DataFrame([_position("K1", on_hand, **parts)], schema=DC_POSITIONS, orient="row"),
        _supply(("K1", "S1", 3, 7, case, moq, 2.5)),
        as_of,
        params,
    )
    assert plan.schema == PURCHASE_PLAN
    return plan.row(0, named=True)


def test_review_days_are_the_multiples_of_the_cycle_since_1970() -> None:
    assert next_review_day(ORDER_DAY, 7) == ORDER_DAY  # a Thursday
    assert next_review_day(ORDER_DAY + timedelta(days=1), 7) == date(2026, 11, 26)
    assert next_review_day(date(2026, 11, 20), 1) == date(2026, 11, 20)
    assert next_review_day(date(1970, 1, 2), 14) == date(1970, 1, 15)
    with pytest.raises(ValueError, match="order cycle must be at least 1 day, got 0"):
        next_review_day(ORDER_DAY, 0)


@pytest.mark.parametrize(
    ("on_hand", "quantity", "rounding"),
    [
        (2, 15, "case"),  # need 12 → 3 cases of 5
        (11, 10, "moq"),  # need 3 → the MOQ 10 (two cases)
        (4, 10, "none"),  # need 10: the MOQ and whole cases already
        (14, 0, "none"),  # at S: covered
    ],
)
def test_on_its_review_day_a_sku_below_s_orders_up_to_s_in_whole_cases_above_the_moq(
    on_hand: int, quantity: int, rounding: str
) -> None:
    row = _one_sku(on_hand)
    # Protection = lead 3 + cycle 7 = 10 days at 1/day; the 0.9 quantile of Poisson(10) is 14.
    assert row["protection_days"] == 10 and row["protection_mean"] == 10.0
    assert row["order_up_to"] == poisson.ppf(0.9, 10) == 14
    assert row["raw_need"] == max(14 - on_hand, 0)
    assert (row["quantity"], row["rounding"]) == (quantity, rounding)
    assert row["action"] == ("order" if quantity else "covered")
    assert row["review_day"] and row["review_on"] == ORDER_DAY
    assert row["expected_on"] == ORDER_DAY + timedelta(days=3)


def test_off_its_review_day_nothing_is_ordered_while_the_position_lasts_to_the_next_goods() -> None:
    # Order day Friday 11-20; the next review is Thursday 11-26, its goods 3 days later:
    # a gap of 9 days, Poisson(9), whose 0.9 quantile 13 is the rush level. 13 is enough.
    row = _one_sku(13, as_of=AS_OF + timedelta(days=1))
    assert row["gap_days"] == 9 and row["rush_level"] == poisson.ppf(0.9, 9) == 13
    assert (row["action"], row["quantity"], row["raw_need"]) == ("not_review_day", 0, 1)
    assert row["review_on"] == date(2026, 11, 26) and not row["review_day"]
    assert row["reason"].endswith(
        "not a review day: S1 is ordered every 7 days, next on 2026-11-26; "
        "tonight's need would be 1; the position lasts until that order's goods arrive "
        "(at least 13 needed for 9 days): no rush"
    )


def test_off_its_review_day_a_position_that_would_not_last_is_rushed_up_to_s() -> None:
    row = _one_sku(2, as_of=AS_OF + timedelta(days=1))
    # need 14 − 2 = 12, above the MOQ 10, in cases of 5: 15, due after the lead time.
    assert (row["action"], row["raw_need"], row["quantity"]) == ("rush", 12, 15)
    assert row["expected_on"] == date(2026, 11, 23)
    assert (
        "the position 2 is below the 13 that meets the target until then: rush order"
        in (row["reason"])
    )
    orders = purchase_orders(pl.DataFrame([row], schema=PURCHASE_PLAN), run_id="r1")
    assert orders.lines["quantity"].to_list() == [15]
    assert orders.headers["expected_on"].to_list() == [date(2026, 11, 23)]
    assert orders.reviewed.is_empty()  # a rush does not supersede the pair's open orders


def test_the_position_counts_every_part_and_what_leaves_tonight() -> None:
    # 20 on hand − 2 reserved + 5 on order + 1 pulled back − 6 released − 8 allocated tonight = 10
    plan = plan_purchases(
        pl.DataFrame([("DC01", "K1", 1.0, 1.0)], schema=DC_DEMAND, orient="row"),
        pl.DataFrame(
            [_position("K1", 20, 2, on_order=5, pull_backs=1, released_out=6)],
            schema=DC_POSITIONS,
            orient="row",
        ),
        _supply(("K1", "S1", 3, 7, 1, 1, 2.5)),
        AS_OF,
        CYCLE_90,
        outgoing=pl.DataFrame([("DC01", "K1", 8)], schema=DC_OUTGOING, orient="row"),
    )
    row = plan.row(0, named=True)
    assert (row["inventory_position"], row["tonight"], row["quantity"]) == (10, 8, 4)


def test_the_reason_reads_without_a_manual() -> None:
    row = _one_sku(2)
    assert row["reason"] == (
        "network demand 1.00/day over the 10 days until a later order can arrive "
        "(lead time 3 + order cycle 7) = 10.0 expected, variance 1.00× the mean; "
        "DC target cycle service 0.9 → order up to 14 (expects fill rate 0.973; "
        "0.917 of order cycles end without a stock-out); "
        "position 2 = on hand 2 − reserved 0 + on order 0 + pull-backs coming 0 "
        "− released to warehouses 0 − allocated tonight 0; "
        "need 12, rounded up to cases of 5: order 15 from S1 (¥37.50), due 2026-11-22 "
        "with about 14 days of cover then"
    )
    # 2 + 15 − 3 days of lead-time demand = 14 units left at receipt = 14 days at 1/day.
    assert row["cover_days"] == 14.0 and row["value"] == 37.5


def test_the_default_target_is_a_fill_rate_of_098_from_the_shared_service_maths() -> None:
    row = _one_sku(0, params=PurchasingParams())
    expected = order_up_to(10.0, 1.0, 0.98, fill_rate_target=True, lead_mean=3.0)
    assert (row["target_kind"], row["target_level"]) == ("fill_rate", 0.98)
    assert row["order_up_to"] == int(expected)
    assert row["expected_fill_rate"] >= 0.98


def test_a_sku_without_a_supplier_is_listed_as_not_orderable() -> None:
    plan = plan_purchases(
        pl.DataFrame([("DC01", "K1", 1.0, 1.0), ("DC01", "K2", 2.0, 1.0)], DC_DEMAND, orient="row"),
        pl.DataFrame([_position("K2", 3)], schema=DC_POSITIONS, orient="row"),
        _supply(("K1", "S1", 3, 7, 1, 1, 2.5), ("K2", None, None, None, 4, 4, 1.0)),
        AS_OF,
        CYCLE_90,
    )
    row = plan.filter(pl.col("sku") == "K2").row(0, named=True)
    assert (row["action"], row["quantity"], row["order_up_to"]) == ("no_supplier", 0, None)
    assert row["reason"].startswith(
        "not orderable: no supplier is known for this SKU (no sku_supply row); "
        "network demand 2.00/day; position 3 = on hand 3"
    )
    orders = purchase_orders(plan, "run-1")
    assert orders.lines["sku"].to_list() == ["K1"]


def test_a_sku_missing_from_the_supply_terms_is_not_orderable_either() -> None:
    plan = plan_purchases(
        pl.DataFrame([("DC01", "K9", 1.0, 1.0)], schema=DC_DEMAND, orient="row"),
        DC_POSITIONS.to_frame(),
        SUPPLY_TERMS.to_frame(),
        AS_OF,
    )
    assert plan["action"].to_list() == ["no_supplier"]


def test_network_demand_sums_rates_and_adds_variances() -> None:
    # FW1: 1/day, φ 2 (variance 2); FW2: 3/day, Poisson (variance 3) → 4/day, variance 5, φ 1.25.
    days = [AS_OF + timedelta(days=d) for d in range(1, 5)]
    forecasts = pl.DataFrame(
        [("FW1", "K1", day, 1.0) for day in days] + [("FW2", "K1", day, 3.0) for day in days],
        schema={"warehouse_id": pl.String, "sku": pl.String, "ds": pl.Date, "mean": pl.Float64},
        orient="row",
    )
    dispersion = pl.DataFrame({"warehouse_id": ["FW1"], "sku": ["K1"], "dispersion": [2.0]})
    parents = pl.DataFrame({"warehouse_id": ["FW1", "FW2"], "dc_id": ["DC01", "DC01"]})
    demand = dc_demand(forecasts, dispersion, parents, _supply(("K1", "S1", 3, 7, 1, 1, 1.0)))
    expected = pl.DataFrame([("DC01", "K1", 4.0, 1.25)], schema=DC_DEMAND, orient="row")
    assert_frame_equal(demand, expected)
    with pytest.raises(ValueError, match="warehouse 'FW2' has no DC"):
        dc_demand(forecasts, dispersion, parents.head(1), SUPPLY_TERMS.to_frame())


def test_network_demand_averages_the_protection_period_within_the_horizon() -> None:
    # Means 1, 2, 3, 4, 5: a 2-day protection period averages 1.5; no supplier: the horizon, 3.
    forecasts = pl.DataFrame(
        {
            "warehouse_id": ["FW1"] * 5 + ["FW1"] * 5,
            "sku": ["K1"] * 5 + ["K2"] * 5,
            "ds": [AS_OF + timedelta(days=d) for d in range(1, 6)] * 2,
            "mean": [1.0, 2.0, 3.0, 4.0, 5.0] * 2,
        }
    )
    demand = dc_demand(
        forecasts,
        pl.DataFrame(
            schema={"warehouse_id": pl.String, "sku": pl.String, "dispersion": pl.Float64}
        ),
        pl.DataFrame({"warehouse_id": ["FW1"], "dc_id": ["DC01"]}),
        _supply(("K1", "S1", 1, 1, 1, 1, 1.0)),
    )
    assert demand.select("sku", "rate", "dispersion").rows() == [("K1", 1.5, 1.0), ("K2", 3.0, 1.0)]


def test_orders_are_one_per_supplier_and_dc_with_a_line_per_sku_that_orders() -> None:
    demand = pl.DataFrame(
        [("DC01", sku, 1.0, 1.0) for sku in ("K1", "K2", "K3")] + [("DC02", "K1", 1.0, 1.0)],
        schema=DC_DEMAND,
        orient="row",
    )
    supply = _supply(
        ("K1", "S1", 3, 7, 1, 1, 1.0),
        ("K2", "S1", 3, 7, 1, 1, 2.0),
        ("K3", "S2", 5, 1, 1, 1, 3.0),
    )
    positions = pl.DataFrame([_position("K2", 99)], schema=DC_POSITIONS, orient="row")
    orders = purchase_orders(plan_purchases(demand, positions, supply, AS_OF, CYCLE_90), "r1")
    assert orders.headers.schema == PURCHASE_ORDERS and orders.lines.schema == PURCHASE_LINES
    assert orders.headers.rows() == [
        ("r1/S1>DC01/20261122", "S1", "DC01", date(2026, 11, 22)),
        ("r1/S1>DC02/20261122", "S1", "DC02", date(2026, 11, 22)),
        ("r1/S2>DC01/20261124", "S2", "DC01", date(2026, 11, 24)),
    ]
    # K2 is covered (99 on hand): no line; every line numbered within its order.
    assert orders.lines.select("po_id", "line_no", "sku").rows() == [
        ("r1/S1>DC01/20261122", 1, "K1"),
        ("r1/S1>DC02/20261122", 1, "K1"),
        ("r1/S2>DC01/20261124", 1, "K3"),
    ]
    assert (orders.lines["proposed_quantity"] == orders.lines["quantity"]).all()
    assert orders.reviewed.schema == REVIEWED
    assert orders.reviewed.rows() == [("S1", "DC01"), ("S1", "DC02"), ("S2", "DC01")]


def test_tonight_transfers_sum_the_allocation_per_dc_and_sku() -> None:
    plan = pl.DataFrame(
        {
            "warehouse_id": ["FW1", "FW2", "FW1"],
            "sku": ["K1", "K1", "K2"],
            "dc_id": ["DC01"] * 3,
            "allocated_quantity": [2, 3, 0],
        }
    )
    expected = pl.DataFrame([("DC01", "K1", 5)], schema=DC_OUTGOING, orient="row")
    assert_frame_equal(tonight_transfers(plan), expected)


def test_nothing_in_gives_an_empty_plan() -> None:
    plan = plan_purchases(
        DC_DEMAND.to_frame(), DC_POSITIONS.to_frame(), SUPPLY_TERMS.to_frame(), AS_OF
    )
    assert plan.is_empty() and plan.schema == PURCHASE_PLAN
    orders = purchase_orders(plan, "r1")
    assert orders.headers.is_empty() and orders.lines.is_empty() and orders.reviewed.is_empty()


def test_a_unit_fill_target_is_refused_for_the_dc() -> None:
    with pytest.raises(ValueError, match="the DC's target must be a fill_rate or a cycle_service"):
        PurchasingParams(ServiceTarget("unit_fill", 0.95))


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        (("K1", "S1", 0, 7, 1, 1, 1.0), "sku 'K1': lead time must be at least 1 day"),
        (("K1", "S1", 3, None, 1, 1, 1.0), "sku 'K1': order cycle must be at least 1 day"),
        (("K1", "S1", 3, 7, 0, 1, 1.0), "sku 'K1': case pack and MOQ must be at least 1"),
    ],
)
def test_unusable_supply_terms_are_refused(
    terms: tuple[str, str | None, int | None, int | None, int, int, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_purchases(DC_DEMAND.to_frame(), DC_POSITIONS.to_frame(), _supply(terms), AS_OF)
