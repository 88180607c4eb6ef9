"""A day of the closed loop on frames: store lines served from the shelf (or late from the DC),
arrivals, returns and the stock they move (see :mod:`optimization.evaluation.closed_loop`)."""

from __future__ import annotations

import polars as pl

KEYS = ["warehouse_id", "sku"]
_SERIES = {"warehouse_id": pl.String(), "sku": pl.String()}

#: A day's order lines (completed and cancelled), served in ``ordered_at`` order.
DAY_LINES = pl.Schema(
    {"order_id": pl.String(), "line_no": pl.Int64(), "ordered_at": pl.Datetime("us", "UTC"),
     **_SERIES, "quantity": pl.Int64(), "status": pl.String()}
)  # fmt: skip
#: Stock per site and SKU (the counts' levels).
STOCK = pl.Schema({**_SERIES, "on_hand": pl.Int64(), "reserved": pl.Int64()})
#: Every site: ``kind`` ``dc`` or ``forward`` and the DC that feeds it (a DC: itself).
SITES = pl.Schema(dict.fromkeys(["warehouse_id", "kind", "dc_id"], pl.String()))
#: A change of on-hand stock per (site, SKU).
MOVES = pl.Schema({**_SERIES, "delta": pl.Int64()})
#: What each site could hand over when the day began (after the morning's arrivals).
OPENING = pl.Schema({**_SERIES, "available": pl.Int64()})
#: One row per completed line: units from the shelf, late from the DC, short at both.
SERVED = pl.Schema(
    {**_SERIES, **dict.fromkeys(["quantity", "served", "late", "short"], pl.Int64())}
)
#: Released transfer lines (a pull-back goes from a forward warehouse to its DC).
TRANSFERS = pl.Schema(
    {**dict.fromkeys(["from_warehouse_id", "to_warehouse_id", "sku"], pl.String()),
     "quantity": pl.Int64(), "needed_by": pl.Date()}
)  # fmt: skip
#: Released purchase-order lines.
PURCHASES = pl.Schema(
    {"dc_id": pl.String(), "sku": pl.String(), "quantity": pl.Int64(), "unit_cost": pl.Float64(),
     "expected_on": pl.Date()}
)  # fmt: skip
#: Returned units per (forward warehouse, SKU) and the return's reason.
RETURNS = pl.Schema({**_SERIES, "quantity": pl.Int64(), "reason": pl.String()})
#: Returns whose part goes back on the shelf (unopened); a defective part does not.
RESALEABLE = ("unused", "wrong_fitment")
#: Per forward-warehouse series: units sold over the trailing window and the last sale.
DEMAND_STATE = pl.Schema({**_SERIES, "recent_units": pl.Int64(), "last_sale": pl.Date()})


def free_stock(stock: pl.DataFrame, spoken_for: pl.DataFrame) -> pl.DataFrame:
    """``OPENING``: on hand − reserved − units of released transfers not yet shipped.

    ``spoken_for`` is ``MOVES``-shaped, the units leaving each site later (``delta`` > 0).
    """
    out = stock.join(spoken_for.rename({"delta": "out"}), on=KEYS, how="left")
    free = pl.col("on_hand") - pl.col("reserved") - pl.col("out").fill_null(0)
    return out.select(*KEYS, available=free.clip(lower_bound=0)).cast(OPENING)


