"""The one NB1 implementation: values pinned, and the same answers wherever it is used."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import nbinom, poisson

from models import nb1
from models.distributions import count_quantiles
from optimization.replenishment.service import demand_cdf, demand_sf, expected_shortage


def test_pinned_values() -> None:
    # NB1(mean 2, dispersion 3) is NB(size 1, p 1/3): P(D > k) = (2/3)^(k+1).
    assert nb1.sf(np.array([0.0, 1.0, 4.0]), 2.0, 3.0) == pytest.approx(
        [2 / 3, 4 / 9, 32 / 243], rel=1e-12
    )
    # Poisson(1.5): P(D <= 2) = e^-1.5 (1 + 1.5 + 1.125).
    assert nb1.cdf(2.0, 1.5, 1.0) == pytest.approx(np.exp(-1.5) * 3.625, rel=1e-12)
    # E[(D - 3)+] = sum_{j >= 3} P(D > j) = (2/3)^4 / (1 - 2/3).
    assert expected_shortage(3.0, 2.0, 3.0) == pytest.approx(3 * (2 / 3) ** 4, rel=1e-12)
    assert nb1.ppf(np.array([2.0, 3.5]), np.array([3.0, 1.0]), [0.5, 0.95]).tolist() == [
        [1.0, 7.0],
        [3.0, 7.0],
    ]


def test_quantiles_agree_with_scipy_over_a_grid() -> None:
    mean, disp = (a.ravel() for a in np.meshgrid([0.05, 0.7, 3.0, 25.0, 300.0], [1, 1.3, 6.0]))
    levels = np.array([0.5, 0.8, 0.95, 0.99])
    got = nb1.ppf(mean, disp, levels)
    for j, p in enumerate(levels):
        expected = np.where(
            disp == 1,
            poisson.ppf(p, mean),
            nbinom.ppf(p, mean / np.maximum(disp - 1, 1e-12), 1 / disp),
        )
        assert got[:, j].tolist() == expected.tolist()


def test_the_poisson_cut_off_is_one_place_and_continuous() -> None:
    k = np.arange(0.0, 12.0)
    just_poisson = nb1.sf(k, 3.0, 1 + nb1.POISSON_EPS / 2)
    just_nb = nb1.sf(k, 3.0, 1 + nb1.POISSON_EPS * 10)
    assert just_poisson.tolist() == poisson.sf(k, 3.0).tolist()
    assert just_nb == pytest.approx(just_poisson, abs=1e-7)
    quantiles = count_quantiles(np.full(2, 3.0), 1 + nb1.POISSON_EPS * np.array([0.5, 10]), [95])
    assert quantiles[0, 0] == quantiles[1, 0] == poisson.ppf(0.95, 3.0)


def test_forecasting_and_service_maths_share_it() -> None:
    mean = np.array([0.0, 0.4, 2.0, 9.0, 60.0])
    disp = np.array([2.0, 1.0, 3.0, 1.7, 12.0])
    k = np.array([0.0, 1.0, 3.0, 12.0, 80.0])
    assert demand_sf(k, mean, disp).tolist() == nb1.sf(k, mean, disp).tolist()
    assert demand_cdf(k, mean, disp).tolist() == nb1.cdf(k, mean, disp).tolist()
    q = count_quantiles(mean, disp, [90])[:, 0]
    # The quantile is the smallest k whose cdf reaches the level, under the same cdf.
    assert (nb1.cdf(q, mean, disp) >= 0.9 - 1e-12).all()
    assert (nb1.cdf(q - 1, mean, disp)[q > 0] < 0.9).all()


def test_zero_or_missing_parameters() -> None:
    assert nb1.sf(np.array([-1.0, 0.0, 5.0]), 0.0, 4.0).tolist() == [1.0, 0.0, 0.0]
    # A missing dispersion is Poisson; a missing mean is no demand.
    assert nb1.sf(2.0, 1.5, np.nan) == pytest.approx(poisson.sf(2, 1.5), rel=1e-12)
    assert nb1.sf(0.0, np.nan, 2.0) == 0.0
    assert expected_shortage(-2.0, 1.5, 2.0) == pytest.approx(3.5)
