"""Levels fitted to the shelves: the stock worth least per litre of service yields first."""

from __future__ import annotations

import polars as pl

from optimization.replenishment.shelf import SHELF_CAPACITY, fit_levels


def _levels(*rows: tuple[str, str, int, int, float, float, float]) -> pl.DataFrame:
    """``(warehouse, sku, S, multiple, protection mean, dispersion, litres per unit)``."""
    return pl.DataFrame(
        rows,
        schema={
            "warehouse_id": pl.String,
            "sku": pl.String,
            "order_up_to": pl.Int64,
            "sales_multiple": pl.Int64,
            "forecast_mean": pl.Float64,
            "dispersion": pl.Float64,
            "unit_volume_l": pl.Float64,
        },
        orient="row",
    )


def _shelf(**litres: float) -> pl.DataFrame:
    return pl.DataFrame(list(litres.items()), schema=SHELF_CAPACITY, orient="row")


LEVELS = _levels(
    ("FW1", "OIL", 12, 1, 6.0, 1.5, 1.0),  # fast and small: much service per litre
    ("FW1", "TYRE", 8, 4, 0.5, 2.0, 40.0),  # slow and bulky, in sets of 4
    ("FW2", "OIL", 12, 1, 6.0, 1.5, 1.0),
)


def test_levels_that_fit_are_left_alone() -> None:
    out = fit_levels(LEVELS, _shelf(FW1=1000.0, FW2=5.0))
    fw1 = out.filter(pl.col("warehouse_id") == "FW1")
    assert fw1["order_up_to"].to_list() == fw1["level_before_shelf"].to_list() == [12, 8]
    assert fw1["shelf_note"].null_count() == 2


def test_an_over_full_shelf_trims_the_least_service_per_litre_first() -> None:
    # FW1 wants 12 + 320 litres and holds 200: the tyres' second set (the least likely to
    # be used, 160 l) yields; the oil stays whole.
    out = fit_levels(LEVELS, _shelf(FW1=200.0)).filter(pl.col("warehouse_id") == "FW1")
    rows = {r["sku"]: r for r in out.iter_rows(named=True)}
    assert (rows["OIL"]["order_up_to"], rows["OIL"]["shelf_note"]) == (12, None)
    assert (rows["TYRE"]["level_before_shelf"], rows["TYRE"]["order_up_to"]) == (8, 4)
    assert (
        "the shelf of FW1 holds 200 l and the levels wanted 332 l: S 8 → 4"
        in (rows["TYRE"]["shelf_note"])
    )
    kept = sum(r["order_up_to"] * v for r, v in ((rows["OIL"], 1.0), (rows["TYRE"], 40.0)))
    assert kept <= 200.0


def test_a_warehouse_without_a_shelf_row_is_not_fitted() -> None:
    out = fit_levels(LEVELS, _shelf(FW1=1.0)).filter(pl.col("warehouse_id") == "FW2")
    assert out["order_up_to"].to_list() == [12]


def test_kept_levels_stay_whole_sets_and_fill_at_most_the_shelf() -> None:
    levels = _levels(
        *(("FW1", f"K{i}", 4 * (i % 5 + 1), 2, 0.3 * (i + 1), 1.0 + i % 3, 0.5 + i % 4)
          for i in range(30))
    )  # fmt: skip
    out = fit_levels(levels, _shelf(FW1=60.0))
    assert (out["order_up_to"] % 2 == 0).all()
    assert (out["order_up_to"] <= out["level_before_shelf"]).all()
    assert (out["order_up_to"] * out["unit_volume_l"]).sum() <= 60.0
