"""The range decision: held at the forward warehouse, or kept at the DC, and why."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from scipy.stats import nbinom, poisson

from optimization.replenishment.stocking import StockingParams, stocking_decision

AS_OF = date(2026, 11, 20)


def _series(**overrides: object) -> pl.DataFrame:
    """One series: 0.05 units a day, Poisson, sold yesterday, a ¥100 part with ¥40 margin."""
    row: dict[str, object] = {
        "rate": 0.05,
        "dispersion": 1.0,
        "class": "intermittent",
        "last_sale": AS_OF,
        "sales_multiple": 1,
        "unit_cost": 100.0,
        "weight": 40.0,
        "do_not_stock": False,
        "pin_stock": None,
        "pin_reason": None,
    }
    row.update(overrides)
    return pl.DataFrame(
        [row],
        schema={
            "rate": pl.Float64,
            "dispersion": pl.Float64,
            "class": pl.String,
            "last_sale": pl.Date,
            "sales_multiple": pl.Int64,
            "unit_cost": pl.Float64,
            "weight": pl.Float64,
            "do_not_stock": pl.Boolean,
            "pin_stock": pl.Boolean,
            "pin_reason": pl.String,
        },
    )


def _decide(params: StockingParams | None = None, **overrides: object) -> dict[str, object]:
    out = stocking_decision(_series(**overrides), 90, 60.0, params or StockingParams())
    return out.row(0, named=True)


def test_the_threshold_is_the_break_even_of_margin_and_risk() -> None:
    row = _decide()
    value = 0.5 * 40.0  # the share of the margin a 30-minute answer protects
    risk = 100.0 * (0.25 * 90 / 365 + 0.05)  # holding over the horizon and the trip back
    assert row["stock_threshold"] == pytest.approx(risk / (risk + value))
    assert row["sell_probability"] == pytest.approx(poisson.sf(0, 0.05 * 90))
    assert row["stocked"]
    assert row["stocking_reason"].startswith("Held here: sells 1 unit within 90 days")


def test_a_set_must_sell_whole_within_the_horizon() -> None:
    row = _decide(rate=0.08, dispersion=6.0, sales_multiple=4, weight=10.0)
    mean = 0.08 * 90
    assert row["sell_probability"] == pytest.approx(nbinom.sf(3, mean / (6.0 - 1), 1 / 6.0))
    assert row["sell_probability"] < row["stock_threshold"]
    assert not row["stocked"]
    assert "Kept at the DC: sells 4 units within 90 days with probability" in row["stocking_reason"]


def test_a_part_without_cost_on_record_still_needs_the_floor() -> None:
    row = _decide(unit_cost=0.0, rate=0.001)
    assert row["stock_threshold"] == 0.2
    assert not row["stocked"]


def test_one_set_covering_more_than_the_cap_is_kept_at_the_dc() -> None:
    row = _decide(rate=0.03, sales_multiple=2)  # a pair covers 67 days > 60
    assert not row["stocked"]
    assert (
        "2 units would cover 67 days of demand, more than the 60-day cap" in row["stocking_reason"]
    )


def test_dormant_never_sold_and_do_not_stock_are_kept_at_the_dc() -> None:
    assert not _decide(**{"class": "dormant"})["stocked"]
    assert not _decide(last_sale=None)["stocked"]
    assert not _decide(do_not_stock=True)["stocked"]


def test_a_planners_pin_beats_the_rule_both_ways() -> None:
    pinned = _decide(last_sale=None, pin_stock=True, pin_reason="new model launch")
    assert pinned["stocked"]
    assert pinned["stocking_reason"] == "Held here: pinned by a planner (new model launch)"
    kept = _decide(rate=5.0, pin_stock=False, pin_reason="moving to FW2")
    assert not kept["stocked"]
    assert kept["stocking_reason"] == "Kept at the DC: a planner's decision (moving to FW2)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"holding_rate": -0.1}, "holding_rate must be >= 0"),
        ({"fast_share": 0.0}, "fast_share must be in"),
        ({"min_sell_probability": 1.0}, "min_sell_probability must be in"),
    ],
)
def test_params_are_validated(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StockingParams(**kwargs)
