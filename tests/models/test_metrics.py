"""Accuracy metrics against values computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from models.metrics import aggregate_metrics, series_metrics, training_scales


@pytest.fixture(scope="module")
def train() -> pl.DataFrame:
    """Series a: 0, 2, 0, 2 (mean |diff| = 2, mean diff² = 4)."""
    return pl.DataFrame(
        {
            "unique_id": ["a"] * 4,
            "ds": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 4), eager=True),
            "y": [0.0, 2.0, 0.0, 2.0],
        }
    )


def test_point_and_quantile_metrics_by_hand(train: pl.DataFrame) -> None:
    evaluated = pl.DataFrame(
        {
            "unique_id": ["a", "a"],
            "y": [3.0, 1.0],
            "mean": [1.0, 1.0],
            "q50": [1.0, 1.0],
            "q90": [2.0, 2.0],
            "class": ["smooth", "smooth"],
        }
    )
    per = series_metrics(evaluated, training_scales(train), [50, 90]).row(0, named=True)
    assert per["mase"] == pytest.approx(0.5)  # mean |e| = 1, scale 2
    assert per["rmsse"] == pytest.approx((2.0 / 4) ** 0.5)  # mean e² = 2, scale 4
    assert per["wape"] == pytest.approx(0.5)  # Σ|e| = 2, Σy = 4
    assert per["bias"] == pytest.approx(-0.5)  # Σ(mean - y) = -2
    # period 1: (0.5·2 + 0.9·1)/2 = 0.95; period 2: (0 + 0.1·1)/2 = 0.05; mean 0.5, scale 2
    assert per["spl"] == pytest.approx(0.25)
    assert per["coverage_q50"] == pytest.approx(0.5)
    assert per["coverage_q90"] == pytest.approx(0.5)
    assert per["class"] == "smooth"


def test_aggregation_sums_before_dividing(train: pl.DataFrame) -> None:
    scales = pl.concat(
        [training_scales(train), training_scales(train.with_columns(unique_id=pl.lit("b")))]
    )
    evaluated = pl.DataFrame(
        {"unique_id": ["a", "b"], "y": [4.0, 0.0], "mean": [2.0, 2.0], "g": ["x", "x"]}
    )
    agg = aggregate_metrics(series_metrics(evaluated, scales), by=["g"]).row(0, named=True)
    assert agg["wape"] == pytest.approx(1.0)  # (2 + 2) / 4
    assert agg["bias"] == pytest.approx(0.0)
    assert agg["mase"] == pytest.approx(1.0)
    assert agg["series"] == 2
