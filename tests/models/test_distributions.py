"""Quantiles of the NB1 demand distribution, per period and over a protection period."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy.stats import nbinom, poisson

from models import nb1
from models.distributions import (
    CALIBRATION,
    DispersionParams,
    calibrate,
    count_quantiles,
    history_dispersion,
    protection_quantiles,
)

LEVELS = [50, 80, 90, 95, 99]
START = date(2026, 1, 1)


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, np.ndarray]:
    """Means from 0 to 40 crossed with dispersions from Poisson (1) to very lumpy (25)."""
    mean, disp = np.meshgrid([0.0, 0.01, 0.2, 1.0, 3.5, 40.0], [1.0, 1.5, 4.0, 25.0])
    return mean.ravel(), disp.ravel()


def test_quantiles_are_monotone_non_negative_integers(grid: tuple[np.ndarray, np.ndarray]) -> None:
    q = count_quantiles(grid[0], grid[1], LEVELS)
    assert (q >= 0).all()
    assert (np.diff(q, axis=1) >= 0).all()
    assert (q == np.round(q)).all()


def test_quantile_is_smallest_k_with_cdf_at_least_p(grid: tuple[np.ndarray, np.ndarray]) -> None:
    mean, disp = grid
    q = count_quantiles(mean, disp, LEVELS)
    for j, level in enumerate(LEVELS):
        p = level / 100
        assert (nb1.cdf(q[:, j], mean, disp) >= p - 1e-12).all()
        below = q[:, j] - 1
        assert (nb1.cdf(below, mean, disp)[below >= 0] < p).all()


def test_matches_scipy_negative_binomial() -> None:
    q = count_quantiles(np.array([2.0]), np.array([3.0]), [95])
    assert q[0, 0] == nbinom.ppf(0.95, 1.0, 1 / 3)


def test_zero_mean_gives_zero_quantiles() -> None:
    assert (count_quantiles(np.zeros(3), np.array([1.0, 2.0, 9.0]), LEVELS) == 0).all()


def _forecasts(mean: float, periods: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unique_id": ["a"] * periods,
            "ds": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, periods), eager=True),
            "mean": [mean] * periods,
        }
    )


def _series(dispersion: float) -> pl.DataFrame:
    return pl.DataFrame(
        {"unique_id": ["a"], "class": ["lumpy"], "model": ["TSB"], "dispersion": [dispersion]}
    )


def test_protection_sum_of_poisson_periods_is_poisson_of_the_sum() -> None:
    out = protection_quantiles(_forecasts(0.7, 10), _series(1.0), 5, LEVELS)
    expected = [poisson.ppf(lv / 100, 3.5) for lv in LEVELS]
    assert out.select(f"q{lv}" for lv in LEVELS).row(0) == tuple(expected)


def test_protection_sum_matches_convolution_of_period_pmfs() -> None:
    mean, disp, periods = 0.4, 3.0, 4
    k = np.arange(200)
    pmf = nbinom.pmf(k, mean / (disp - 1), 1 / disp)
    total = pmf
    for _ in range(periods - 1):
        total = np.convolve(total, pmf)[: k.size]
    cdf = np.cumsum(total)
    expected = [float(np.searchsorted(cdf, lv / 100 - 1e-12)) for lv in LEVELS]
    out = protection_quantiles(_forecasts(mean, periods), _series(disp), periods, LEVELS)
    assert out.select(f"q{lv}" for lv in LEVELS).row(0) == tuple(expected)


def test_protection_sum_is_at_least_one_period() -> None:
    one = protection_quantiles(_forecasts(0.3, 7), _series(2.0), 1, LEVELS)
    week = protection_quantiles(_forecasts(0.3, 7), _series(2.0), 7, LEVELS)
    for lv in LEVELS:
        assert week[f"q{lv}"][0] >= one[f"q{lv}"][0]


def test_calibration_is_monotone_in_level() -> None:
    rng = np.random.default_rng(3)
    n = 40 * 12
    scored = pl.DataFrame(
        {
            "unique_id": [f"s{i // 12}" for i in range(n)],
            "class": ["lumpy"] * n,
            "model": ["TSB"] * n,
            "y": rng.negative_binomial(0.2, 0.2, n).astype(float),
            "mean": [0.8] * n,
            "dispersion": [2.0] * n,
        }
    )
    cal = calibrate(scored, LEVELS)
    assert cal.schema == CALIBRATION
    used = cal.filter(pl.col("class") == "lumpy").sort("level")["level_used"]
    assert used.is_sorted()


@pytest.mark.parametrize("window", [None, 5])
def test_dispersion_of_sorted_frames_matches_the_general_path(window: int | None) -> None:
    rng = np.random.default_rng(11)
    frames = [
        pl.DataFrame(
            {
                "unique_id": f"s{i:02d}",
                "ds": pl.date_range(START, START + timedelta(days=int(n) - 1), eager=True),
                "y": (rng.poisson(0.7, n) * rng.integers(1, 5, n)).astype(float),
            }
        )
        for i, n in enumerate(rng.integers(1, 40, 30))
    ]
    ordered = pl.concat(frames)
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=2)
    params = DispersionParams(window=window)
    fast = history_dispersion(ordered, params)
    general = history_dispersion(shuffled, params)
    assert fast["dispersion"].max() > 1.0
    assert_frame_equal(fast, general, check_exact=False, rel_tol=1e-9)
