"""The simple policies the generated stock history follows (not the nightly's).

Forward warehouses review every night and order up to a level S from the
DC, delivered overnight; the DC reviews each supplier every order cycle and
orders up to its own level, received after the supplier's lead time. Both
levels come from the recent rate of recorded sales, so the history's stock
looks like what a planner would hold, not like a forecast.
"""

from __future__ import annotations

import numpy as np

#: Days of sales behind a rate (the return horizon: older sales say little).
RATE_DAYS = 90
#: A forward warehouse holds a few days of its rate ...
FORWARD_COVER_DAYS = 3.0
#: ... plus safety: z x the standard deviation of demand over that cover.
SAFETY_Z = 1.65
#: A series enters its forward warehouse's range when the last RATE_DAYS sold
#: its level this many times over (at most RATE_DAYS / RANGE_TURNS days of
#: cover, well inside the 90-day return horizon). Others are served from the DC.
RANGE_TURNS = 2
#: The DC's safety over the supplier's lead time plus the order cycle.
DC_SAFETY_Z = 1.65


def _round_up(quantity: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    return -(-quantity // multiple) * multiple


def _level(
    units: np.ndarray, lines: np.ndarray, days: float, cover: np.ndarray | float, z: float
) -> np.ndarray:
    """ceil(mean + z x sd) of demand over ``cover`` days, for compound-Poisson sales.

    With ``units`` sold in ``lines`` over ``days``, demand over the cover has
    mean ``rate x cover`` and variance ``rate x cover x units per line``.
    """
    mean = units / days * cover
    per_line = units / np.maximum(lines, 1)
    return np.ceil(mean + z * np.sqrt(mean * per_line)).astype(np.int64)


def forward_levels(
    units: np.ndarray,
    lines: np.ndarray,
    days: float,
    set_size: np.ndarray,
    sales_multiple: np.ndarray,
) -> np.ndarray:
    """Order-up-to levels of forward-warehouse series, were they held (one entry per series).

    Parameters
    ----------
    units, lines
        Units sold and lines recorded over the last ``days`` (at most
        ``RATE_DAYS``).
    set_size
        The most units one vehicle takes (tyres 4): a held series holds at
        least one set.
    sales_multiple
        Levels are multiples of it (tyres in 2s or 4s).

    Returns
    -------
    np.ndarray
        S, at least one set, in sales multiples.
    """
    level = np.maximum(_level(units, lines, days, FORWARD_COVER_DAYS, SAFETY_Z), set_size)
    return _round_up(level, sales_multiple)


def enters_range(units: np.ndarray, days: float, level: np.ndarray) -> np.ndarray:
    """Whether a series' rate (``units`` over ``days``) turns ``level`` over
    ``RANGE_TURNS`` times in ``RATE_DAYS``."""
    return units * RATE_DAYS >= RANGE_TURNS * level * days


def held_levels(
    held: np.ndarray, units: np.ndarray, level: np.ndarray, stockable: np.ndarray
) -> np.ndarray:
    """S of the series a forward warehouse holds; 0 for the others.

    A ``held`` series stays held (its shelf is not emptied the day its rate
    dips) but is not replenished once it has not sold over the window (S = 0:
    its stock waits for a sale, idle); it is replenished again after its
    next sale. Do-not-stock (not ``stockable``) series are never replenished.
    """
    return np.where(held & stockable & (units > 0), level, 0)


def dc_levels(
    units: np.ndarray, lines: np.ndarray, days: float, lead_days: np.ndarray, cycle_days: np.ndarray
) -> np.ndarray:
    """The DC's order-up-to levels per sku: demand over lead time + order cycle + safety.

    ``units`` and ``lines`` are the network's recorded sales over the last
    ``days``; a sku not sold in that window gets 0 (no new order).
    """
    level = _level(units, lines, days, lead_days + cycle_days, DC_SAFETY_Z)
    return np.where(units > 0, level, 0)


def purchase_quantity(short: np.ndarray, case_pack: np.ndarray, moq: np.ndarray) -> np.ndarray:
    """A purchase order for ``short`` units: at least the MOQ, in whole cases."""
    return _round_up(np.maximum(short, moq), case_pack)


def transfer_quantity(need: np.ndarray, sales_multiple: np.ndarray) -> np.ndarray:
    """A DC -> forward warehouse transfer for ``need`` units: in sales multiples."""
    return _round_up(need, sales_multiple)


def allocate(
    need: np.ndarray,
    sku: np.ndarray,
    available: np.ndarray,
    sales_multiple: np.ndarray,
    priority: np.ndarray,
) -> np.ndarray:
    """What the DC ships of each request when a sku's requests exceed its stock.

    Requests of one sku are served whole in ``priority`` order (lowest first)
    while stock lasts; the one that meets the end gets what is left, in its
    sales multiple. ``sales_multiple`` and ``available`` are indexed by sku.
    """
    order = np.lexsort((priority, sku))
    need_o, sku_o = need[order], sku[order]
    cum = np.cumsum(need_o)
    first = np.ones(sku_o.size, dtype=bool)
    first[1:] = sku_o[1:] != sku_o[:-1]
    before = (cum - need_o)[np.maximum.accumulate(np.where(first, np.arange(sku_o.size), 0))]
    left = available[sku_o] - (cum - need_o - before)
    grant_o = np.clip(left, 0, need_o)
    grant_o = grant_o // sales_multiple[sku_o] * sales_multiple[sku_o]
    grant = np.empty_like(grant_o)
    grant[order] = grant_o
    return grant
