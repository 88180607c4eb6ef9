"""The NB1 demand distribution: the one implementation forecasting and replenishment share.

Demand ``D`` ~ NB1(mean ``μ``, dispersion ``φ``): variance ``φ·μ``, ``φ ≥ 1``; as a
negative binomial NB(n, p) it has size ``n = μ / (φ − 1)`` and success probability
``p = 1 / φ``. ``φ`` within :data:`POISSON_EPS` of 1 is Poisson(μ) (the size would
blow up), and ``μ = 0`` is a point mass at 0. Means below 0 or NaN count as 0, and
dispersions below 1 or NaN as 1, so a missing estimate means Poisson.
:mod:`models.distributions` takes its quantiles from here and
:mod:`optimization.replenishment.service` its service measures.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import nbinom, poisson

FloatArray = npt.NDArray[np.float64]
ArrayLike = FloatArray | float

#: ``φ ≤ 1 + POISSON_EPS`` is Poisson. (Forecasting used 1e-6 and the service maths
#: 1e-9 before they shared this module; 1e-9 keeps NB where it is NB, and scipy's
#: NB with sizes up to ~1e9·μ is exact to float precision.)
POISSON_EPS = 1e-9
#: Quantiles beyond this k are left to scipy's (row-by-row) search.
_MAX_WALK = 256


def _clean(mean: ArrayLike, dispersion: ArrayLike) -> tuple[FloatArray, FloatArray]:
    mu = np.clip(np.nan_to_num(np.asarray(mean, dtype=np.float64)), 0.0, None)
    phi = np.maximum(np.nan_to_num(np.asarray(dispersion, dtype=np.float64), nan=1.0), 1.0)
    return mu, phi


def _is_poisson(phi: FloatArray) -> npt.NDArray[np.bool_]:
    return phi <= 1 + POISSON_EPS


def float_arrays(*values: ArrayLike) -> list[FloatArray]:
    """The values as float arrays broadcast to one shape (fresh copies, safe to write)."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.array(a, dtype=np.float64) for a in arrays]


def sf(k: ArrayLike, mean: ArrayLike, dispersion: ArrayLike, extra_size: float = 0.0) -> FloatArray:
    """``P(D > k)``, precise in the upper tail (arguments broadcast).

    ``extra_size`` adds to the NB size: ``extra_size=1`` is the size-biased shift
    ``D'`` of :func:`expected_shortage` (Poisson rows are their own shift).
    """
    k_, mean_, dispersion_ = float_arrays(k, mean, dispersion)
    mu, phi = _clean(mean_, dispersion_)
    k_ = np.floor(k_)
    out = np.where(k_ < 0, 1.0, 0.0)
    poisson_rows = _is_poisson(phi)
    rows = (mu > 0) & poisson_rows
    out[rows] = poisson.sf(k_[rows], mu[rows])
    rows = (mu > 0) & ~poisson_rows
    size = mu[rows] / (phi[rows] - 1) + extra_size
    out[rows] = nbinom.sf(k_[rows], size, 1 / phi[rows])
    return out


def cdf(k: ArrayLike, mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """``P(D ≤ k)`` (arguments broadcast)."""
    return 1.0 - sf(k, mean, dispersion)


def expected_shortage(s: ArrayLike, mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """The loss function ``E[(D − s)⁺]`` (arguments broadcast).

    Closed form: for NB(n, p), ``d·P(D = d) = μ·P(D' = d − 1)`` with ``D' ~ NB(n + 1, p)``
    (Poisson: ``D' = D``), so ``E[(D − s)⁺] = μ·P(D' ≥ s) − s·P(D > s)``. A negative
    level is short by ``μ − s``.
    """
    s_, mean_, dispersion_ = float_arrays(s, mean, dispersion)
    mu, phi = _clean(mean_, dispersion_)
    upper = mu * sf(s_ - 1, mu, phi, extra_size=1.0)
    loss = upper - s_ * sf(s_, mu, phi)
    return np.where(s_ < 0, mu - s_, np.maximum(loss, 0.0))


def ppf(mean: ArrayLike, dispersion: ArrayLike, ps: ArrayLike) -> FloatArray:
    """Quantiles: per row, the smallest integer k with ``F(k) ≥ p`` for each level in ``ps``.

    Returns an array of shape ``(len(mean), len(ps))``. Computed by walking the
    pmf recurrence for all rows at once.

    scipy's discrete ``ppf`` searches row by row and costs ~10 ms per thousand
    rows; the recurrence costs one vector step per unit of k. Rows whose
    P(0) underflows (very large means) or whose quantiles lie beyond
    ``_MAX_WALK`` go to scipy.
    """
    mu, phi = _clean(mean, dispersion)
    ps = np.atleast_1d(np.asarray(ps, dtype=np.float64))
    out = np.zeros((mu.size, ps.size), dtype=np.float64)
    positive = mu > 0
    is_poisson = _is_poisson(phi)
    # Poisson rows carry a dummy NB size (unused) so no inf * 0 arises.
    size = np.where(is_poisson, 1.0, mu / np.maximum(phi - 1, 1e-12))
    q = np.where(is_poisson, 0.0, 1 - 1 / phi)
    log_p0 = np.where(is_poisson, -mu, size * np.log(np.where(is_poisson, 1.0, 1 / phi)))
    walk = positive & (log_p0 > -600)
    big = positive & ~walk
    # Aim slightly below p so float rounding of the running sum never skips a k.
    target = ps - 1e-12
    idx = np.flatnonzero(walk)
    pmf = np.exp(log_p0[idx])
    cdf = pmf.copy()
    k = 0
    done = cdf[:, None] >= target[None, :]
    found = np.where(done, 0.0, np.nan)
    top = target.max()
    while idx.size:
        # Compact only when many rows are finished: compaction costs more than a step.
        active = cdf < top
        if active.sum() < 0.5 * idx.size:
            out[idx[~active]] = found[~active]
            idx, pmf, cdf = idx[active], pmf[active], cdf[active]
            done, found = done[active], found[active]
            if not idx.size:
                break
        ratio = np.where(is_poisson[idx], mu[idx] / (k + 1), (k + size[idx]) / (k + 1) * q[idx])
        pmf = pmf * ratio
        cdf = cdf + pmf
        k += 1
        newly = (cdf[:, None] >= target[None, :]) & ~done
        found[newly] = k
        done |= newly
        if k >= _MAX_WALK:  # long tails: the few rows left go to scipy
            big[idx] = True
            break
    for j, p in enumerate(ps):
        rows = big & is_poisson
        out[rows, j] = poisson.ppf(p, mu[rows])
        rows = big & ~is_poisson
        out[rows, j] = nbinom.ppf(p, size[rows], 1 / phi[rows])
    return np.nan_to_num(out)
