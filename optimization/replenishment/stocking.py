"""The range decision: which series a forward warehouse holds at all, before any level.

A forward warehouse answers a store in 30 minutes; a part it does not hold is
sent from the DC with the next line-haul (the promise says so). Holding a part
costs money while it waits and, past the return horizon (the 90 days after which
a forward warehouse's stock counts as dead), a trip back to the DC. So a series
is held when the first sales multiple it would hold is likely enough to sell
within the horizon for the margin a fast answer protects to outweigh that risk:

    p = P(D_H ≥ m)                     D_H ~ NB1(rate·H, φ): demand over the horizon H
    v = fast_share · margin · m        what answering now rather than tomorrow is worth
    r = m · cost · (holding_rate · H / 365 + return_cost_rate)
    hold  ⇔  p ≥ p* = max(r / (r + v), min_sell_probability)

(the break-even of ``p·v − (1 − p)·r``: a newsvendor's critical ratio). It is
also not held when one multiple alone would cover more than the cover cap, when
it is dormant (no sale for longer than the class rule's window) or never sold at
this warehouse, or when the SKU is do-not-stock; a planner's override (pin)
beats the rule either way. Every decision carries its reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models import nb1

#: Planners' overrides (table ``stocking_overrides``): ``stock`` true pins a series here.
STOCKING_OVERRIDES = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "stock": pl.Boolean, "reason": pl.String}
)

#: The decision per series, added to the policy's frame.
STOCKING = pl.Schema(
    {
        "stocked": pl.Boolean,
        "sell_probability": pl.Float64,
        "stock_threshold": pl.Float64,
        "stocking_reason": pl.String,
    }
)


@dataclass(frozen=True)
class StockingParams:
    """What holding a part costs and what a 30-minute answer is worth.

    ``holding_rate``: cost of capital and shelf per year, as a share of the unit
    cost. ``return_cost_rate``: handling and the trip back to the DC of a unit that
    did not sell within the horizon, as a share of its cost. ``fast_share``: the
    share of a unit's margin that depends on answering within 30 minutes rather
    than with the next line-haul (the store may buy elsewhere while the car waits).
    ``min_sell_probability``: a floor under the break-even, so a part with no cost
    on record is not held on a remote chance.
    """

    holding_rate: float = 0.25
    return_cost_rate: float = 0.05
    fast_share: float = 0.5
    min_sell_probability: float = 0.2

    def __post_init__(self) -> None:
        for name in ("holding_rate", "return_cost_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.fast_share <= 1:
            raise ValueError(f"fast_share must be in (0, 1], got {self.fast_share}")
        if not 0 <= self.min_sell_probability < 1:
            raise ValueError(
                f"min_sell_probability must be in [0, 1), got {self.min_sell_probability}"
            )


def stocking_decision(
    series: pl.DataFrame,
    horizon_days: int,
    cover_cap_days: float,
    params: StockingParams,
) -> pl.DataFrame:
    """``series`` with the range decision (:data:`STOCKING` columns) added.

    Parameters
    ----------
    series
        One row per series with ``rate`` (mean demand per day), ``dispersion``,
        ``class`` (null: unknown), ``last_sale`` (null: never sold here),
        ``sales_multiple``, ``unit_cost``, ``weight`` (the margin of a unit),
        ``do_not_stock``, and the override ``pin_stock`` / ``pin_reason`` (null: none).
    horizon_days
        The return horizon H.
    cover_cap_days
        The most days of demand a transfer may leave at the warehouse.
    params
        Costs and the value of a fast answer.

    Returns
    -------
    pl.DataFrame
        ``series`` plus ``stocked``, ``sell_probability`` (p), ``stock_threshold``
        (p*) and ``stocking_reason``.
    """
    rate = series["rate"].to_numpy()
    multiple = series["sales_multiple"].to_numpy().astype(np.float64)
    p = nb1.sf(multiple - 1, rate * horizon_days, series["dispersion"].to_numpy())
    cost = series["unit_cost"].to_numpy() * multiple
    value = params.fast_share * series["weight"].to_numpy() * multiple
    risk = cost * (params.holding_rate * horizon_days / 365 + params.return_cost_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        threshold = np.where(risk + value > 0, risk / (risk + value), 1.0)
    threshold = np.maximum(threshold, params.min_sell_probability)
    frame = series.with_columns(
        sell_probability=pl.Series(p),
        stock_threshold=pl.Series(threshold),
        value_at_stake=pl.Series(value),
        risk=pl.Series(risk),
        one_multiple_cover=pl.when(pl.col("rate") > 0)
        .then(pl.col("sales_multiple") / pl.col("rate"))
        .otherwise(None),
    )
    pinned = pl.col("pin_stock").is_not_null()
    by_rule = (
        ~pl.col("do_not_stock")
        & (pl.col("class").fill_null("") != "dormant")
        & pl.col("last_sale").is_not_null()
        & (pl.col("one_multiple_cover").fill_null(float("inf")) <= cover_cap_days)
        & (pl.col("sell_probability") >= pl.col("stock_threshold"))
    )
    stocked = pl.when(pinned).then(pl.col("pin_stock")).otherwise(by_rule)
    return frame.with_columns(
        stocked=stocked, stocking_reason=_reason(horizon_days, cover_cap_days)
    ).drop("value_at_stake", "risk", "one_multiple_cover")


def _reason(horizon_days: int, cover_cap_days: float) -> pl.Expr:
    """The decision in words (built before ``stocked`` exists: it restates the rule)."""
    units = pl.format(
        "{} {}",
        "sales_multiple",
        pl.when(pl.col("sales_multiple") == 1).then(pl.lit("unit")).otherwise(pl.lit("units")),
    )  # the first multiple
    odds = pl.format(
        "sells {} within {} days with probability {}",
        units,
        pl.lit(horizon_days),
        pl.col("sell_probability").round(2),
    )
    economics = pl.format(
        "the {} needed for ¥{} of margin a 30-minute answer protects against ¥{} of "
        "holding and return risk",
        pl.col("stock_threshold").round(2),
        pl.col("value_at_stake").round(0).cast(pl.Int64),
        pl.col("risk").round(0).cast(pl.Int64),
    )
    return (
        pl.when(pl.col("pin_stock").is_not_null() & pl.col("pin_stock"))
        .then(pl.format("Held here: pinned by a planner ({})", "pin_reason"))
        .when(pl.col("pin_stock").is_not_null())
        .then(pl.format("Kept at the DC: a planner's decision ({})", "pin_reason"))
        .when(pl.col("do_not_stock"))
        .then(pl.lit("Kept at the DC: the SKU is do-not-stock"))
        .when(pl.col("class").fill_null("") == "dormant")
        .then(pl.format("Kept at the DC: dormant, last sold here {}", "last_sale"))
        .when(pl.col("last_sale").is_null())
        .then(pl.lit("Kept at the DC: never sold here"))
        .when(pl.col("one_multiple_cover").is_null())
        .then(pl.lit("Kept at the DC: no demand expected"))
        .when(pl.col("one_multiple_cover") > cover_cap_days)
        .then(
            pl.format(
                "Kept at the DC: {} would cover {} of demand, more than the {}-day cap",
                units,
                pl.when(pl.col("one_multiple_cover") > 365)
                .then(pl.lit("more than a year"))
                .otherwise(
                    pl.format("{} days", pl.col("one_multiple_cover").round(0).cast(pl.Int64))
                ),
                pl.lit(f"{cover_cap_days:g}"),
            )
        )
        .when(pl.col("sell_probability") >= pl.col("stock_threshold"))
        .then(pl.format("Held here: {}, above {}", odds, economics))
        .otherwise(pl.format("Kept at the DC: {}, below {}", odds, economics))
    )
