"""Network forecasting around the engine: unsold stocked series and accuracy roll-ups."""

from __future__ import annotations

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from models.network import _owned, accuracy_rollup, forecast_unsold, unsold_targets
from models.schemas import DEMAND_HISTORY, NETWORK_FORECAST
from optimization.replenishment.policy import POSITIONS

AS_OF = date(2026, 3, 31)


def _positions(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(w, s, q, 0, 0, 0, AS_OF, None) for w, s, q in rows], schema=POSITIONS, orient="row"
    )


def _sales(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame([(w, s, AS_OF, y) for w, s, y in rows], schema=DEMAND_HISTORY, orient="row")


def test_stocked_series_without_sales_are_cold_starts_only_when_new() -> None:
    positions = _positions(
        [("FW1", "OLD", 3), ("FW1", "NEWSKU", 2), ("FW9", "A", 1), ("FW1", "A", 5), ("FW1", "Z", 0)]
    )
    sales = _sales([("FW1", "A", 2.0), ("FW2", "OLD", 1.0), ("FW1", "A9", 1.0)])
    targets, cold = unsold_targets(positions, sales, new_warehouses=["FW9"])
    # FW1/A sold, FW1/Z has no stock: neither is a target
    assert targets.rows() == [("FW1", "NEWSKU"), ("FW1", "OLD"), ("FW9", "A")]
    # NEWSKU never sold anywhere, FW9 is new; OLD sells elsewhere: dormant here
    assert sorted(cold.rows()) == [("FW1", "NEWSKU"), ("FW9", "A")]


def test_unsold_forecasts_scale_peers_by_exposure() -> None:
    sales = pl.DataFrame(
        {
            "warehouse_id": ["FW1"] * 10,
            "sku": ["A"] * 10,
            "ds": pl.date_range(date(2026, 3, 22), AS_OF, eager=True),
            "y": [1.0] * 10,
        },
        schema=DEMAND_HISTORY,
    )
    skus = pl.DataFrame(
        {"sku": ["A", "B"], "category": ["filters"] * 2, "part_type": ["oil_filter"] * 2}
    )
    exposure = pl.DataFrame(
        {"warehouse_id": ["FW1", "FW9"], "part_type": ["oil_filter"] * 2, "exposure": [100.0, 50.0]}
    )
    targets = pl.DataFrame({"warehouse_id": ["FW9", "FW1"], "sku": ["A", "B"]})
    cold = targets.filter(pl.col("warehouse_id") == "FW9")
    out = forecast_unsold(targets, cold, AS_OF, 3, (sales, skus, exposure))
    assert out.schema == NETWORK_FORECAST
    assert out.height == 6
    fw9 = out.filter(pl.col("warehouse_id") == "FW9")
    # the same sku sells 1/day at FW1 with twice the exposure: 0.5/day at FW9
    assert fw9["mean"].to_list() == [0.5] * 3
    assert fw9["class"].unique().to_list() == ["new"]
    assert fw9["model"][0].startswith("ColdStart")
    dormant = out.filter(pl.col("warehouse_id") == "FW1")
    assert dormant["mean"].to_list() == [0.0] * 3
    assert dormant["q99"].to_list() == [0.0] * 3
    assert dormant["class"].unique().to_list() == ["dormant"]


def test_accuracy_rolls_up_by_warehouse_category_class_and_network() -> None:
    per_series = pl.DataFrame(
        {
            "unique_id": ["FW1/A", "FW1/B", "FW2/A"],
            "warehouse_id": ["FW1", "FW1", "FW2"],
            "sku": ["A", "B", "A"],
            "category": ["filters", "tyres", "filters"],
            "class": ["smooth", "lumpy", "smooth"],
            "n": [14, 14, 14],
            "abs_error": [7.0, 14.0, 0.0],
            "error": [7.0, -14.0, 0.0],
            "actual": [14.0, 14.0, 14.0],
            "pinball": [1.0, 2.0, 0.5],
            "coverage_q95": [1.0, 0.5, 0.9],
            "mase": [0.5, 1.0, 0.0],
            "rmsse": [0.5, 1.0, 0.0],
            "wape": [0.5, 1.0, 0.0],
            "bias": [0.5, -1.0, 0.0],
            "spl": [0.2, 0.4, 0.1],
        }
    )
    rows = accuracy_rollup(per_series)
    scopes = rows.group_by("scope").len().sort("scope")
    assert dict(scopes.iter_rows()) == {
        "category": 2,
        "class": 2,
        "network": 1,
        "series": 3,
        "warehouse": 2,
    }
    network = rows.filter(pl.col("scope") == "network").row(0, named=True)
    assert network["series"] == 3
    assert network["wape"] == (7 + 14 + 0) / 42


def _character_bytes(frame: pl.DataFrame, column: str) -> int:
    """Bytes of the character buffers behind a string column (its views' data buffers)."""
    arrow = frame.to_arrow(compat_level=pl.CompatLevel.newest()).column(column)
    return sum(b.size for chunk in arrow.chunks for b in chunk.buffers()[2:] if b is not None)


def test_kept_frames_hold_only_their_own_characters() -> None:
    # A 1 % filter of 100,000 long ids: the filtered column still points at all of them.
    ids = pl.DataFrame({"k": pl.int_range(100_000, eager=True)}).with_columns(
        unique_id=pl.format("FW001/SKU{}-long", pl.col("k"))
    )
    kept = ids.filter(pl.col("k") % 100 == 0)
    assert _character_bytes(kept, "unique_id") == _character_bytes(ids, "unique_id")

    owned = _owned(kept)

    assert_frame_equal(owned, kept)
    assert _character_bytes(owned, "unique_id") * 50 < _character_bytes(ids, "unique_id")
