"""The ``unit_fill`` target kind: one expected unit fill per group, at the least stock value.

:func:`unit_fill_levels` gives every series of a group the S that meets the
group's unit fill target by marginal analysis (see its docstring);
:func:`quantiles_at_tail` turns the per-series tail probability it settles
on into S for other periods (``optimization.evaluation.level_rules.network_fill_levels``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A series' steps stop where ``P(D > S)`` falls to this (as ``order_up_to`` at 1 − 1e-9).
_TAIL_FLOOR = 1e-9
#: Aim a hair below the target so float rounding never asks for one unit more.
_FILL_SLACK = 1e-12
#: Ratio bins per group of the histogram that finds each group's cut-off.
_BINS = 4096


@dataclass(frozen=True)
class UnitFillLevels:
    """What :func:`unit_fill_levels` gives each series.

    Attributes
    ----------
    order_up_to
        S per series.
    cycle_service
        The per-series cycle-service level ``1 − λ_g·c_i / c̄_g`` whose
        quantile S is (0 for a group without demand; at most ``1 − 1e-9``).
    group_fill
        The expected unit fill rate of the series' group at these levels.
    """

    order_up_to: IntArray
    cycle_service: FloatArray
    group_fill: FloatArray


def unit_fill_levels(
    protection_mean: FloatArray,
    lead_mean: FloatArray,
    dispersion: FloatArray,
    unit_cost: FloatArray,
    target_level: FloatArray | float,
    group_codes: IntArray,
) -> UnitFillLevels:
    """Per group, the least stock value whose expected *unit* fill rate meets the group's target.

    Raising S_i from ``k`` to ``k + 1`` serves ``P(D_{R+L} > k) − P(D_L > k)``
    more units a review (the Hadley–Whitin fill rate's step) and costs
    ``c_i`` more stock. Marginal analysis (the greedy, or Lagrangian, rule)
    takes units in order of ``P(D_{R+L} > k) / (c_i / c̄_g)``, ``c̄_g`` the mean
    cost of the group, until the group's expected unit fill
    ``Σ served_i / Σ E[D_R,i]`` reaches its target. So series ``i`` gets the
    smallest S with ``P(D_{R+L} > S) ≤ λ_g·c_i / c̄_g``, one price ``λ_g`` per
    group (the largest that meets the target). Units of equal ratio are taken
    together. With L = 0 the steps shrink as S grows and the result costs at
    most one unit more than the cheapest levels meeting the target.

    All groups are solved in one pass: every series' steps down to
    ``P(D > k) ≤ 1e-9`` are listed, a histogram of the ratio per group finds
    the bin where each group's target is crossed, and only that bin is
    sorted. The time is linear in the number of steps (about
    ``Σ (μ + 6σ)``): ~4 s for 1.3 M slow-moving series in 300 groups.

    Parameters
    ----------
    protection_mean, lead_mean
        Mean demand per series over the protection period R + L and over L.
    dispersion
        NB1 dispersion index per series.
    unit_cost
        Value of a unit per series; a cost ≤ 0 (unknown) counts as the
        cheapest positive cost given (1 if none is).
    target_level
        The unit fill target in (0, 1), per series (the same within a group)
        or one for all.
    group_codes
        Integer group per series (e.g. one per (warehouse, category)).

    Returns
    -------
    UnitFillLevels
        S, the implied cycle-service level and the group's expected unit
        fill per series. A series without demand gets S = 0; a group without
        demand gets S = 0 everywhere (and fill 1). A target the levels at
        ``P(D > S) ≤ 1e-9`` cannot reach stops there.

    Raises
    ------
    ValueError
        If the arrays differ in length, a level is outside (0, 1), or a group
        has two levels.
    """
    mu = np.clip(np.nan_to_num(np.asarray(protection_mean, dtype=np.float64)), 0.0, None)
    n = mu.size
    mu_lead = np.clip(np.nan_to_num(np.asarray(lead_mean, dtype=np.float64)), 0.0, mu)
    phi = np.maximum(np.nan_to_num(np.asarray(dispersion, dtype=np.float64), nan=1.0), 1.0)
    cost = np.asarray(unit_cost, dtype=np.float64)
    level = np.broadcast_to(np.asarray(target_level, dtype=np.float64), (n,))
    codes = np.asarray(group_codes)
    if not mu.shape == mu_lead.shape == phi.shape == cost.shape == codes.shape == (n,):
        raise ValueError("protection_mean, lead_mean, dispersion, unit_cost, group_codes differ")
    outside = ~((level > 0) & (level < 1))
    if outside.any():
        raise ValueError(f"unit fill target must be in (0, 1), got {level[outside][0]}")
    _, group = np.unique(codes, return_inverse=True)
    group = group.astype(np.int32)
    groups = int(group.max()) + 1 if n else 0
    goal = np.zeros(groups)
    goal[group] = level
    if (goal[group] != level).any():
        raise ValueError("a group has two unit fill targets")
    cost = np.where(cost > 0, cost, cost[cost > 0].min() if (cost > 0).any() else 1.0)
    relative = (
        cost
        * np.bincount(group, minlength=groups)[group]
        / (np.bincount(group, weights=cost, minlength=groups)[group])
    )

    # Every step k → k + 1 of every series: its series, ratio and the units it serves.
    series_parts, ratio_parts, served_parts = [np.zeros(0, np.int32)], [np.zeros(0)], [np.zeros(0)]
    for idx, tail, tail_lead in _tail_steps(mu, mu_lead, phi, np.full(n, _TAIL_FLOOR)):
        series_parts.append(idx.astype(np.int32))  # int32: ~20 bytes a step in all
        ratio_parts.append(tail / relative[idx])
        served_parts.append(np.maximum(tail - tail_lead, 0.0))
    series = np.concatenate(series_parts)
    ratio = np.concatenate(ratio_parts)
    served = np.concatenate(served_parts)
    del series_parts, ratio_parts, served_parts

    asked = np.bincount(group, weights=mu - mu_lead, minlength=groups)
    need = (goal - _FILL_SLACK) * asked
    step_group = group[series]
    cutoff, below = _cutoff(ratio, served, step_group, need, groups)
    taken = ratio >= cutoff[step_group]
    up_to = np.bincount(series[taken], minlength=n).astype(np.int64)

    filled = np.bincount(step_group[taken], weights=served[taken], minlength=groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        group_fill = np.where(asked > 0, filled / asked, 1.0)
        # A price between the last ratio taken and the next: the same S from the quantile.
        price = np.where(np.isfinite(cutoff), (cutoff + below) / 2, np.inf)
        alpha = np.clip(1.0 - price[group] * relative, 0.0, 1.0 - _TAIL_FLOOR)
    return UnitFillLevels(up_to, alpha, group_fill[group])


def _cutoff(
    ratio: FloatArray, served: FloatArray, group: IntArray, need: FloatArray, groups: int
) -> tuple[FloatArray, FloatArray]:
    """Per group, the ratio of the step whose taking (in falling ratio) first serves ``need``.

    Returns ``(cutoff, below)``: ``cutoff`` is 0 where even every step falls
    short (take them all) and ``inf`` where ``need ≤ 0`` (take none);
    ``below`` is the largest ratio under ``cutoff`` (0 if none). A histogram
    of ``log ratio`` per group finds the bin the need is met in; only the
    steps of that bin and of the next non-empty one are sorted.
    """
    cutoff = np.where(need > 0, 0.0, np.inf)
    below = np.zeros(groups)
    if ratio.size == 0:
        return cutoff, below
    bins = int(np.clip(2**23 // max(groups, 1), 16, _BINS))
    key = np.log(ratio)
    top, bottom = key.max(), key.min()
    width = (top - bottom) / bins or 1.0
    # Bin 0 holds the best ratios; ``cell`` numbers (group, bin).
    cell = np.minimum(((top - key) / width).astype(np.int32), bins - 1)
    del key
    cell += group * np.int32(bins) if groups * bins < 2**31 else group.astype(np.int64) * bins
    reached = np.cumsum(np.bincount(cell, served, groups * bins).reshape(groups, bins), axis=1)
    crossed = reached >= need[:, None]
    hits = np.flatnonzero(crossed.any(axis=1) & (need > 0))
    if hits.size == 0:
        return cutoff, below
    at = np.full(groups, bins)
    at[hits] = crossed[hits].argmax(axis=1)
    before = np.zeros(groups)
    inner = hits[at[hits] > 0]
    before[inner] = reached[inner, at[inner] - 1]
    # The largest ratio under the cut-off is in the crossing bin or the next non-empty one.
    later = (np.bincount(cell, minlength=groups * bins).reshape(groups, bins) > 0) & (
        np.arange(bins) > at[:, None]
    )
    until = np.where(later.any(axis=1), later.argmax(axis=1), at)
    wanted = (np.arange(bins) >= at[:, None]) & (np.arange(bins) <= until[:, None])
    rows = np.flatnonzero(wanted.ravel()[cell])
    order = rows[np.lexsort((-ratio[rows], group[rows]))]
    g, r = group[order], ratio[order]
    running = np.cumsum(served[order])
    running = running - np.concatenate([[0.0], running])[np.searchsorted(g, g)] + before[g]
    short = np.bincount(g, weights=running < need[g], minlength=groups)[hits].astype(np.int64)
    start = np.searchsorted(g, hits)
    # The bin's sum met the need; a last-digit difference of the running sum must not
    # point past the group.
    first = start + np.minimum(short, np.bincount(g, minlength=groups)[hits] - 1)
    cutoff[hits] = r[first]
    # Sorted by falling ratio: the first step of the group under the cut-off is the largest.
    under = np.flatnonzero(r < cutoff[g])
    head = under[np.r_[True, g[under][1:] != g[under][:-1]]] if under.size else under
    below[g[head]] = r[head]
    return cutoff, below


def _tail_steps(
    protection_mean: FloatArray, lead_mean: FloatArray, dispersion: FloatArray, stop: FloatArray
) -> Iterator[tuple[IntArray, FloatArray, FloatArray]]:
    """For k = 0, 1, …: ``(series, P(D_{R+L} > k), P(D_L > k))`` of the series still going.

    A series is listed while ``P(D_{R+L} > k) > stop`` (at least
    ``_TAIL_FLOOR``), so it is listed S times, S the smallest level with
    ``P(D_{R+L} > S) ≤ stop``; a series without demand never is. The NB1 pmf
    follows ``p(k + 1) = p(k)·(μ + k(φ − 1)) / (φ(k + 1))`` from
    ``p(0) = φ^(−μ/(φ − 1))`` (Poisson at φ = 1), in logs so that a large
    mean does not underflow; the tail is ``1 − Σ p``, within ~1e-6 of
    ``scipy.stats.nbinom.sf`` (relative) down to 1e-9.
    """
    idx = np.flatnonzero(protection_mean > 0)
    mu, mu_lead, phi = protection_mean[idx], lead_mean[idx], dispersion[idx]
    least = np.maximum(stop[idx], _TAIL_FLOOR)
    excess = phi - 1.0
    curved = excess > 1e-9
    scale = np.ones_like(excess)  # log(φ) / (φ − 1), 1 in the Poisson limit
    scale[curved] = np.log1p(excess[curved]) / excess[curved]
    log_p, log_lead = -mu * scale, -mu_lead * scale
    cdf, cdf_lead = np.zeros_like(mu), np.zeros_like(mu)
    k = 0
    while idx.size:
        cdf += np.exp(log_p)
        cdf_lead += np.exp(log_lead)
        tail = 1.0 - cdf
        going = tail > least
        if not going.all():
            idx = idx[going]
            mu, mu_lead, phi, excess, least, log_p, log_lead, cdf, cdf_lead, tail = (
                a[going]
                for a in (mu, mu_lead, phi, excess, least, log_p, log_lead, cdf, cdf_lead, tail)
            )
        yield idx, tail, np.maximum(1.0 - cdf_lead, 0.0)
        step = phi * (k + 1)
        with np.errstate(divide="ignore"):  # a zero lead-time mean has log p = −inf past 0
            log_p += np.log((mu + k * excess) / step)
            log_lead += np.log((mu_lead + k * excess) / step)
        k += 1


def quantiles_at_tail(
    protection_mean: FloatArray, dispersion: FloatArray, tail: FloatArray
) -> IntArray:
    """The smallest S with ``P(D > S) ≤ tail`` per row (the steps of :func:`_tail_steps`)."""
    mu = np.clip(np.nan_to_num(protection_mean), 0.0, None)
    phi = np.maximum(np.nan_to_num(dispersion, nan=1.0), 1.0)
    s = np.zeros(mu.size, dtype=np.int64)
    for idx, _, _ in _tail_steps(mu, np.zeros_like(mu), phi, tail):
        s[idx] += 1
    return s
