"""Cold start from related series, scaled by the warehouse's exposure."""

from __future__ import annotations

import polars as pl
import pytest

from models.coldstart import cold_start_rates, fitment_exposure


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    """Two warehouses; W2 has twice W1's battery exposure; sku B1 sold only at W1."""
    skus = pl.DataFrame(
        {
            "sku": ["B1", "B2", "O1"],
            "category": ["batteries", "batteries", "engine_oil"],
            "part_type": ["battery_12v", "battery_12v", "oil"],
        }
    )
    exposure = pl.DataFrame(
        {
            "warehouse_id": ["W1", "W2", "W1", "W2"],
            "part_type": ["battery_12v"] * 2 + ["oil"] * 2,
            "exposure": [100.0, 200.0, 50.0, 50.0],
        }
    )
    days = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 10), eager=True)
    demand = pl.DataFrame(
        {"warehouse_id": ["W1"] * 10, "sku": ["B1"] * 10, "ds": days, "y": [2.0] * 10}
    )
    return {"skus": skus, "exposure": exposure, "demand": demand}


def test_same_sku_elsewhere_scaled_by_exposure(frames: dict[str, pl.DataFrame]) -> None:
    targets = pl.DataFrame({"warehouse_id": ["W2"], "sku": ["B1"]})
    out = cold_start_rates(targets, frames["demand"], frames["skus"], frames["exposure"], 10)
    row = out.row(0, named=True)
    assert row["source"] == "sku"
    assert row["mean"] == pytest.approx(4.0)  # 2 a day at exposure 100 -> 4 at 200


def test_new_sku_uses_its_part_type(frames: dict[str, pl.DataFrame]) -> None:
    targets = pl.DataFrame({"warehouse_id": ["W1", "W2"], "sku": ["B2", "B2"]})
    out = cold_start_rates(targets, frames["demand"], frames["skus"], frames["exposure"], 10)
    assert out["source"].to_list() == ["part_type", "part_type"]
    assert out["mean"].to_list() == pytest.approx([2.0, 4.0])


def test_no_related_demand_gives_zero(frames: dict[str, pl.DataFrame]) -> None:
    targets = pl.DataFrame({"warehouse_id": ["W1"], "sku": ["O1"]})
    out = cold_start_rates(targets, frames["demand"], frames["skus"], frames["exposure"], 10)
    assert out.row(0, named=True)["source"] == "none"
    assert out["mean"][0] == 0.0


def test_exposure_from_store_vehicle_mix_and_fitment() -> None:
    stores = pl.DataFrame({"store_id": ["s1", "s2"], "warehouse_id": ["W1", "W1"]})
    vehicles = pl.DataFrame(
        {
            "store_id": ["s1", "s2", "s2"],
            "vehicle_model_id": ["v1", "v1", "v2"],
            "vehicles": [10, 5, 7],
        }
    )
    fitment = pl.DataFrame({"sku": ["B1", "B2", "O1"], "vehicle_model_id": ["v1", "v1", "v2"]})
    skus = pl.DataFrame(
        {
            "sku": ["B1", "B2", "O1"],
            "category": ["batteries", "batteries", "engine_oil"],
            "part_type": ["battery_12v", "battery_12v", "oil"],
        }
    )
    out = fitment_exposure(vehicles, stores, fitment, skus)
    assert dict(zip(out["part_type"], out["exposure"], strict=True)) == {
        "battery_12v": 15.0,
        "oil": 7.0,
    }
