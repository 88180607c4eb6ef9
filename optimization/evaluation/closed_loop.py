"""The closed loop of the real nightly, scored: a day's stock movements and the KPIs of a night.

``partsflow simulate`` runs the nightly code N consecutive nights on a copy of the
database (``flows.simulate``); this module is its arithmetic, on frames:

* **The day** (:func:`serve_day`): each completed store line, in time order,
  takes what its forward warehouse has free (on hand − reserved); the units
  it cannot get there are *missed* at the warehouse and, as the promise says,
  sent by the DC with the next line-haul (*late*) out of the DC's free stock;
  what the DC lacks too is *short*. Free is on hand − reserved − released
  transfers not yet shipped (:func:`free_stock`). Cancelled lines take nothing
  (they are not demand).
* **Stock** moves only through :func:`apply_moves`, which refuses to take a
  level below zero; :func:`arrivals` turns released transfers and purchase
  orders due in the morning into moves, :func:`returned` the resaleable returns.
* **KPIs** per night (:func:`night_kpis`) and over the run (:func:`total_kpis`):
  unit fill (served from the shelf / ordered) and item fill (the mean of the
  series' own unit fill), stock-out SKU-days (a warehouse started the day with
  nothing free for a series ordered that day), inventory value and median days
  of cover (on hand over the trailing 28 days' average demand; a series with
  stock and no demand counts as infinite), lines and units moved, pull-backs,
  purchase orders, the DC's stock-out share of SKU-days with demand, and stock
  idle (no sale) for more than 90 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
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


@dataclass(frozen=True)
class NightRecord:
    """What one night of the loop saw and did, as frames."""

    day: date
    served: pl.DataFrame  # SERVED
    opening: pl.DataFrame  # OPENING
    closing: pl.DataFrame  # STOCK at the end of the day
    transfers: pl.DataFrame  # TRANSFERS released tonight
    purchases: pl.DataFrame  # PURCHASES released tonight
    demand: pl.DataFrame  # DEMAND_STATE after the day


@dataclass(frozen=True)
class Network:
    """The fixed facts the KPIs need: sites, unit costs, the trailing window, idle horizon."""

    sites: pl.DataFrame  # SITES
    costs: pl.DataFrame  # sku, unit_cost
    history_start: date  # a series never sold is idle since the first day of history
    window_days: int = 28
    idle_days: int = 90


@dataclass(frozen=True)
class NightKpis:
    """The KPIs of one night (see the module docstring); ratios are None without a base."""

    day: date
    lines_ordered: int
    units_ordered: int
    units_served: int
    units_late: int
    units_short: int
    unit_fill: float | None
    item_fill: float | None
    line_fill: float | None
    stockout_sku_days: int
    fw_value: float
    dc_value: float
    fw_cover_days: float | None
    dc_cover_days: float | None
    transfer_lines: int
    transfer_units: int
    pull_back_lines: int
    pull_back_units: int
    purchase_lines: int
    purchase_units: int
    purchase_value: float
    dc_demand_sku_days: int
    dc_stockout_sku_days: int
    idle_units: int
    idle_share: float | None


def night_kpis(record: NightRecord, network: Network) -> NightKpis:
    """The KPIs of one night from its record."""
    served, sites = record.served, network.sites
    units = int(served["quantity"].sum())
    kinds = sites.select("warehouse_id", "kind")
    closing = record.closing.join(kinds, on="warehouse_id").join(
        network.costs, on="sku", how="left"
    )
    value = closing.group_by("kind").agg(
        (pl.col("on_hand") * pl.col("unit_cost").fill_null(0)).sum()
    )
    values = dict(value.rows())
    moved = _moves_by_kind(record.transfers, sites)
    replenish, pull_back = (
        moved.filter(pl.col("to_kind") == "forward"),
        moved.filter(pl.col("to_kind") == "dc"),
    )
    purchases = record.purchases.filter(pl.col("quantity") > 0)
    dc_days = _dc_demand_days(served, sites, record.opening)
    fw_cover, dc_cover = _cover(record, network)
    idle_units, fw_units = _idle(record, network)
    return NightKpis(
        day=record.day,
        lines_ordered=served.height,
        units_ordered=units,
        units_served=int(served["served"].sum()),
        units_late=int(served["late"].sum()),
        units_short=int(served["short"].sum()),
        unit_fill=_ratio(int(served["served"].sum()), units),
        item_fill=_item_fill(served),
        line_fill=_ratio(
            served.filter(pl.col("served") == pl.col("quantity")).height, served.height
        ),
        stockout_sku_days=_stockout_days(served, record.opening),
        fw_value=round(float(values.get("forward", 0.0)), 2),
        dc_value=round(float(values.get("dc", 0.0)), 2),
        fw_cover_days=fw_cover,
        dc_cover_days=dc_cover,
        transfer_lines=replenish.height,
        transfer_units=int(replenish["quantity"].sum()),
        pull_back_lines=pull_back.height,
        pull_back_units=int(pull_back["quantity"].sum()),
        purchase_lines=purchases.height,
        purchase_units=int(purchases["quantity"].sum()),
        purchase_value=round(float((purchases["quantity"] * purchases["unit_cost"]).sum()), 2),
        dc_demand_sku_days=dc_days.height,
        dc_stockout_sku_days=dc_days.filter(pl.col("available") <= 0).height,
        idle_units=idle_units,
        idle_share=_ratio(idle_units, fw_units),
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _item_fill(served: pl.DataFrame) -> float | None:
    """The mean over series with demand of the series' own unit fill."""
    per_series = served.group_by(KEYS).agg(pl.col("served").sum() / pl.col("quantity").sum())
    return None if per_series.is_empty() else float(per_series["served"].mean())  # type: ignore[arg-type]


