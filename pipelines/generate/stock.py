"""Shelf capacities: what each warehouse's shelves hold, from the demand it serves."""

from __future__ import annotations

import numpy as np
import polars as pl


def shelf_capacities(
    totals: pl.DataFrame, sku_volume: np.ndarray, n_forward: int, days: int
) -> np.ndarray:
    """Litres per warehouse, DC first: a forward warehouse holds ~4 weeks of
    its average demand (by volume); the DC about two months of the network's.

    ``totals`` has ``wh`` (forward index), ``sku`` (index) and ``qty`` summed
    over the history.
    """
    litres = totals["qty"].to_numpy() * sku_volume[totals["sku"].to_numpy()]
    per_day = np.bincount(totals["wh"].to_numpy(), weights=litres, minlength=n_forward) / days
    forward = np.maximum(2_000.0, np.round(per_day * 28 * 1.3, -2))
    dc = max(50_000.0, float(np.round(per_day.sum() * 60 * 1.5, -3)))
    return np.concatenate([[dc], forward])