def serve_day(
    lines: pl.DataFrame, free: pl.DataFrame, sites: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Serve a day's lines from the shelves, then the misses from the DC.

    Parameters
    ----------
    lines
        ``DAY_LINES`` of the day.
    free
        ``OPENING``: what each site can hand over this morning (:func:`free_stock`).
    sites
        ``SITES``: the DC of each forward warehouse.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        ``SERVED`` (one row per completed line, in time order) and the ``MOVES`` it makes.
    """
    done = (
        lines.filter(pl.col("status") == "completed")
        .sort("ordered_at", "order_id", "line_no")
        .with_row_index("_seq")
    )
    free = free.rename({"available": "free"})
    shelf = _take(done.join(free, on=KEYS, how="left"), "served")
    missed = shelf.join(sites.select("warehouse_id", "dc_id"), on="warehouse_id", how="left")
    missed = missed.with_columns(quantity=pl.col("quantity") - pl.col("served"))
    dc_free = free.rename({"warehouse_id": "dc_id"})
    late = _take(missed.join(dc_free, on=["dc_id", "sku"], how="left"), "late", ["dc_id", "sku"])
    served = (
        late.sort("_seq")
        .select(
            *KEYS,
            quantity=pl.col("quantity") + pl.col("served"),
            served="served",
            late="late",
            short=pl.col("quantity") - pl.col("late"),
        )
        .cast(SERVED)
    )
    moves = pl.concat(
        [
            served.select(*KEYS, delta=-pl.col("served")),
            late.select(pl.col("dc_id").alias("warehouse_id"), "sku", delta=-pl.col("late")),
        ]
    )
    return served, _net(moves)


def _take(frame: pl.DataFrame, name: str, keys: list[str] = KEYS) -> pl.DataFrame:
    """Each line takes ``min(quantity, free left)`` in ``_seq`` order per key: column ``name``."""
    before = pl.col("quantity").cum_sum().over(keys) - pl.col("quantity")
    left = (pl.col("free").fill_null(0) - before).clip(lower_bound=0)
    taken = frame.sort("_seq").with_columns(pl.min_horizontal(left, "quantity").alias(name))
    return taken.drop("free")


def _net(moves: pl.DataFrame) -> pl.DataFrame:
    return moves.group_by(KEYS).agg(pl.col("delta").sum()).sort(KEYS).cast(MOVES)


def arrivals(transfers: pl.DataFrame, purchases: pl.DataFrame) -> pl.DataFrame:
    """``MOVES`` of the transfers (``TRANSFERS``) and purchase orders (``PURCHASES``) due."""
    qty = pl.col("quantity")
    return _net(
        pl.concat(
            [
                transfers.select(site=pl.col("from_warehouse_id"), sku="sku", delta=-qty),
                transfers.select(site=pl.col("to_warehouse_id"), sku="sku", delta=qty),
                purchases.select(site=pl.col("dc_id"), sku="sku", delta=qty),
            ]
        ).rename({"site": "warehouse_id"})
    )


def returned(returns: pl.DataFrame) -> pl.DataFrame:
    """``MOVES`` of the day's returns (``RETURNS``) that go back on the shelf."""
    back = returns.filter(pl.col("reason").is_in(RESALEABLE))
    return _net(back.select(*KEYS, delta="quantity"))


def apply_moves(stock: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """``STOCK`` after ``MOVES``; a new (site, SKU) starts at 0.

    Raises
    ------
    ValueError
        If a level would go below zero (the loop moved stock it did not have).
    """
    out = (
        stock.join(_net(moves), on=KEYS, how="full", coalesce=True)
        .select(
            *KEYS,
            on_hand=pl.col("on_hand").fill_null(0) + pl.col("delta").fill_null(0),
            reserved=pl.col("reserved").fill_null(0),
        )
        .sort(KEYS)
        .cast(STOCK)
    )
    negative = out.filter((pl.col("on_hand") < 0) | (pl.col("on_hand") < pl.col("reserved")))
    if not negative.is_empty():
        row = negative.row(0, named=True)
        raise ValueError(
            f"stock of {row['sku']} at {row['warehouse_id']} would go to {row['on_hand']} "
            f"({row['reserved']} reserved); {negative.height} level(s) below zero"
        )
    return out


def ship_reserved(stock: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``STOCK`` with what was reserved handed over (it leaves), and the ``MOVES`` that makes.

    At the split day a DC's ``reserved`` holds the store orders placed for that
    night's line-haul: the first night ships them.
    """
    shipped = stock.filter(pl.col("reserved") > 0).select(*KEYS, delta=-pl.col("reserved"))
    return apply_moves(stock.with_columns(reserved=pl.lit(0, pl.Int64)), shipped), _net(shipped)
