"""The first order-up-to policy: S from Poisson demand, packs, do-not-stock."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from optimization.replenishment import (
    DEMAND_RATE,
    PLAN,
    SKU_PARAMS,
    STOCK_POSITION,
    PolicyParams,
    plan_order_up_to,
)

AS_OF = date(2026, 11, 20)


def _plan(
    rate: float,
    on_hand: int = 0,
    pack: int = 1,
    lead: int = 0,
    dns: bool = False,
    service: float = 0.95,
    reserved: int = 0,
    in_transit: int = 0,
) -> dict[str, object]:
    rates = pl.DataFrame(
        {"warehouse_id": ["FW1"], "sku": ["K1"], "rate": [rate]}, schema=DEMAND_RATE
    )
    positions = pl.DataFrame(
        {
            "warehouse_id": ["FW1"],
            "sku": ["K1"],
            "on_hand": [on_hand],
            "reserved": [reserved],
            "in_transit": [in_transit],
        },
        schema=STOCK_POSITION,
    )
    skus = pl.DataFrame(
        {
            "sku": ["K1"],
            "category": ["filters"],
            "pack_size": [pack],
            "lead_time_days": [lead],
            "do_not_stock": [dns],
        },
        schema=SKU_PARAMS,
    )
    out = plan_order_up_to(rates, positions, skus, AS_OF, PolicyParams(service_level=service))
    assert out.schema == PLAN
    return out.row(0, named=True)


@pytest.mark.parametrize(("service", "expected_s"), [(0.93, 1), (0.95, 2), (0.99, 2), (0.995, 3)])
def test_order_up_to_is_the_poisson_quantile(service: float, expected_s: int) -> None:
    # Poisson(0.4): P(D<=0)=0.670, P(D<=1)=0.938, P(D<=2)=0.992, P(D<=3)=0.999
    assert _plan(0.4, service=service)["order_up_to"] == expected_s


def test_lead_time_lengthens_the_protection_period() -> None:
    row = _plan(0.4, lead=2)
    assert row["protection_days"] == 3
    assert row["forecast_mean"] == pytest.approx(1.2)
    assert row["order_up_to"] == 3  # Poisson(1.2): P(D<=2)=0.879, P(D<=3)=0.966


def test_need_is_rounded_up_to_whole_packs() -> None:
    row = _plan(5.0, on_hand=2, pack=4)
    assert row["order_up_to"] == 9  # Poisson(5): P(D<=8)=0.932, P(D<=9)=0.968
    assert row["raw_need"] == 7
    assert row["proposed_quantity"] == 8
    assert "packs of 4" in row["reason"]


def test_inventory_position_counts_transit_and_reserved() -> None:
    row = _plan(5.0, on_hand=3, reserved=2, in_transit=4)
    assert row["inventory_position"] == 5
    assert row["raw_need"] == 4


def test_enough_stock_proposes_nothing() -> None:
    row = _plan(0.4, on_hand=5)
    assert row["proposed_quantity"] == 0
    assert row["reason"].startswith("position 5 >= S 2")


def test_do_not_stock_proposes_nothing() -> None:
    row = _plan(5.0, dns=True)
    assert row["proposed_quantity"] == 0
    assert row["reason"].startswith("do-not-stock")


def test_a_series_without_stock_row_starts_from_zero() -> None:
    rates = pl.DataFrame(
        {"warehouse_id": ["FW1"], "sku": ["K9"], "rate": [1.0]}, schema=DEMAND_RATE
    )
    out = plan_order_up_to(
        rates, STOCK_POSITION.to_frame(), SKU_PARAMS.to_frame(), AS_OF, PolicyParams()
    )
    assert out.row(0, named=True)["on_hand"] == 0
    assert out.row(0, named=True)["proposed_quantity"] == 3  # Poisson(1): P(D<=2)=0.920, <=3: 0.981


@pytest.mark.parametrize("level", [0.0, 1.0, 1.2])
def test_service_level_must_be_a_probability(level: float) -> None:
    with pytest.raises(ValueError, match="service level must be in"):
        PolicyParams(service_level=level)
