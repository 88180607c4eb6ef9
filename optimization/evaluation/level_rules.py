"""Reorder points and order-up-to levels over time, for the policies the simulation compares.

Each rule returns ``(reorder_point, order_up_to)`` matrices of shape
``(series, periods)``: at the review closing period ``t`` the simulation orders
up to ``order_up_to[:, t]`` when the inventory position is at or below
``reorder_point[:, t]``.

* :func:`policy_levels` — this project's policy: S from the NB1 demand
  distribution over the protection period (:func:`optimization.replenishment.service.order_up_to`).
* :func:`normal_levels` — the same forecast mean and variance, with the
  classic normal-approximation safety stock ``μ + z·σ`` (or the normal
  loss function for a fill rate), rounded up.
* :func:`network_fill_levels` — one unit fill-rate target for a whole
  warehouse instead of one per series: each unit of stock goes where it
  serves most demand per unit of money (marginal analysis), so slow, dear
  parts get less cover and fast, cheap ones more. Its core,
  :func:`optimization.replenishment.unit_fill.unit_fill_levels` (one S per series, for any
  groups of series), is also what the planner's ``unit_fill`` target kind
  uses (:mod:`optimization.replenishment.policy`: one group per warehouse and category);
* :func:`min_max_levels` — a classic min/max rule from trailing average
  demand ``d̄``: order up to ``max = min + ⌈d̄·R⌉`` when the position falls
  below ``min = ⌈cover·d̄·(R + L)⌉``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from optimization.replenishment.service import (
    ServiceTarget,
    normal_order_up_to,
    order_up_to,
)
from optimization.replenishment.unit_fill import quantiles_at_tail, unit_fill_levels

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
        Fill rate or cycle service level (a ``unit_fill`` target is for a
        group: :func:`unit_fill_levels`).
    """
    _per_series(target)
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
    _per_series(target)
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


def _per_series(target: ServiceTarget) -> None:
    if target.kind == "unit_fill":
        raise ValueError("a unit_fill target sets levels per group of series: use unit_fill_levels")


def network_fill_levels(
    lead_mean: FloatArray,
    review_mean: FloatArray,
    dispersion: FloatArray,
    unit_cost: FloatArray,
    target: float,
    group_codes: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """Levels meeting one *unit* fill rate over all series at the least stock value.

    :func:`unit_fill_levels` with every series in one group sets S for the
    first review column (its price ``λ``: the expected unit fill of that
    column, ``Σ rate·fill / Σ rate``, reaches ``target``); the same
    per-series cycle-service level ``1 − λ·c_i / c̄`` then sets S for every
    later review.

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
    group_codes
        Integer group per series, each group meeting the target on its own
        (the nightly's ``unit_fill`` groups: warehouse × category); default
        one group for all series.
    """
    lead, review = np.broadcast_arrays(lead_mean, review_mean)
    n, periods = lead.shape
    codes = np.zeros(n, np.int64) if group_codes is None else group_codes
    phi = np.asarray(dispersion, dtype=np.float64).reshape(-1)
    first = unit_fill_levels(lead[:, 0] + review[:, 0], lead[:, 0], phi, unit_cost, target, codes)
    up_to = np.empty((n, periods), dtype=np.int64)
    up_to[:, 0] = first.order_up_to
    if periods > 1:
        up_to[:, 1:] = quantiles_at_tail(
            (lead[:, 1:] + review[:, 1:]).ravel(),
            np.repeat(phi, periods - 1),
            np.repeat(1.0 - first.cycle_service, periods - 1),
        ).reshape(n, periods - 1)
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
