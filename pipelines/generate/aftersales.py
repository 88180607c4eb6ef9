"""What happens to order lines after the order: wrong fitment, cancellations and returns.

A return's reason matches the data: a ``wrong_fitment`` return is of a line
whose sku does not fit the line's vehicle model, every other reason of a line
that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipelines.generate.catalogue import Catalogue
from pipelines.generate.demand import MonthLines

CANCEL_SHARE = (0.02, 0.07)  # per order, store and online channel
LATE_CANCEL_SHARE = 0.5  # sent first as completed, then as cancelled in an update file
# Lines for a part that does not fit the car, per channel: owners choosing a
# size online get it wrong more often than mechanics looking at the car.
WRONG_FIT_SHARE = (0.005, 0.015)
# Returns of lines that fit (unused, defective, other); wrong-fitment lines are
# all returned, which makes wrong fitment about a third of the returns.
RETURN_SHARE = 0.013
RETURN_REASONS = ("wrong_fitment", "unused", "defective", "other")
_FITTING_REASON_P = np.array([0.35, 0.2, 0.1]) / 0.65
RETURN_WINDOW_S = 90 * 86_400
_WRONG_FIT_TRIES = 8


def mis_fit(
    lines: MonthLines, catalogue: Catalogue, rng: np.random.Generator
) -> tuple[MonthLines, np.ndarray]:
    """Turn a few lines into orders of a sku that does not fit the line's vehicle.

    The wrong sku is another of the same part type (another tyre size, oil
    grade or filter shape) that has no fitment row for the model; price and
    quantity follow the new sku (its list price with the line's discount, its
    sales multiple). A part type whose every sku fits the model leaves the
    line as it was.

    Returns
    -------
    tuple[MonthLines, np.ndarray]
        The lines, and a mask of the lines that do not fit.
    """
    chosen = np.flatnonzero(rng.random(lines.sku.size) < np.array(WRONG_FIT_SHARE)[lines.channel])
    part = catalogue.sku_part[lines.sku[chosen]]
    part_first = np.searchsorted(catalogue.sku_part, np.arange(part.max(initial=0) + 1))
    part_size = np.bincount(catalogue.sku_part)[part]
    wrong = lines.sku[chosen].copy()
    found = np.zeros(chosen.size, dtype=bool)
    for _ in range(_WRONG_FIT_TRIES):  # a few draws: most skus fit few models
        todo = np.flatnonzero(~found)
        draw = part_first[part[todo]] + rng.integers(0, part_size[todo])
        misfits = ~catalogue.fits(lines.model[chosen[todo]], draw)
        wrong[todo[misfits]] = draw[misfits]
        found[todo[misfits]] = True
    idx, new_sku = chosen[found], wrong[found]
    old_sku = lines.sku[idx]
    discount = np.round(lines.unit_price[idx] / catalogue.sku_price[old_sku], 2)
    multiple = catalogue.sku_sales_multiple[new_sku]
    sku, price, quantity = lines.sku.copy(), lines.unit_price.copy(), lines.quantity.copy()
    sku[idx] = new_sku
    price[idx] = np.round(catalogue.sku_price[new_sku] * discount, 2)
    quantity[idx] = -(-quantity[idx] // multiple) * multiple
    wrong_fit = np.zeros(lines.sku.size, dtype=bool)
    wrong_fit[idx] = True
    return replace(lines, sku=sku, unit_price=price, quantity=quantity), wrong_fit


@dataclass(frozen=True)
class Settled:
    """The fate of one month's lines.

    ``status`` is what the month file says (0 completed, 1 cancelled);
    ``final_cancelled`` includes the lines cancelled later through an update
    file (``update_idx`` with ``update_ts``); returns refer to line positions.
    """

    status: np.ndarray
    final_cancelled: np.ndarray
    update_idx: np.ndarray
    update_ts: np.ndarray
    return_idx: np.ndarray
    return_ts: np.ndarray
    return_qty: np.ndarray
    return_reason: np.ndarray


def settle(
    lines: MonthLines, wrong_fit: np.ndarray, end_ts: int, rng: np.random.Generator
) -> Settled:
    """Cancel some orders (whole orders; more online) and return some lines.

    A late cancellation happens 10 minutes to a few days after the order; one
    that would fall after ``end_ts`` has not happened yet and the line stays
    completed. A completed ``wrong_fit`` line comes back whole within days
    (``wrong_fitment``); other completed lines are returned at
    ``RETURN_SHARE`` for another reason, 1 hour to 90 days later, sometimes in
    part. No return falls after ``end_ts``.
    """
    n = lines.order_no.size
    first_line = lines.line_no == 1
    order_of_line = np.cumsum(first_line) - 1
    n_orders = int(first_line.sum())
    order_channel = lines.channel[first_line]
    cancel = rng.random(n_orders) < np.array(CANCEL_SHARE)[order_channel]
    late = cancel & (rng.random(n_orders) < LATE_CANCEL_SHARE)
    order_cancel_ts = (
        lines.ts[first_line] + 600 + rng.exponential(1.5 * 86_400, n_orders).astype(np.int64)
    )
    late &= order_cancel_ts <= end_ts
    direct = cancel & ~late & (order_cancel_ts <= end_ts)
    status = direct[order_of_line].astype(np.int8)
    late_line = late[order_of_line]
    update_idx = np.flatnonzero(late_line)

    completed = (status == 0) & ~late_line
    returned = completed & (wrong_fit | (rng.random(n) < RETURN_SHARE))
    idx = np.flatnonzero(returned)
    misfit = wrong_fit[idx]
    # The wrong part shows at the fitting: it comes back at once.
    quick = misfit | (rng.random(idx.size) < 0.6)
    delay = np.where(
        quick,
        3_600 + rng.exponential(np.where(misfit, 1.0, 4.0) * 86_400, idx.size),
        rng.uniform(86_400, RETURN_WINDOW_S - 3_600, idx.size),
    ).astype(np.int64)
    delay = np.minimum(delay, RETURN_WINDOW_S - 60)
    ret_ts = lines.ts[idx] + delay
    keep = ret_ts <= end_ts
    idx, ret_ts, misfit = idx[keep], ret_ts[keep], misfit[keep]
    qty = lines.quantity[idx].astype(np.int64)
    partial = ~misfit & (qty > 1) & (rng.random(idx.size) < 0.3)
    ret_qty = np.where(partial, rng.integers(1, np.maximum(qty, 2)), qty)
    other = 1 + rng.choice(len(_FITTING_REASON_P), idx.size, p=_FITTING_REASON_P)
    return Settled(
        status=status,
        final_cancelled=(status == 1) | late_line,
        update_idx=update_idx,
        update_ts=order_cancel_ts[order_of_line[update_idx]],
        return_idx=idx,
        return_ts=ret_ts,
        return_qty=ret_qty.astype(np.int32),
        return_reason=np.where(misfit, 0, other),
    )
