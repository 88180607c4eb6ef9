"""The DC's own replenishment: tonight's purchase orders to its suppliers.

A DC's demand is its forward warehouses' forecasts
(:func:`optimization.replenishment.dc_demand.dc_demand`).

:func:`plan_purchases` is a periodic-review, order-up-to policy per (DC, SKU):

* **Review day.** The DC orders from a supplier every ``order_cycle_days`` (R).
  Tonight's order is placed on the *order day*, the morning after the run
  (``as_of`` + 1, when planners release), which is a supplier's review day when
  R divides its number of days since 1970-01-01 (:func:`next_review_day`):
  weekly suppliers on Thursdays, daily ones always. It follows from the date
  alone, so planners can predict it and a re-run of a night repeats it.
* **Level.** An order has to last until the next one's goods arrive: the
  protection period is R + L days (L: the supplier's lead time, order to
  receipt at the DC). S is the smallest level meeting the DC's
  :class:`~optimization.replenishment.service.ServiceTarget` for NB1 demand
  over it (:func:`~optimization.replenishment.service.order_up_to`, with the
  lead-time term of the fill rate).
* **Position** = on hand − reserved at the DC's latest count + released purchase
  orders and pull-backs not yet received − released transfers not yet shipped
  − what tonight's plan allocates to the forward warehouses.
* **Quantity.** need = S − position; when positive, lifted to the supplier's MOQ
  and rounded up to whole cases; one order per (supplier, DC), a line per SKU
  that orders something (:func:`purchase_orders`).
* **Rush.** Off the review day, a SKU whose position would leave more than
  ``1 − level`` of the demand short before the next regular order's goods
  arrive (the *gap*: days to the next review + L) is ordered up to S tonight,
  due after L: the *rush level* is the smallest position whose fill rate over
  the gap meets the DC's level (:func:`~optimization.replenishment.service.order_up_to`
  without a lead-time term). In the steady state a position after a review
  stays above it; it catches demand above the forecast, a late delivery and a
  DC that starts the loop empty (e.g. a SKU bought every 14 days that runs out
  on day 2 would otherwise wait 12 + L days).

Every (DC, SKU) gets a plan row with a reason and an action: ``order``,
``rush`` (ordered off the review day), ``covered`` (the position covers S, or
off the review day the rush level), ``not_review_day`` (S and the need are
shown; nothing is ordered before the next review) or ``no_supplier`` (not
orderable: no ``sku_supply`` row names a supplier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from optimization.replenishment.dc_demand import (
    DC_DEMAND,
    DC_KEY_TYPES,
    DC_KEYS,
    DC_OUTGOING,
)
from optimization.replenishment.service import ServiceTarget, cycle_service, fill_rate, order_up_to

#: The parts of the DC's inventory position (see ``DC_POSITIONS`` and ``PURCHASE_PLAN``).
POSITION_PARTS = ["on_hand", "reserved", "on_order", "pull_backs", "released_out"]

#: Day 0 of the review calendar (see :func:`next_review_day`).
REVIEW_EPOCH = date(1970, 1, 1)

#: The DC's stock per SKU tonight (``warehouse.purchasing.dc_positions``): ``on_hand``
#: and ``reserved`` at its latest count; released purchase orders (``on_order``),
#: pull-backs coming to the DC (``pull_backs``) and transfers out of it
#: (``released_out``) due after that count.
DC_POSITIONS = pl.Schema({**DC_KEY_TYPES, **dict.fromkeys(POSITION_PARTS, pl.Int64())})

#: How each SKU is bought. ``supplier_id`` (and with it the lead time and the order
#: cycle) is null for a SKU no supplier is known for; ``case_pack`` and ``moq`` are in
#: units, ``unit_cost`` in CNY.
SUPPLY_TERMS = pl.Schema(
    {
        "sku": pl.String(),
        "supplier_id": pl.String(),
        **dict.fromkeys(["lead_time_days", "order_cycle_days", "case_pack", "moq"], pl.Int64()),
        "unit_cost": pl.Float64(),
    }
)

#: One row per (DC, SKU): the decision and everything a planner needs to check it.
PURCHASE_PLAN = pl.Schema(
    {
        **DC_KEY_TYPES,
        "as_of": pl.Date(),
        **dict.fromkeys(["action", "supplier_id"], pl.String()),
        "review_day": pl.Boolean(),
        **dict.fromkeys(["review_on", "expected_on"], pl.Date()),
        **dict.fromkeys(
            ["lead_time_days", "order_cycle_days", "protection_days", "gap_days"], pl.Int64()
        ),
        "target_kind": pl.String(),
        **dict.fromkeys(["target_level", "rate", "dispersion", "protection_mean"], pl.Float64()),
        **dict.fromkeys(["order_up_to", "rush_level"], pl.Int64()),
        **dict.fromkeys(["expected_fill_rate", "expected_cycle_service"], pl.Float64()),
        **dict.fromkeys([*POSITION_PARTS, "tonight", "inventory_position"], pl.Int64()),
        **dict.fromkeys(["raw_need", "case_pack", "moq", "quantity"], pl.Int64()),
        "rounding": pl.String(),
        **dict.fromkeys(["unit_cost", "value", "cover_days"], pl.Float64()),
        "reason": pl.String(),
    }
)

#: Values ``action`` takes (module docstring).
PURCHASE_ACTIONS = ("order", "rush", "covered", "not_review_day", "no_supplier")

#: Purchase-order headers (``purchase_orders`` less ``run_id``, ``created_at``, ``status``).
PURCHASE_ORDERS = pl.Schema(
    {**dict.fromkeys(["po_id", "supplier_id", "dc_id"], pl.String()), "expected_on": pl.Date()}
)

#: Purchase-order lines (``purchase_order_lines``).
PURCHASE_LINES = pl.Schema(
    {
        "po_id": pl.String(),
        "line_no": pl.Int64(),
        "sku": pl.String(),
        **dict.fromkeys(["proposed_quantity", "quantity"], pl.Int64()),
        "unit_cost": pl.Float64(),
        "reason": pl.String(),
    }
)

#: The (supplier, DC) pairs reviewed tonight: their earlier open proposals are superseded.
REVIEWED = pl.Schema({"supplier_id": pl.String(), "dc_id": pl.String()})


@dataclass(frozen=True)
class PurchasingParams:
    """The DC's service target.

    Fill rate 0.98 by default, above the forward warehouses' 0.95: a unit the
    DC is short of is short for every warehouse it feeds for a whole supplier
    lead time (weeks, not the overnight hop), while pooling the network's
    demand makes a high DC fill rate cheap (the DC's relative variability is
    lower than any warehouse's). It is also the issue's DC yardstick: stock-outs
    on under 2 % of the SKU-days with demand. A fill rate rather than a cycle
    service level for the same reason as at the warehouses
    (:class:`optimization.replenishment.service.ServiceTarget`): it counts units.
    """

    target: ServiceTarget = field(default_factory=lambda: ServiceTarget("fill_rate", 0.98))

    def __post_init__(self) -> None:
        if self.target.kind not in ("fill_rate", "cycle_service"):
            raise ValueError(
                "the DC's target must be a fill_rate or a cycle_service, "
                f"got {self.target.kind!r} (a unit_fill groups forward-warehouse series)"
            )


@dataclass(frozen=True)
class PurchaseOrders:
    """Tonight's orders (``PURCHASE_ORDERS``, ``PURCHASE_LINES``) and the pairs reviewed."""

    headers: pl.DataFrame
    lines: pl.DataFrame
    reviewed: pl.DataFrame


def next_review_day(day: date, order_cycle_days: int) -> date:
    """The first review day on or after ``day`` of a supplier ordered every ``order_cycle_days``.

    A review day's number of days since :data:`REVIEW_EPOCH` is a multiple of
    the cycle.

    Raises
    ------
    ValueError
        If the cycle is below 1 day.
    """
    if order_cycle_days < 1:
        raise ValueError(f"order cycle must be at least 1 day, got {order_cycle_days}")
    late = (day - REVIEW_EPOCH).days % order_cycle_days
    return day + timedelta(days=(order_cycle_days - late) % order_cycle_days)


def plan_purchases(
    demand: pl.DataFrame,
    positions: pl.DataFrame,
    supply: pl.DataFrame,
    as_of: date,
    params: PurchasingParams = PurchasingParams(),
    outgoing: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Decide tonight's purchases for every (DC, SKU) with demand or stock.

    Parameters
    ----------
    demand
        ``DC_DEMAND`` (:func:`dc_demand`). A pair with stock and no row has no demand.
    positions
        ``DC_POSITIONS``. A pair without a row has no stock.
    supply
        ``SUPPLY_TERMS``. A SKU without a row, or with a null supplier, is not orderable.
    as_of
        The planning night; the order day is the day after.
    params
        The DC's service target.
    outgoing
        ``DC_OUTGOING``: what tonight's plan sends to the warehouses (``None``: nothing).

    Returns
    -------
    pl.DataFrame
        ``PURCHASE_PLAN``, sorted by DC and SKU (module docstring).
    """
    _check_supply(supply)
    target = params.target
    sent = DC_OUTGOING.to_frame() if outgoing is None else outgoing
    rows = (
        pl.concat([demand.select(DC_KEYS), positions.select(DC_KEYS), sent.select(DC_KEYS)])
        .unique()
        .join(demand.select(DC_DEMAND.names()), on=DC_KEYS, how="left")
        .join(positions.select(DC_POSITIONS.names()), on=DC_KEYS, how="left")
        .join(sent.select(*DC_KEYS, tonight="units"), on=DC_KEYS, how="left")
        .join(supply.select(SUPPLY_TERMS.names()), on="sku", how="left")
        .with_columns(
            pl.col("rate").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("dispersion").fill_null(1.0).clip(lower_bound=1.0),
            pl.col(*POSITION_PARTS, "tonight").fill_null(0),
            pl.col("case_pack", "moq").fill_null(1),
            pl.col("unit_cost").fill_null(0.0),
            as_of=pl.lit(as_of),
            target_kind=pl.lit(target.kind),
            target_level=pl.lit(target.level),
            protection_days=pl.col("lead_time_days") + pl.col("order_cycle_days"),
        )
        .with_columns(
            protection_mean=pl.col("rate") * pl.col("protection_days"),
            inventory_position=pl.sum_horizontal("on_hand", "on_order", "pull_backs")
            - pl.sum_horizontal("reserved", "released_out", "tonight"),
        )
    )
    rows = _with_quantities(_with_levels(_with_review(rows, as_of), target))
    reasons = [_reason(row) for row in rows.iter_rows(named=True)]
    return (
        rows.with_columns(reason=pl.Series(reasons, dtype=pl.String))
        .select(PURCHASE_PLAN.names())
        .cast(PURCHASE_PLAN)
        .sort(DC_KEYS)
    )


def purchase_orders(plan: pl.DataFrame, run_id: str) -> PurchaseOrders:
    """Cut the plan into orders: one per (supplier, DC, due day), a line per SKU that orders.

    Ids are ``{run_id}/{supplier}>{dc}/{YYYYMMDD of expected_on}``; lines are
    numbered by SKU; a line's ``proposed_quantity`` and ``quantity`` are the
    plan's ``quantity`` (an override changes only ``quantity``).
    """
    day = pl.col("expected_on").dt.strftime("%Y%m%d")
    lines = (
        plan.filter(pl.col("action").is_in(["order", "rush"]))
        .with_columns(
            po_id=pl.format("{}/{}>{}/{}", pl.lit(run_id), "supplier_id", "dc_id", day),
            proposed_quantity="quantity",
        )
        .sort("po_id", "sku")
        .with_columns(line_no=pl.int_range(1, pl.len() + 1).over("po_id"))
    )
    headers = lines.select(PURCHASE_ORDERS.names()).unique("po_id").sort("po_id")
    # A rush reviews one SKU, not the pair: the pair's open proposals stay.
    reviewed = plan.filter(pl.col("review_day")).select(REVIEWED.names()).unique()
    return PurchaseOrders(
        headers=headers.cast(PURCHASE_ORDERS),
        lines=lines.select(PURCHASE_LINES.names()).cast(PURCHASE_LINES),
        reviewed=reviewed.sort(REVIEWED.names()).cast(REVIEWED),
    )


def _check_supply(supply: pl.DataFrame) -> None:
    """Refuse terms the policy cannot use, naming the SKU (the tables' CHECKs say the same)."""
    named = supply.filter(pl.col("supplier_id").is_not_null())
    for message, broken in (
        ("lead time must be at least 1 day", pl.col("lead_time_days").fill_null(0) < 1),
        ("order cycle must be at least 1 day", pl.col("order_cycle_days").fill_null(0) < 1),
        ("case pack and MOQ must be at least 1", pl.min_horizontal("case_pack", "moq") < 1),
        ("unit cost must be >= 0", pl.col("unit_cost") < 0),
    ):
        if not (bad := named.filter(broken)).is_empty():
            raise ValueError(f"supply terms of sku {bad['sku'][0]!r}: {message}")
    if supply["sku"].is_duplicated().any():
        raise ValueError(
            f"sku {supply.filter(pl.col('sku').is_duplicated())['sku'][0]!r} has "
            "two rows of supply terms"
        )


def _with_levels(rows: pl.DataFrame, target: ServiceTarget) -> pl.DataFrame:
    """S and its expected service for the pairs with a supplier (null for the others)."""
    mu = rows["protection_mean"].fill_null(0.0).to_numpy()
    phi = rows["dispersion"].to_numpy()
    lead = (rows["rate"] * rows["lead_time_days"].fill_null(0)).to_numpy()
    s = order_up_to(mu, phi, target.level, target.kind == "fill_rate", lead)
    gap = (rows["rate"] * rows["gap_days"].fill_null(0)).to_numpy()
    rush = order_up_to(gap, phi, target.level, target.kind == "fill_rate")
    levels = ["order_up_to", "rush_level", "expected_fill_rate", "expected_cycle_service"]
    return rows.with_columns(
        lead_mean=pl.Series(lead),
        order_up_to=pl.Series(s).cast(pl.Int64),
        rush_level=pl.Series(rush).cast(pl.Int64),
        expected_fill_rate=pl.Series(fill_rate(s, mu, phi, lead)),
        expected_cycle_service=pl.Series(cycle_service(s, mu, phi)),
    ).with_columns(pl.when(pl.col("supplier_id").is_not_null()).then(pl.col(levels)))


def _with_review(rows: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The supplier's next review day on or after the order day, the days until its goods
    would come (the gap), and when tonight's order would come (a rush's: after the lead time)."""
    order_day = as_of + timedelta(days=1)
    cycles = rows["order_cycle_days"].drop_nulls().unique().to_list()
    review_on = {cycle: next_review_day(order_day, cycle) for cycle in cycles}
    return rows.with_columns(
        review_on=pl.col("order_cycle_days").replace_strict(
            review_on, default=None, return_dtype=pl.Date
        )
    ).with_columns(
        gap_days=(pl.col("review_on") - pl.lit(order_day)).dt.total_days()
        + pl.col("lead_time_days"),
        review_day=pl.col("review_on") == pl.lit(order_day),
    )


def _with_quantities(rows: pl.DataFrame) -> pl.DataFrame:
    need = (pl.col("order_up_to") - pl.col("inventory_position")).clip(lower_bound=0)
    action = (
        pl.when(pl.col("supplier_id").is_null())
        .then(pl.lit("no_supplier"))
        .when(pl.col("review_day") & (need > 0))
        .then(pl.lit("order"))
        .when(pl.col("review_day"))
        .then(pl.lit("covered"))
        .when((pl.col("inventory_position") < pl.col("rush_level")) & (need > 0))
        .then(pl.lit("rush"))
        .otherwise(pl.lit("not_review_day"))
    )
    cases = (pl.max_horizontal(need, "moq") + pl.col("case_pack") - 1) // pl.col("case_pack")
    ordering = pl.col("action").is_in(["order", "rush"])
    order_day = pl.col("as_of") + pl.duration(days=1)
    rows = rows.with_columns(raw_need=need.fill_null(0), action=action).with_columns(
        quantity=pl.when(ordering).then(cases * pl.col("case_pack")).otherwise(0),
        expected_on=pl.when(pl.col("action") == "rush")
        .then(order_day)
        .otherwise(pl.col("review_on"))
        + pl.duration(days=pl.col("lead_time_days")),
    )
    # Stock expected when tonight's order arrives, in days of the network's demand.
    left = pl.col("inventory_position") + pl.col("quantity") - pl.col("lead_mean")
    return rows.with_columns(
        rounding=pl.when(~ordering | (pl.col("quantity") == pl.col("raw_need")))
        .then(pl.lit("none"))
        .when(pl.col("raw_need") < pl.col("moq"))
        .then(pl.lit("moq"))
        .otherwise(pl.lit("case")),
        value=pl.col("quantity") * pl.col("unit_cost"),
        cover_days=pl.when(ordering & (pl.col("rate") > 0)).then(left / pl.col("rate")),
    )


def _reason(row: dict[str, Any]) -> str:
    """One line a planner reads without a manual: the row's own numbers, in words."""
    position = (
        f"position {row['inventory_position']} = on hand {row['on_hand']} − reserved "
        f"{row['reserved']} + on order {row['on_order']} + pull-backs coming "
        f"{row['pull_backs']} − released to warehouses {row['released_out']} − allocated "
        f"tonight {row['tonight']}"
    )
    if row["action"] == "no_supplier":
        return (
            "not orderable: no supplier is known for this SKU (no sku_supply row); network "
            f"demand {row['rate']:.2f}/day; {position}"
        )
    supplier, target = row["supplier_id"], row["target_kind"].replace("_", " ")
    demand = (
        f"network demand {row['rate']:.2f}/day over the {row['protection_days']} days until a "
        f"later order can arrive (lead time {row['lead_time_days']} + order cycle "
        f"{row['order_cycle_days']}) = {row['protection_mean']:.1f} expected, variance "
        f"{row['dispersion']:.2f}× the mean"
    )
    level = (
        f"DC target {target} {row['target_level']:g} → order up to {row['order_up_to']} "
        f"(expects fill rate {row['expected_fill_rate']:.3f}; "
        f"{row['expected_cycle_service']:.3f} of order cycles end without a stock-out)"
    )
    if row["action"] in ("order", "rush"):
        rounded = {
            "moq": f", lifted to the MOQ {row['moq']} in cases of {row['case_pack']}",
            "case": f", rounded up to cases of {row['case_pack']}",
        }.get(row["rounding"], "")
        cover = row["cover_days"]
        then = "no demand forecast" if cover is None else f"about {cover:.0f} days of cover"
        decision = (
            f"need {row['raw_need']}{rounded}: order {row['quantity']} from {supplier} "
            f"(¥{row['value']:,.2f}), due {row['expected_on']} with {then} then"
        )
        if row["action"] == "rush":
            decision = f"{_rush_why(row)}: rush order off the review day; {decision}"
    elif row["action"] == "covered":
        decision = f"the position covers it: nothing ordered from {supplier}"
    else:
        decision = (
            f"not a review day: {supplier} is ordered every {row['order_cycle_days']} days, "
            f"next on {row['review_on']}; tonight's need would be {row['raw_need']}"
        )
        if row["raw_need"] > 0:
            decision += (
                f"; the position lasts until that order's goods arrive (at least "
                f"{row['rush_level']} needed for {row['gap_days']} days): no rush"
            )
    return "; ".join((demand, level, position, decision))


def _rush_why(row: dict[str, Any]) -> str:
    return (
        f"the next regular order ({row['review_on']}) arrives in {row['gap_days']} days and "
        f"the position {row['inventory_position']} is below the {row['rush_level']} that "
        f"meets the target until then"
    )
