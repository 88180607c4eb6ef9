"""Service measures of an order-up-to level under NB1 demand, and the level that meets a target.

Demand over ``P`` periods is NB1 with mean ``μ`` and dispersion index
``φ = variance / mean ≥ 1`` (``φ = 1`` is Poisson), the distribution the
forecasting engine attaches to every point forecast (one implementation for both:
:mod:`models.nb1`).
NB1 with a common ``φ`` is closed under sums of independent periods, so the
protection period R + L and the lead time L alone are NB1 with the summed
means and the same ``φ``.

Two measures, both per review cycle of a periodic-review, order-up-to policy:

* **cycle service level** ``α``: the chance that a cycle ends without a
  stock-out, ``F_{R+L}(S)``; S is the smallest ``k`` with ``F(k) ≥ α``.
* **fill rate** ``β``: the share of demand served from stock,
  ``β(S) = 1 − (E[(D_{R+L} − S)⁺] − E[(D_L − S)⁺]) / E[D_R]`` (Hadley–Whitin:
  what is short at the end of the cycle less what was already short before
  the cycle's delivery arrived). With L = 0 this is the textbook
  ``1 − E[(D − S)⁺] / E[D]``. It is exact for backorders and a close
  approximation for lost sales at the service levels planners use.

A planner's target (:data:`TARGET_KINDS`) asks for one of them per series
(``fill_rate``, ``cycle_service``), or for the *unit* fill rate of a group of
series (``unit_fill``, see :class:`ServiceTarget`), which
:func:`optimization.replenishment.unit_fill.unit_fill_levels` meets at the least stock value.

The expected shortage (loss function) is in closed form (:func:`models.nb1.expected_shortage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from models import nb1

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = FloatArray | float

TargetKind = Literal["fill_rate", "cycle_service", "unit_fill"]
#: What a target asks for (see :class:`ServiceTarget`).
TARGET_KINDS: tuple[TargetKind, ...] = ("fill_rate", "cycle_service", "unit_fill")

#: Aim a hair below the target so float rounding of F or β never skips a level.
_TARGET_SLACK = 1e-12


@dataclass(frozen=True)
class ServiceTarget:
    """What a planner asks of a SKU or a category: its kind and level.

    * ``fill_rate`` (the default): every series (SKU × forward warehouse) the
      target covers is stocked to serve ``level`` of its own expected units.
    * ``cycle_service``: every series ends a review cycle without a stock-out
      with probability ``level``.
    * ``unit_fill``: the expected *unit* fill rate of the whole group the
      target covers, *per forward warehouse*, is ``level``: units served over
      units asked for, summed over the group's series. A category row makes
      one group per (warehouse, category); a SKU row one group per (warehouse,
      SKU), which is that series alone, so it is a per-series fill rate; a
      default target of this kind makes one group per (warehouse, category)
      of the SKUs without a row. Within a group, stock goes where a unit of
      money serves the most demand (:func:`optimization.replenishment.unit_fill.unit_fill_levels`):
      fast, cheap parts get a deeper cover than slow, dear ones, and the
      group needs less stock value than with a per-series ``fill_rate`` of the
      same level, which over-serves slow movers.

    Fill rate is the default because the 30-minute promise is about units: it
    is the share of the parts stores ask for that the forward warehouse hands
    over. A cycle service level counts only whether a cycle had *any*
    shortage, so for slow movers it is dominated by zero-demand days (Poisson
    0.4/day already has 67 % cycle service with an empty shelf, and 0 % fill
    rate) and says nothing about how much was short.
    """

    kind: TargetKind = "fill_rate"
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ValueError(
                f"target kind must be one of {', '.join(TARGET_KINDS)}, got {self.kind!r}"
            )
        if not 0 < self.level < 1:
            raise ValueError(f"service level must be in (0, 1), got {self.level}")


def critical_ratio(holding: float, penalty: float) -> float:
    """The newsvendor's optimal cycle service level ``p / (p + h)``.

    Raises
    ------
    ValueError
        Unless both costs are positive.
    """
    if holding <= 0 or penalty <= 0:
        raise ValueError(f"holding and penalty costs must be > 0, got {holding}, {penalty}")
    return penalty / (penalty + holding)


def demand_cdf(k: ArrayLike, mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """``P(D ≤ k)`` for D ~ NB1(mean, dispersion); a zero mean is a point mass at 0."""
    return nb1.cdf(k, mean, dispersion)


def demand_sf(k: ArrayLike, mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """``P(D > k)`` for D ~ NB1(mean, dispersion), precise in the upper tail."""
    return nb1.sf(k, mean, dispersion)


def expected_shortage(s: ArrayLike, mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """The loss function ``E[(D − s)⁺]`` for D ~ NB1(mean, dispersion) (:mod:`models.nb1`).

    Parameters
    ----------
    s
        Stock levels (integers; a negative level is short by ``mean − s``).
    mean, dispersion
        NB1 parameters, broadcast against ``s``.
    """
    return nb1.expected_shortage(s, mean, dispersion)


def cycle_service(s: ArrayLike, protection_mean: ArrayLike, dispersion: ArrayLike) -> FloatArray:
    """Cycle service level of order-up-to level ``s``: ``P(D_{R+L} ≤ s)``."""
    return demand_cdf(s, protection_mean, dispersion)


def fill_rate(
    s: ArrayLike,
    protection_mean: ArrayLike,
    dispersion: ArrayLike,
    lead_mean: ArrayLike = 0.0,
) -> FloatArray:
    """Fill rate of order-up-to level ``s`` per review cycle (Hadley–Whitin).

    Parameters
    ----------
    s
        Order-up-to levels.
    protection_mean
        Mean demand over the protection period R + L.
    dispersion
        NB1 dispersion index of demand (the same for every sum of periods).
    lead_mean
        Mean demand over the lead time L alone (0: the delivery arrives before
        the cycle's demand starts, as for the overnight run).

    Returns
    -------
    numpy.ndarray
        ``1 − (E[(D_{R+L} − s)⁺] − E[(D_L − s)⁺]) / E[D_R]``; 1 where ``E[D_R] = 0``.
    """
    s_, mu, phi, mu_lead = nb1.float_arrays(s, protection_mean, dispersion, lead_mean)
    review = np.clip(mu - mu_lead, 0.0, None)
    short = expected_shortage(s_, mu, phi) - expected_shortage(s_, mu_lead, phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = 1.0 - np.maximum(short, 0.0) / review
    return np.where(review > 0, np.clip(beta, 0.0, 1.0), 1.0)


def order_up_to(
    protection_mean: ArrayLike,
    dispersion: ArrayLike,
    level: ArrayLike,
    fill_rate_target: BoolArray | bool = True,
    lead_mean: ArrayLike = 0.0,
) -> FloatArray:
    """The smallest integer S that meets each row's service target.

    Parameters
    ----------
    protection_mean
        Mean demand over the protection period R + L.
    dispersion
        NB1 dispersion index (≤ 1 means Poisson).
    level
        Target level in (0, 1).
    fill_rate_target
        Per row: ``True`` for a fill-rate target, ``False`` for a cycle service level.
    lead_mean
        Mean demand over the lead time L (fill rate only).

    Returns
    -------
    numpy.ndarray
        S per row (0 where the mean is 0). Both measures are non-decreasing in
        S, so an integer bisection finds the smallest S exactly.
    """
    mu, phi, alpha, mu_lead, use_fill = nb1.float_arrays(
        protection_mean, dispersion, level, lead_mean, np.asarray(fill_rate_target, dtype=float)
    )
    fill = use_fill > 0
    target = alpha - _TARGET_SLACK

    def meets(s: FloatArray) -> BoolArray:
        value = np.where(
            fill,
            fill_rate(s, mu, phi, mu_lead),
            cycle_service(s, mu, phi),
        )
        return np.asarray(value >= target)

    mu = np.clip(np.nan_to_num(mu), 0.0, None)
    sd = np.sqrt(mu * np.maximum(phi, 1.0))
    hi = np.ceil(mu + 10 * sd + 10)
    while not (ok := meets(hi)).all():
        hi = np.where(ok, hi, 2 * hi)
    lo = np.full_like(hi, -1.0)  # meets(lo) is False or lo = -1 (sentinel below 0)
    while (hi - lo > 1).any():
        mid = np.floor((lo + hi) / 2)
        ok = meets(np.maximum(mid, 0.0))
        active = hi - lo > 1
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    return np.maximum(hi, 0.0)


def normal_order_up_to(
    protection_mean: ArrayLike,
    protection_sd: ArrayLike,
    level: ArrayLike,
    fill_rate_target: BoolArray | bool = False,
    lead_mean: ArrayLike = 0.0,
    lead_sd: ArrayLike = 0.0,
) -> FloatArray:
    """The classic normal-approximation level ``μ + z·σ`` (continuous; round up to stock).

    For a cycle service level ``α``, ``z = Φ⁻¹(α)``. For a fill rate, S solves
    ``σ·G((S − μ)/σ) − σ_L·G((S − μ_L)/σ_L) = (1 − β)·(μ − μ_L)`` with the standard
    normal loss ``G(z) = φ(z) − z·(1 − Φ(z))``, by bisection.
    """
    mu, sd, alpha, mu_lead, sd_lead, use_fill = nb1.float_arrays(
        protection_mean,
        protection_sd,
        level,
        lead_mean,
        lead_sd,
        np.asarray(fill_rate_target, dtype=float),
    )
    cycle = mu + norm.ppf(alpha) * sd
    if not (use_fill > 0).any():
        return cycle

    def shortage(s: FloatArray) -> FloatArray:
        return _normal_loss(s, mu, sd) - _normal_loss(s, mu_lead, sd_lead)

    allowed = (1 - alpha) * np.clip(mu - mu_lead, 0.0, None)
    lo = np.minimum(mu_lead, mu) - 10 * sd - 1
    hi = mu + 10 * sd + 1
    for _ in range(80):
        mid = (lo + hi) / 2
        ok = shortage(mid) <= allowed
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(use_fill > 0, hi, cycle)


def _normal_loss(s: FloatArray, mu: FloatArray, sd: FloatArray) -> FloatArray:
    """``E[(X − s)⁺]`` for X ~ Normal(mu, sd); a point mass where ``sd = 0``."""
    safe = np.where(sd > 0, sd, 1.0)
    z = (s - mu) / safe
    loss = safe * (norm.pdf(z) - z * norm.sf(z))
    return np.where(sd > 0, loss, np.maximum(mu - s, 0.0))
