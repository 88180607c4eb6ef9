"""Tonight's moves at a forward warehouse: the proposal and the pull-back.

The proposal raises the inventory position to S in sales multiples, never past
``cover_cap_days`` of demand (a planner's pin gets at least one multiple); the
min/max baseline orders only at its reorder point and has no cap. A pull-back
returns stock idle past the horizon above S, or a held series' stock above
``excess_cover_factor × cover_cap_days`` of cover (down to the cap), and a
do-not-stock SKU's; never within ``receipt_guard_days`` of a receipt, so what
was sent tonight never qualifies tomorrow (hysteresis).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl


@dataclass(frozen=True)
class MoveRules:
    """The policy's thresholds for tonight's moves (``PolicyParams.move_rules``)."""

    cover_cap_days: float
    dead_after_days: int
    excess_cover_factor: float
    receipt_guard_days: int
    minmax: bool = False


def tonight_quantities(series: pl.DataFrame, rules: MoveRules, as_of: date) -> pl.DataFrame:
    """``series`` with tonight's proposal, its rounding, cover and value, the pull-back and
    the action (``raw_need``, ``proposed_quantity``, ``rounding``, ``cover_days``,
    ``proposed_value``, ``pull_back_quantity``, ``pull_back_why``, ``action``).

    ``series`` has the policy's columns: the level (``order_up_to``, and
    ``reorder_point`` under ``minmax``), the range decision (``stocked``, ``pin_stock``),
    the position and its parts, ``rate``, ``sales_multiple``, ``unit_cost``,
    ``idle_days``, ``last_receipt`` and ``do_not_stock``.
    """
    m = pl.col("sales_multiple")
    dns, held = pl.col("do_not_stock"), pl.col("stocked")
    position = pl.col("inventory_position")
    need = (pl.col("order_up_to") - position).clip(lower_bound=0)
    if rules.minmax:  # min/max orders only once the position is down to s
        need = pl.when(position <= pl.col("reorder_point")).then(need).otherwise(0)
    lifted = (need + m - 1) // m * m
    # The most the cap lets a transfer bring: cover_cap_days of demand, in multiples.
    room = ((pl.col("rate") * rules.cover_cap_days - position) / m).floor().cast(pl.Int64) * m
    # A pinned series gets at least one multiple even where it is more than the cap's cover.
    room = (
        pl.when(pl.col("pin_stock").fill_null(value=False))
        .then(pl.max_horizontal(room, m - position))
        .otherwise(room)
    )
    capped = lifted if rules.minmax else pl.min_horizontal(lifted, room.clip(lower_bound=0))
    proposed = pl.when(held).then(capped).otherwise(0)
    series = series.with_columns(raw_need=pl.when(held).then(need).otherwise(0))
    series = series.with_columns(proposed_quantity=proposed).with_columns(
        rounding=pl.when(pl.col("proposed_quantity") < (lifted * held.cast(pl.Int64)))
        .then(pl.lit("cover_cap"))
        .when(pl.col("proposed_quantity") == pl.col("raw_need"))
        .then(pl.lit("none"))
        .otherwise(pl.lit("multiple")),
        # Days of cover are a held series' measure: one kept at the DC has a rate of ~0
        # (1e-35 on a dormant series) and its "cover" would read millions of days.
        cover_days=pl.when(held & (pl.col("rate") > 0)).then(
            (position + pl.col("proposed_quantity")) / pl.col("rate")
        ),
        proposed_value=pl.col("proposed_quantity") * pl.col("unit_cost"),
    )
    free = (pl.col("on_hand") - pl.col("reserved") - pl.col("committed")).clip(lower_bound=0)
    idle = pl.col("idle_days").fill_null(0) >= rules.dead_after_days
    guarded = pl.col("last_receipt").is_not_null() & (
        pl.col("last_receipt") >= pl.lit(as_of) - pl.duration(days=rules.receipt_guard_days)
    )
    cover_now = pl.when(pl.col("rate") > 0).then(position / pl.col("rate"))
    far_above = held & (cover_now > rules.excess_cover_factor * rules.cover_cap_days)
    keep_at_cap = (pl.col("rate") * rules.cover_cap_days / m).floor() * m
    excess = (
        pl.when(dns)
        .then(position)
        .when(far_above)
        .then(position - pl.max_horizontal(keep_at_cap, "order_up_to"))
        .when(idle)
        .then(position - pl.col("order_up_to"))
        .otherwise(0)
    )
    # Back in whole multiples (a set stays a set), never what is reserved or promised.
    pull = (pl.min_horizontal(free, excess.clip(lower_bound=0)) // m * m).cast(pl.Int64)
    eligible = dns | (~guarded & (far_above | idle) & (pl.col("proposed_quantity") == 0))
    series = series.with_columns(
        pull_back_quantity=pl.when(eligible).then(pull).otherwise(0),
        pull_back_why=pl.when(dns)
        .then(pl.lit("the SKU is do-not-stock"))
        .when(far_above)
        .then(
            pl.format(
                "{} days of cover is more than {} × the {}-day cap",
                cover_now.round(0).cast(pl.Int64),
                pl.lit(f"{rules.excess_cover_factor:g}"),
                pl.lit(f"{rules.cover_cap_days:g}"),
            )
        )
        .otherwise(pl.format("no sale for {} days", "idle_days")),
    )
    action = (
        pl.when(pl.col("proposed_quantity") > 0)
        .then(pl.lit("replenish"))
        .when(pl.col("pull_back_quantity") > 0)
        .then(pl.lit("pull_back"))
        .when(dns)
        .then(pl.lit("do_not_stock"))
        .when(~held)
        .then(pl.lit("not_stocked"))
        .otherwise(pl.lit("hold"))
    )
    return series.with_columns(action=action)
