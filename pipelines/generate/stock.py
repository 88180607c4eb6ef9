"""Shelf capacities and the stock snapshot at the end date."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

RECENT_DAYS = 90


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


def stock_snapshot(
    recent: pl.DataFrame,
    totals: pl.DataFrame,
    warehouse_ids: list[str],
    sku_ids: pl.Series,
    pack_size: np.ndarray,
    do_not_stock: np.ndarray,
    days: int,
    as_of: date,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Stock per warehouse and sku at the end of ``as_of``.

    Forward warehouses list the skus they sold in the last 90 days (``recent``:
    ``wh``, ``sku``, ``qty`` summed over those days) with a few days of demand
    on hand (some at zero: stock-outs), plus a few slow movers; the DC lists
    most skus with weeks of the network's demand.
    """
    n_skus = sku_ids.len()
    n_fw = len(warehouse_ids) - 1
    wh = recent["wh"].to_numpy()
    sku = recent["sku"].to_numpy()
    rate = recent["qty"].to_numpy() / min(RECENT_DAYS, days)
    extra_n = max(1, n_skus // 50)
    extra_wh = np.repeat(np.arange(n_fw), extra_n)
    extra_sku = rng.integers(0, n_skus, extra_wh.size)
    frame = (
        pl.DataFrame(
            {
                "wh": np.concatenate([wh, extra_wh]),
                "sku": np.concatenate([sku, extra_sku]),
                "rate": np.concatenate([rate, np.full(extra_wh.size, 0.05)]),
            }
        )
        .unique(["wh", "sku"], keep="first", maintain_order=True)
        .sort("wh", "sku")
    )
    f_wh, f_sku, f_rate = (frame[c].to_numpy() for c in ("wh", "sku", "rate"))
    on_hand = np.round(f_rate * rng.uniform(2, 10, f_rate.size))
    on_hand = np.where((rng.random(f_rate.size) < 0.1) | do_not_stock[f_sku], 0, on_hand)
    in_transit = np.where(rng.random(f_rate.size) < 0.25, np.ceil(f_rate * rng.uniform(1, 5)), 0)

    network = np.zeros(n_skus)
    network[totals["sku"].to_numpy()] += totals["qty"].to_numpy() / days
    dc_sku = np.flatnonzero(rng.random(n_skus) < 0.92)
    dc_on_hand = np.round(network[dc_sku] * rng.uniform(15, 45, dc_sku.size))
    dc_on_hand += pack_size[dc_sku] * rng.integers(0, 4, dc_sku.size)
    dc_on_hand = np.where(rng.random(dc_sku.size) < 0.04, 0, dc_on_hand)
    dc_transit = np.where(
        rng.random(dc_sku.size) < 0.15, pack_size[dc_sku] * rng.integers(1, 10, dc_sku.size), 0
    )

    all_on_hand = np.concatenate([dc_on_hand, on_hand]).astype(np.int64)
    reserved = rng.binomial(all_on_hand, 0.06)
    return pl.DataFrame(
        {
            "warehouse_id": pl.Series(warehouse_ids).gather(
                np.concatenate([np.zeros(dc_sku.size, dtype=np.int64), f_wh + 1])
            ),
            "sku": sku_ids.gather(np.concatenate([dc_sku, f_sku])),
            "as_of": pl.Series([as_of]).gather(np.zeros(all_on_hand.size, dtype=np.int64)),
            "on_hand": all_on_hand.astype(np.int32),
            "reserved": reserved.astype(np.int32),
            "in_transit": np.concatenate([dc_transit, in_transit]).astype(np.int32),
        }
    )
