"""What happens to order lines after the order: cancellations and returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.generate.demand import MonthLines

CANCEL_SHARE = (0.02, 0.07)  # per order, store and online channel
LATE_CANCEL_SHARE = 0.5  # sent first as completed, then as cancelled in an update file
RETURN_SHARE = 0.02
RETURN_REASONS = ("wrong_fitment", "unused", "defective", "other")
_REASON_P = np.array([0.35, 0.35, 0.2, 0.1])
RETURN_WINDOW_S = 90 * 86_400


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


def settle(lines: MonthLines, end_ts: int, rng: np.random.Generator) -> Settled:
    """Cancel some orders (whole orders; more online) and return some lines.

    A late cancellation happens 10 minutes to a few days after the order; one
    that would fall after ``end_ts`` has not happened yet and the line stays
    completed. Returns take 1 hour to 90 days, never after ``end_ts``, and
    never more than the line's quantity.
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
    returned = completed & (rng.random(n) < RETURN_SHARE)
    idx = np.flatnonzero(returned)
    quick = rng.random(idx.size) < 0.6
    delay = np.where(
        quick,
        3_600 + rng.exponential(4 * 86_400, idx.size),
        rng.uniform(86_400, RETURN_WINDOW_S - 3_600, idx.size),
    ).astype(np.int64)
    delay = np.minimum(delay, RETURN_WINDOW_S - 60)
    ret_ts = lines.ts[idx] + delay
    keep = ret_ts <= end_ts
    idx, ret_ts = idx[keep], ret_ts[keep]
    qty = lines.quantity[idx].astype(np.int64)
    partial = (qty > 1) & (rng.random(idx.size) < 0.3)
    ret_qty = np.where(partial, rng.integers(1, np.maximum(qty, 2)), qty)
    return Settled(
        status=status,
        final_cancelled=(status == 1) | late_line,
        update_idx=update_idx,
        update_ts=order_cancel_ts[order_of_line[update_idx]],
        return_idx=idx,
        return_ts=ret_ts,
        return_qty=ret_qty.astype(np.int32),
        return_reason=rng.choice(len(RETURN_REASONS), idx.size, p=_REASON_P),
    )
