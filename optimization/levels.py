"""Reorder points and order-up-to levels over time, for the policies the simulation compares.

Each rule returns ``(reorder_point, order_up_to)`` matrices of shape
``(series, periods)``: at the review closing period ``t`` the simulation orders
up to ``order_up_to[:, t]`` when the inventory position is at or below
``reorder_point[:, t]``.

* :func:`policy_levels` — this project's policy: S from the NB1 demand
  distribution over the protection period (:func:`optimization.service.order_up_to`).
* :func:`normal_levels` — the same forecast mean and variance, with the
  classic normal-approximation safety stock ``μ + z·σ`` (or the normal
  loss function for a fill rate), rounded up.
* :func:`network_fill_levels` — one unit fill-rate target for a whole
  warehouse instead of one per series: each unit of stock goes where it
  serves most demand per unit of money (marginal analysis), so slow, dear
  parts get less cover and fast, cheap ones more;
* :func:`min_max_levels` — a classic min/max rule from trailing average
  demand ``d̄``: order up to ``max = min + ⌈d̄·R⌉`` when the position falls
  below ``min = ⌈cover·d̄·(R + L)⌉``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from optimization.service import (
    ServiceTarget,
    fill_rate,
    normal_order_up_to,
    order_up_to,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def policy_levels(
    lead_mean: FloatArray, review_mean: FloatArray, dispersion: FloatArray, target: ServiceTarget
) -> tuple[IntArray, IntArray]:
    """Order-up-to levels from NB1 demand over lead time + review period.

    Parameters
    ----------
    lead_mean, review_mean
        Mean demand over the lead time and over the review period that each
        review protects, shape ``(series, periods)``.
    dispersion
        NB1 dispersion index per series, shape ``(series,)`` or like the means.
    target
        Fill rate or cycle service level.
    """
    lead, review = np.broadcast_arrays(lead_mean, review_mean)
    phi = np.broadcast_to(np.asarray(dispersion, dtype=np.float64).reshape(-1, 1), lead.shape)
    s = order_up_to(
        (lead + review).ravel(),
        phi.ravel(),
        target.level,
        target.kind == "fill_rate",
        lead.ravel(),
    ).reshape(lead.shape)
    up_to = s.astype(np.int64)
    return up_to - 1, up_to


def normal_levels(
    lead_mean: FloatArray, review_mean: FloatArray, dispersion: FloatArray, target: ServiceTarget
) -> tuple[IntArray, IntArray]:
    """``⌈μ + z·σ⌉`` with ``σ² = φ·μ`` (same mean and variance as the NB1 forecast)."""
    lead, review = np.broadcast_arrays(lead_mean, review_mean)
    phi = np.broadcast_to(np.asarray(dispersion, dtype=np.float64).reshape(-1, 1), lead.shape)
    mu = lead + review
    s = normal_order_up_to(
        mu.ravel(),
        np.sqrt(phi * mu).ravel(),
        target.level,
        target.kind == "fill_rate",
        lead.ravel(),
        np.sqrt(phi * lead).ravel(),
    ).reshape(lead.shape)
    up_to = np.maximum(np.ceil(s - 1e-9), 0).astype(np.int64)
    return up_to - 1, up_to


def network_fill_levels(
    lead_mean: FloatArray,
    review_mean: FloatArray,
    dispersion: FloatArray,
    unit_cost: FloatArray,
    target: float,
) -> tuple[IntArray, IntArray]:
    """Levels meeting one *unit* fill rate over all series at the least stock value.

    Raising S by one unit serves about ``P(D > S)`` more units a review and
    costs about ``unit_cost`` more stock: the greedy (Lagrangian) optimum
    gives series ``i`` the smallest S with ``P(D_i > S) ≤ λ·c_i / c̄``, and
    ``λ`` is the largest price at which the expected unit fill of the first
    review column, ``Σ rate·fill / Σ rate``, still reaches ``target``
    (bisection on ``log λ``). The same per-series cycle-service level
    ``1 − λ·c_i / c̄`` then sets S for every review.

    Parameters
    ----------
    lead_mean, review_mean
        ``(series, periods)`` means, as for :func:`policy_levels`.
    dispersion
        NB1 dispersion per series.
    unit_cost
        Value of a unit per series (> 0; zero-cost series count as the cheapest).
    target
        The unit fill rate in (0, 1).
    """
    lead, review = np.broadcast_arrays(lead_mean, review_mean)
    phi = np.asarray(dispersion, dtype=np.float64).reshape(-1)
    cost = np.asarray(unit_cost, dtype=np.float64).reshape(-1)
    cost = np.maximum(cost, cost[cost > 0].min() if (cost > 0).any() else 1.0)
    relative = cost / cost.mean()
    mu0, lead0 = lead[:, 0] + review[:, 0], lead[:, 0]
    weight = review[:, 0]

    def levels(price: float, mu: FloatArray, phi_: FloatArray, rel: FloatArray) -> FloatArray:
        alpha = np.clip(1.0 - price * rel, 0.0, 1.0 - 1e-9)
        s = order_up_to(mu, phi_, np.maximum(alpha, 1e-9), False)
        return np.where(alpha <= 0, 0.0, s)

    def unit_fill(price: float) -> float:
        s = levels(price, mu0, phi, relative)
        served = fill_rate(s, mu0, phi, lead0) * weight
        return float(served.sum() / weight.sum()) if weight.sum() > 0 else 1.0

    low, high = -12.0, 2.0  # log10 of the price: from "stock everything" to "stock nothing"
    for _ in range(40):
        mid = (low + high) / 2
        if unit_fill(10**mid) >= target:
            low = mid
        else:
            high = mid
    price = 10**low
    n, periods = lead.shape
    s = levels(
        price,
        (lead + review).ravel(),
        np.repeat(phi, periods),
        np.repeat(relative, periods),
    ).reshape(n, periods)
    up_to = s.astype(np.int64)
    return up_to - 1, up_to


def min_max_levels(
    history: FloatArray,
    demand: FloatArray,
    window: int,
    lead_periods: int,
    cover: float,
    review_periods: int = 1,
) -> tuple[IntArray, IntArray]:
    """Min/max levels from the trailing ``window``-period average demand.

    Parameters
    ----------
    history
        Demand before the simulated periods, ``(series, past periods)``.
    demand
        Demand of the simulated periods, ``(series, periods)``; the level at
        the review closing period ``t`` averages the ``window`` periods up to
        and including ``t``.
    window
        Periods averaged.
    lead_periods, review_periods
        L and R.
    cover
        Multiple of protection-period demand at which to reorder.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 period, got {window}")
    if cover < 0:
        raise ValueError(f"cover must be >= 0, got {cover}")
    full = np.concatenate([history, demand], axis=1).astype(np.float64)
    csum = np.concatenate([np.zeros((full.shape[0], 1)), np.cumsum(full, axis=1)], axis=1)
    ends = history.shape[1] + 1 + np.arange(demand.shape[1])
    starts = np.maximum(ends - window, 0)
    mean = (csum[:, ends] - csum[:, starts]) / (ends - starts)
    low = np.ceil(cover * mean * (lead_periods + review_periods) - 1e-9)
    high = low + np.ceil(mean * review_periods - 1e-9)
    return (low - 1).astype(np.int64), high.astype(np.int64)