def _stockout_days(served: pl.DataFrame, opening: pl.DataFrame) -> int:
    """Series ordered today whose warehouse began the day with nothing free."""
    asked = served.select(KEYS).unique().join(opening, on=KEYS, how="left")
    return asked.filter(pl.col("available").fill_null(0) <= 0).height


def _dc_demand_days(
    served: pl.DataFrame, sites: pl.DataFrame, opening: pl.DataFrame
) -> pl.DataFrame:
    """(DC, SKU) with demand at one of its warehouses today, with the DC's free stock then."""
    asked = served.join(sites.select("warehouse_id", "dc_id"), on="warehouse_id", how="left")
    return (
        asked.select("dc_id", "sku")
        .unique()
        .join(opening.rename({"warehouse_id": "dc_id"}), on=["dc_id", "sku"], how="left")
        .with_columns(pl.col("available").fill_null(0))
    )


def _moves_by_kind(transfers: pl.DataFrame, sites: pl.DataFrame) -> pl.DataFrame:
    kinds = sites.select(pl.col("warehouse_id").alias("to_warehouse_id"), to_kind="kind")
    return transfers.filter(pl.col("quantity") > 0).join(kinds, on="to_warehouse_id", how="left")


def _cover(record: NightRecord, network: Network) -> tuple[float | None, float | None]:
    """Median days of cover of the stocked series at the forward warehouses and the DCs."""
    rate = record.demand.select(*KEYS, rate=pl.col("recent_units") / network.window_days)
    dc_rate = (
        rate.join(network.sites.select("warehouse_id", "dc_id"), on="warehouse_id")
        .group_by("dc_id", "sku")
        .agg(pl.col("rate").sum())
        .rename({"dc_id": "warehouse_id"})
    )
    stocked = record.closing.filter(pl.col("on_hand") > 0).join(
        network.sites.select("warehouse_id", "kind"), on="warehouse_id"
    )
    out: list[float | None] = []
    for kind, rates in (("forward", rate), ("dc", dc_rate)):
        part = stocked.filter(pl.col("kind") == kind).join(rates, on=KEYS, how="left")
        on_hand = part["on_hand"].to_numpy().astype(np.float64)
        daily = part["rate"].fill_null(0.0).to_numpy()
        with np.errstate(divide="ignore"):
            cover = np.where(daily > 0, on_hand / np.where(daily > 0, daily, 1.0), np.inf)
        out.append(float(np.median(cover)) if cover.size else None)
    return out[0], out[1]


def _idle(record: NightRecord, network: Network) -> tuple[int, int]:
    """Units at the forward warehouses of series without a sale for ``idle_days``, and all."""
    forward = network.sites.filter(pl.col("kind") == "forward").select("warehouse_id")
    stock = record.closing.join(forward, on="warehouse_id").join(
        record.demand.select(*KEYS, "last_sale"), on=KEYS, how="left"
    )
    since = pl.coalesce("last_sale", pl.lit(network.history_start))
    idle = stock.filter((pl.lit(record.day) - since).dt.total_days() > network.idle_days)
    return int(idle["on_hand"].sum()), int(stock["on_hand"].sum())


