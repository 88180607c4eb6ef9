"""The min/max baseline: its levels, and through the policy as ``rule="minmax"``."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from models.params import ForecastParams
from optimization.replenishment.baseline import (
    MOVING_AVERAGE,
    MinMaxParams,
    minmax_forecast,
    minmax_levels,
)
from optimization.replenishment.policy import (
    DEMAND_DISTRIBUTION,
    POSITIONS,
    PROPOSAL,
    SKU_POLICY,
    PolicyParams,
    plan_replenishment,
)

AS_OF = date(2026, 11, 20)
MINMAX = PolicyParams(rule="minmax")


def _series(rate: float, last_sale: date | None, multiple: int = 1, lead: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rate": [rate],
            "last_sale": [last_sale],
            "lead_time_days": [lead],
            "sales_multiple": [multiple],
            "do_not_stock": [False],
        },
        schema_overrides={"last_sale": pl.Date},
    )


def test_reorder_point_is_a_week_and_the_maximum_two_weeks_of_average_demand() -> None:
    row = minmax_levels(_series(1.5, AS_OF), AS_OF, MinMaxParams()).row(0, named=True)
    assert (row["stocked"], row["reorder_point"], row["order_up_to"]) == (True, 11, 21)


def test_the_lead_time_adds_its_days_to_both_levels() -> None:
    row = minmax_levels(_series(1.0, AS_OF, lead=2), AS_OF, MinMaxParams()).row(0, named=True)
    assert (row["reorder_point"], row["order_up_to"]) == (9, 16)


def test_the_maximum_is_rounded_up_to_the_sales_multiple() -> None:
    row = minmax_levels(_series(0.2, AS_OF, multiple=4), AS_OF, MinMaxParams()).row(0, named=True)
    assert row["order_up_to"] == 4  # 2.8 units of two weeks' demand → one set of 4


def test_only_series_sold_within_the_window_are_held() -> None:
    inside = AS_OF - timedelta(days=27)
    outside = AS_OF - timedelta(days=28)
    frame = pl.concat(
        [_series(0.5, inside), _series(0.5, outside), _series(0.5, None)], how="vertical"
    )
    out = minmax_levels(frame, AS_OF, MinMaxParams())
    assert out["stocked"].to_list() == [True, False, False]
    assert out["order_up_to"].to_list() == [7, 0, 0]
    assert out["stocking_reason"][1].startswith("Kept at the DC (min/max): no sale in the last 28")


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="reorder_days < max_days"):
        MinMaxParams(reorder_days=14, max_days=7)
    with pytest.raises(ValueError, match="rule must be"):
        PolicyParams(rule="sometimes")  # type: ignore[arg-type]


def test_minmax_forecast_is_the_moving_average_for_every_class() -> None:
    params = minmax_forecast(ForecastParams(), MinMaxParams(window_days=28))
    assert set(params.active_candidates.values()) == {(MOVING_AVERAGE,)}
    assert params.season == 28
    assert not params.seasonal


def _plan(rate: float, on_hand: int, *, multiple: int = 1) -> dict[str, object]:
    demand = pl.DataFrame(
        [("FW1", "K1", rate, 1.0, "smooth", AS_OF)], schema=DEMAND_DISTRIBUTION, orient="row"
    )
    positions = pl.DataFrame(
        [("FW1", "K1", on_hand, 0, 0, 0, AS_OF, None)], schema=POSITIONS, orient="row"
    )
    skus = pl.DataFrame(
        [("K1", "filters", 12, 24, multiple, 0, False, 0.5, 20.0, 10.0)],
        schema=SKU_POLICY,
        orient="row",
    )
    out = plan_replenishment(demand, positions, skus, AS_OF, None, MINMAX)
    assert out.schema == PROPOSAL
    return out.row(0, named=True)


def test_the_policy_orders_up_to_the_maximum_at_the_reorder_point() -> None:
    row = _plan(2.0, on_hand=14)  # s = 14, S = 28
    assert (row["order_up_to"], row["proposed_quantity"], row["action"]) == (28, 14, "replenish")


def test_the_policy_orders_nothing_above_the_reorder_point() -> None:
    row = _plan(2.0, on_hand=15)
    assert (row["proposed_quantity"], row["raw_need"], row["action"]) == (0, 0, "hold")


def test_min_max_has_no_cover_cap() -> None:
    # 0.5 a day in sets of 40: one set is 80 days of demand, past the 60-day cap that
    # holds the service rule back; min/max sends it.
    row = _plan(0.5, on_hand=0, multiple=40)
    assert (row["order_up_to"], row["proposed_quantity"], row["rounding"]) == (40, 40, "none")
    service = plan_replenishment(
        pl.DataFrame([("FW1", "K1", 0.5, 1.0, "smooth", AS_OF)], DEMAND_DISTRIBUTION, orient="row"),
        pl.DataFrame([("FW1", "K1", 0, 0, 0, 0, AS_OF, None)], POSITIONS, orient="row"),
        pl.DataFrame(
            [("K1", "filters", 12, 24, 40, 0, False, 0.5, 20.0, 10.0)], SKU_POLICY, orient="row"
        ),
        AS_OF,
    )
    assert service["proposed_quantity"].to_list() == [0]
