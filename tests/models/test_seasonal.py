"""Group seasonal indices: recovery of a known pattern, no look-ahead, fallbacks, engine use."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.engine import forecast
from models.params import ForecastParams
from models.seasonal import (
    ALL,
    MIN_SERIES,
    aggregate,
    deseasonalise,
    group_index,
    reseasonalise,
)

START, ORIGIN = date(2025, 1, 1), date(2026, 6, 30)
DAYS = pl.date_range(START, ORIGIN + timedelta(days=14), eager=True)
WEEKEND = np.where(DAYS.dt.weekday().to_numpy() >= 6, 1.5, 1.0)
SEASON = 1 + 0.5 * np.sin(np.arange(DAYS.len()) / 365 * 2 * np.pi)


def _totals(rate: float, group: str = "g", series: int = 100, seed: int = 0) -> pl.DataFrame:
    lam = rate * WEEKEND * SEASON
    y = np.random.default_rng(seed).poisson(lam).astype(float)
    return pl.DataFrame({"group": group, "ds": DAYS, "y": y, "series": series})


def _truth(rate: float) -> np.ndarray:
    lam = rate * WEEKEND * SEASON
    history = DAYS.len() - 14
    return lam[history:] / lam[history - 364 : history].mean()


def test_index_recovers_weekday_and_season_from_last_year() -> None:
    index = group_index(_totals(300.0), ORIGIN, 14, "D")
    ahead = index.matrix[index.groups.index("g"), -14:]
    np.testing.assert_allclose(ahead, _truth(300.0), rtol=0.08)
    saturday = DAYS[-14:].dt.weekday().to_numpy() == 6
    assert ahead[saturday].mean() > 1.3 * ahead[~saturday].mean()


def test_index_never_reads_beyond_the_origin() -> None:
    totals = _totals(300.0)
    changed = totals.with_columns(
        y=pl.when(pl.col("ds") > ORIGIN).then(pl.col("y") * 10).otherwise(pl.col("y"))
    )
    a = group_index(totals, ORIGIN, 14, "D").matrix
    b = group_index(changed, ORIGIN, 14, "D").matrix
    np.testing.assert_array_equal(a, b)


def test_thin_or_small_groups_take_the_profile_of_all() -> None:
    totals = pl.concat(
        [
            _totals(300.0, "big"),
            _totals(2.0, "thin", seed=1),
            _totals(300.0, "few", series=MIN_SERIES - 1, seed=2),
        ]
    )
    index = group_index(totals, ORIGIN, 14, "D")
    every = index.matrix[index.groups.index(ALL)]
    for name in ("thin", "few"):
        np.testing.assert_array_equal(index.matrix[index.groups.index(name)], every)
    assert not np.array_equal(index.matrix[index.groups.index("big")], every)


def test_no_profile_when_everything_is_thin() -> None:
    index = group_index(_totals(1.0), ORIGIN, 7, "D")
    assert np.all(index.matrix == 1.0)


def test_deseasonalise_then_reseasonalise_is_the_identity() -> None:
    index = group_index(_totals(300.0), ORIGIN, 14, "D")
    frame = pl.DataFrame(
        {"unique_id": ["a"] * 5 + ["b"] * 5, "ds": DAYS[-10:], "y": np.arange(10.0)}
    )
    groups = pl.DataFrame({"unique_id": ["a"], "group": ["g"]})  # b has none: ALL's
    plain = deseasonalise(frame, groups, index)
    assert not plain["y"].equals(frame["y"])
    back = reseasonalise(plain.rename({"y": "mean"}), groups, index)
    np.testing.assert_allclose(back["mean"].to_numpy(), frame["y"].to_numpy())


def _panel(n_series: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    days = pl.date_range(date(2025, 7, 1), ORIGIN, eager=True)
    weekend = np.where(days.dt.weekday().to_numpy() >= 6, 2.0, 1.0)
    frames = [
        pl.DataFrame(
            {
                "unique_id": f"s{i:02d}",
                "ds": days,
                "y": rng.poisson(0.6 * weekend).astype(float),
            }
        )
        for i in range(n_series)
    ]
    return pl.concat(frames)


@pytest.mark.parametrize("seasonal", [True, False])
def test_engine_forecasts_carry_the_group_weekday_pattern(seasonal: bool) -> None:
    params = ForecastParams(freq="D", horizon=14, group_seasonality=seasonal)
    out = forecast(_panel(), params).forecasts
    by_day = out.group_by(pl.col("ds").dt.weekday().alias("dow")).agg(pl.col("mean").mean())
    weekend = by_day.filter(pl.col("dow") >= 6)["mean"].mean()
    weekday = by_day.filter(pl.col("dow") < 6)["mean"].mean()
    assert isinstance(weekend, float) and isinstance(weekday, float)
    if seasonal:
        assert weekend / weekday == pytest.approx(2.0, rel=0.15)
        # The level is kept: the week's mean matches the history's (0.6 · 9/7 a day).
        assert out["mean"].mean() == pytest.approx(0.6 * 9 / 7, rel=0.1)
    else:
        assert weekend / weekday == pytest.approx(1.0, abs=0.05)


def test_aggregate_counts_series_per_group() -> None:
    panel = _panel(3)
    groups = pl.DataFrame({"unique_id": ["s00", "s01"], "group": ["x", "x"]})
    totals = aggregate(panel, groups)
    day = totals.filter(pl.col("ds") == ORIGIN).sort("group")
    assert day["group"].to_list() == [ALL, "x"]
    assert day["series"].to_list() == [1, 2]