def sent_and_pulled_back(
    transfers: pl.DataFrame, sites: pl.DataFrame, within_days: int = 14, *, reverse: bool = False
) -> int:
    """(Forward warehouse, SKU) pairs sent stock and pulled back within ``within_days``.

    A transfer in arrives on its ``needed_by``; the pull-back leaves on its own. With
    ``reverse`` the pairs pulled back first and sent stock again within the window.
    """
    moved = _moves_by_kind(transfers, sites)
    sent = moved.filter(pl.col("to_kind") == "forward").select(
        pl.col("to_warehouse_id").alias("warehouse_id"), "sku", sent_on="needed_by"
    )
    back = moved.filter(pl.col("to_kind") == "dc").select(
        pl.col("from_warehouse_id").alias("warehouse_id"), "sku", back_on="needed_by"
    )
    gap = (
        (pl.col("sent_on") - pl.col("back_on"))
        if reverse
        else (pl.col("back_on") - pl.col("sent_on"))
    )
    pairs = sent.join(back, on=KEYS).filter(gap.dt.total_days().is_between(0, within_days))
    return pairs.select(KEYS).n_unique() if not pairs.is_empty() else 0


#: The counts of :class:`NightKpis` a run adds up.
_SUMMED = (
    "units_ordered",
    "units_served",
    "units_late",
    "units_short",
    "stockout_sku_days",
    "transfer_lines",
    "transfer_units",
    "pull_back_lines",
    "pull_back_units",
    "purchase_lines",
    "purchase_units",
    "dc_demand_sku_days",
    "dc_stockout_sku_days",
)


@dataclass(frozen=True)
class TotalKpis:
    """The run's KPIs: sums, ratios of sums, end-of-run stock, stability and speed."""

    nights: int
    units_ordered: int
    units_served: int
    units_late: int
    units_short: int
    unit_fill: float | None
    item_fill: float | None
    stockout_sku_days: int
    fw_value_mean: float
    dc_value_mean: float
    fw_value_end: float
    dc_value_end: float
    fw_cover_days_end: float | None
    dc_cover_days_end: float | None
    transfer_lines: int
    transfer_units: int
    transfer_lines_per_night: float
    transfer_lines_cv_after_week: float | None
    pull_back_lines: int
    pull_back_units: int
    sent_and_pulled_back: int
    pulled_back_and_sent: int
    purchase_lines: int
    purchase_units: int
    purchase_value: float
    dc_stockout_share: float | None
    idle_units_end: int
    idle_share_end: float | None


def total_kpis(
    nights: Sequence[NightKpis], served: pl.DataFrame, transfers: pl.DataFrame, sites: pl.DataFrame
) -> TotalKpis:
    """The run's KPIs from its nights, all its ``SERVED`` lines and released ``TRANSFERS``.

    ``transfer_lines_cv_after_week`` is the coefficient of variation (std / mean) of the
    lines moved per night from the eighth night on (None before two such nights).

    Raises
    ------
    ValueError
        Without nights.
    """
    if not nights:
        raise ValueError("a run needs at least one night")
    sums = {name: sum(getattr(n, name) for n in nights) for name in _SUMMED}
    lines = np.array([n.transfer_lines for n in nights], dtype=np.float64)
    settled = lines[7:]
    last = nights[-1]
    return TotalKpis(
        nights=len(nights),
        units_ordered=sums["units_ordered"],
        units_served=sums["units_served"],
        units_late=sums["units_late"],
        units_short=sums["units_short"],
        unit_fill=_ratio(sums["units_served"], sums["units_ordered"]),
        item_fill=_item_fill(served),
        stockout_sku_days=sums["stockout_sku_days"],
        fw_value_mean=round(float(np.mean([n.fw_value for n in nights])), 2),
        dc_value_mean=round(float(np.mean([n.dc_value for n in nights])), 2),
        fw_value_end=last.fw_value,
        dc_value_end=last.dc_value,
        fw_cover_days_end=last.fw_cover_days,
        dc_cover_days_end=last.dc_cover_days,
        transfer_lines=sums["transfer_lines"],
        transfer_units=sums["transfer_units"],
        transfer_lines_per_night=float(lines.mean()),
        transfer_lines_cv_after_week=(
            float(settled.std() / settled.mean()) if settled.size >= 2 and settled.mean() else None
        ),
        pull_back_lines=sums["pull_back_lines"],
        pull_back_units=sums["pull_back_units"],
        sent_and_pulled_back=sent_and_pulled_back(transfers, sites),
        pulled_back_and_sent=sent_and_pulled_back(transfers, sites, reverse=True),
        purchase_lines=sums["purchase_lines"],
        purchase_units=sums["purchase_units"],
        purchase_value=round(sum(n.purchase_value for n in nights), 2),
        dc_stockout_share=_ratio(sums["dc_stockout_sku_days"], sums["dc_demand_sku_days"]),
        idle_units_end=last.idle_units,
        idle_share_end=last.idle_share,
    )
