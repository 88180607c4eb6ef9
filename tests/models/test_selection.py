"""Model choice follows the backtest: different data, different choice."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.engine import ForecastParams, forecast
from models.selection import SELECTION_SCHEMA, selection_sample, stale_series

PAIR = {
    cls: ("Naive", "HistoricAverage")
    for cls in ("smooth", "erratic", "intermittent", "lumpy", "dormant", "new")
}


def _series(values: np.ndarray) -> pl.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(values.size)]
    return pl.DataFrame({"unique_id": ["s"] * values.size, "ds": days, "y": values.astype(float)})


@pytest.mark.parametrize(
    ("shape", "expected"),
    [("random_walk", "Naive"), ("white_noise", "HistoricAverage")],
)
def test_backtest_data_decides_the_model(shape: str, expected: str) -> None:
    rng = np.random.default_rng(11)
    if shape == "random_walk":
        values = 200 + np.cumsum(rng.normal(0, 8, 150)).round()
    else:
        values = rng.poisson(50, 150)
    params = ForecastParams(freq="D", horizon=7, candidates=PAIR, shrinkage=0.0)
    result = forecast(_series(np.clip(values, 0, None)), params)
    assert result.selection.models["model"].to_list() == [expected]


def test_stale_series_rule() -> None:
    previous = pl.DataFrame(
        {
            "unique_id": ["fresh", "old", "moved"],
            "class": ["smooth", "smooth", "smooth"],
            "group": ["all"] * 3,
            "model": ["SES"] * 3,
            "score": [1.0] * 3,
            "selected_through": [date(2024, 3, 8), date(2024, 3, 1), date(2024, 3, 8)],
        },
        schema=SELECTION_SCHEMA,
    )
    current = pl.DataFrame(
        {
            "unique_id": ["fresh", "old", "moved", "new"],
            "class": ["smooth", "smooth", "lumpy", "smooth"],
        }
    )
    stale = stale_series(previous, current, date(2024, 3, 10), 7, "D")
    assert sorted(stale.to_list()) == ["moved", "new", "old"]


def test_selection_sample_is_bounded_per_class_and_group_and_stable() -> None:
    membership = pl.DataFrame(
        {
            "unique_id": [f"s{i}" for i in range(30)],
            "class": ["lumpy"] * 20 + ["smooth"] * 10,
            "group": ["brakes", "filters"] * 15,
        }
    )
    sample = selection_sample(membership, 3)
    sizes = sample.group_by("class", "group").len()["len"].to_list()
    assert sorted(sizes) == [3, 3, 3, 3]
    again = selection_sample(membership.reverse(), 3)
    assert sorted(again["unique_id"].to_list()) == sorted(sample["unique_id"].to_list())
    assert selection_sample(membership, None).height == 30


def test_sampled_selection_gives_every_series_its_peers_choice() -> None:
    rng = np.random.default_rng(3)
    history = pl.concat(
        _series(rng.poisson(50, 120)).with_columns(unique_id=pl.lit(f"s{i}")) for i in range(8)
    )
    params = ForecastParams(freq="D", horizon=7, candidates=PAIR, selection_sample=2)
    chosen = forecast(history, params).selection.models
    assert chosen.height == 8
    assert chosen["score"].is_not_null().sum() == 2
    # White noise: the peers' backtest picks the long-run mean for the unsampled series too.
    assert set(chosen.filter(pl.col("score").is_null())["model"]) == {"HistoricAverage"}
