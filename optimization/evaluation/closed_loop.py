"""The closed loop of the real nightly, scored: the KPIs of a night and of the run.

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

from optimization.evaluation.closed_loop_day import (
    DAY_LINES,
    DEMAND_STATE,
    KEYS,
    MOVES,
    OPENING,
    PURCHASES,
    RESALEABLE,
    RETURNS,
    SERVED,
    SITES,
    STOCK,
    TRANSFERS,
    apply_moves,
    arrivals,
    free_stock,
    returned,
    serve_day,
    ship_reserved,
)

__all__ = [
    "DAY_LINES",
    "DEMAND_STATE",
    "KEYS",
    "MOVES",
    "OPENING",
    "PURCHASES",
    "RESALEABLE",
    "RETURNS",
    "SERVED",
    "SITES",
    "STOCK",
    "TRANSFERS",
    "Network",
    "NightKpis",
    "NightRecord",
    "TotalKpis",
    "apply_moves",
    "arrivals",
    "free_stock",
    "night_kpis",
    "returned",
    "sent_and_pulled_back",
    "serve_day",
    "ship_reserved",
    "total_kpis",
]


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
