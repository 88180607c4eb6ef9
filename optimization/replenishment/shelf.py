"""Levels that fit the shelves: when a warehouse's order-up-to levels need more litres than
it has, the stock worth least per litre of expected service yields first.

The k-th unit of a series' level S is used in a review cycle when protection-period
demand reaches k: it serves ``P(D ≥ k)`` expected units a cycle. A level is held in
blocks of the SKU's sales multiple, so a block's worth is the sum over its units, and
its cost in shelf space is its litres. Per warehouse the blocks are kept from the most
service per litre down until the shelf is full; each series keeps its leading blocks
(their worth falls with k, so the kept ones are always a prefix) and its S becomes
what it kept.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models import nb1

#: Shelf volume per forward warehouse in litres (a warehouse without a row is unlimited).
SHELF_CAPACITY = pl.Schema({"warehouse_id": pl.String, "capacity_l": pl.Float64})


def fit_levels(series: pl.DataFrame, shelf: pl.DataFrame) -> pl.DataFrame:
    """Trim ``order_up_to`` per warehouse to the shelf; ``level_before_shelf`` keeps the wish.

    Parameters
    ----------
    series
        ``warehouse_id``, ``order_up_to`` (multiples of ``sales_multiple``),
        ``sales_multiple``, ``forecast_mean`` and ``dispersion`` (NB1 demand over the
        protection period) and ``unit_volume_l``.
    shelf
        ``SHELF_CAPACITY``.

    Returns
    -------
    pl.DataFrame
        ``series`` with ``order_up_to`` trimmed where the warehouse's levels exceed its
        shelf, ``level_before_shelf`` (the level before), and ``shelf_note``: for a
        trimmed series, the warehouse's litres wanted and held (null otherwise).
    """
    frame = series.with_row_index("_row").join(
        shelf.select("warehouse_id", "capacity_l"), on="warehouse_id", how="left"
    )
    level = frame["order_up_to"].to_numpy().astype(np.int64)
    wanted = frame.group_by("warehouse_id").agg(
        wanted_l=(pl.col("order_up_to") * pl.col("unit_volume_l")).sum(),
        capacity_l=pl.col("capacity_l").first(),
    )
    over = wanted.filter(
        pl.col("capacity_l").is_not_null() & (pl.col("wanted_l") > pl.col("capacity_l"))
    )
    kept = level.copy()
    if not over.is_empty():
        rows = frame.filter(pl.col("warehouse_id").is_in(over["warehouse_id"].implode()))
        kept[rows["_row"].to_numpy()] = _kept_levels(rows)
    out = frame.with_columns(
        level_before_shelf=pl.col("order_up_to"),
        order_up_to=pl.Series(kept, dtype=pl.Int64),
    ).join(wanted.select("warehouse_id", "wanted_l"), on="warehouse_id", how="left")
    note = pl.format(
        "the shelf of {} holds {} l and the levels wanted {} l: S {} → {}, its last units "
        "serve less per litre than what the shelf keeps",
        "warehouse_id",
        pl.col("capacity_l").round(0).cast(pl.Int64),
        pl.col("wanted_l").round(0).cast(pl.Int64),
        "level_before_shelf",
        "order_up_to",
    )
    return out.with_columns(
        shelf_note=pl.when(pl.col("order_up_to") < pl.col("level_before_shelf")).then(note)
    ).drop("_row", "capacity_l", "wanted_l")


def _kept_levels(rows: pl.DataFrame) -> np.ndarray:
    """The levels of one or more over-full warehouses after keeping blocks by worth per litre."""
    level = rows["order_up_to"].to_numpy().astype(np.int64)
    multiple = np.maximum(rows["sales_multiple"].to_numpy().astype(np.int64), 1)
    blocks = level // multiple
    series_of_block = np.repeat(np.arange(rows.height), blocks)
    block_no = np.arange(blocks.sum()) - np.repeat(np.cumsum(blocks) - blocks, blocks)
    m = multiple[series_of_block]
    mean = rows["forecast_mean"].to_numpy()[series_of_block]
    phi = rows["dispersion"].to_numpy()[series_of_block]
    # Units k = first..last of the block; worth = sum of P(D ≥ k) = sum of sf(k − 1).
    first = block_no * m + 1
    worth = np.zeros(first.size)
    for offset in range(int(m.max()) if m.size else 0):
        unit = first + offset
        inside = offset < m
        worth[inside] += nb1.sf(unit[inside] - 1.0, mean[inside], phi[inside])
    volume = rows["unit_volume_l"].to_numpy()[series_of_block] * m
    with np.errstate(divide="ignore"):
        per_litre = np.where(volume > 0, worth / volume, np.inf)
    warehouse = rows["warehouse_id"].to_numpy()[series_of_block]
    capacity = rows["capacity_l"].to_numpy()[series_of_block]
    kept_blocks = np.zeros(rows.height, dtype=np.int64)
    for name in np.unique(warehouse):
        mine = np.flatnonzero(warehouse == name)
        # Most service per litre first; a series' earlier block first on ties (its worth
        # is never below a later one's), so what is kept is a prefix of each level.
        order = mine[np.lexsort((block_no[mine], -per_litre[mine]))]
        fits = np.cumsum(volume[order]) <= capacity[order[0]] + 1e-9
        np.add.at(kept_blocks, series_of_block[order[fits]], 1)
    return kept_blocks * multiple
