"""A first order-up-to plan per (forward warehouse, sku).

Periodic review every night (R = ``review_period_days``). A SKU's
``lead_time_days`` counts days beyond the overnight run: 0 means released
tonight and on the shelf before the store opens tomorrow, so the protection
period is R + L days. The order-up-to level S is the ``service_level``
quantile of Poisson demand over the protection period (a cycle-service
target); the proposal raises the inventory position (on hand + in transit −
reserved) to S, rounded up to whole packs. Shelf space, DC stock and
allocation come with later work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from scipy.stats import poisson

#: Latest stock level per forward warehouse and sku.
STOCK_POSITION = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "on_hand": pl.Int64,
        "reserved": pl.Int64,
        "in_transit": pl.Int64,
    }
)

#: Replenishment parameters from the SKU master.
SKU_PARAMS = pl.Schema(
    {
        "sku": pl.String,
        "category": pl.String,
        "pack_size": pl.Int64,
        "lead_time_days": pl.Int64,
        "do_not_stock": pl.Boolean,
    }
)

#: Mean daily demand per series (the forecast's rate).
DEMAND_RATE = pl.Schema({"warehouse_id": pl.String, "sku": pl.String, "rate": pl.Float64})

#: The ``replenishment_plan`` table less ``run_id``.
PLAN = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "as_of": pl.Date,
        "on_hand": pl.Int64,
        "reserved": pl.Int64,
        "in_transit": pl.Int64,
        "inventory_position": pl.Int64,
        "protection_days": pl.Int64,
        "forecast_mean": pl.Float64,
        "service_target": pl.Float64,
        "order_up_to": pl.Int64,
        "raw_need": pl.Int64,
        "proposed_quantity": pl.Int64,
        "pack_size": pl.Int64,
        "reason": pl.String,
    }
)


@dataclass(frozen=True)
class PolicyParams:
    """Service target and review period of the order-up-to policy."""

    service_level: float = 0.95
    review_period_days: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.service_level < 1:
            raise ValueError(f"service level must be in (0, 1), got {self.service_level}")
        if self.review_period_days < 1:
            raise ValueError(f"review period must be at least 1 day, got {self.review_period_days}")


def plan_order_up_to(
    rates: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    as_of: date,
    params: PolicyParams = PolicyParams(),
) -> pl.DataFrame:
    """Propose a quantity per series so its inventory position reaches S.

    Parameters
    ----------
    rates
        ``DEMAND_RATE``: the forecast mean daily demand per series.
    positions
        ``STOCK_POSITION``: series without a row have no stock.
    skus
        ``SKU_PARAMS``: pack size, lead time, do-not-stock flag.
    as_of
        The planning day.
    params
        Service target and review period.

    Returns
    -------
    pl.DataFrame
        ``PLAN``: one row per series in ``rates``, with the reason for the number.
    """
    frame = (
        rates.join(positions, on=["warehouse_id", "sku"], how="left")
        .join(skus, on="sku", how="left")
        .with_columns(
            pl.col("on_hand", "reserved", "in_transit").fill_null(0),
            pl.col("pack_size").fill_null(1),
            pl.col("lead_time_days").fill_null(0),
            pl.col("do_not_stock").fill_null(False),
        )
        .with_columns(
            inventory_position=pl.col("on_hand") + pl.col("in_transit") - pl.col("reserved"),
            protection_days=pl.col("lead_time_days") + params.review_period_days,
        )
        .with_columns(forecast_mean=pl.col("rate") * pl.col("protection_days"))
    )
    order_up_to = poisson.ppf(params.service_level, frame["forecast_mean"].to_numpy())
    frame = frame.with_columns(
        order_up_to=pl.Series(order_up_to).fill_nan(0.0).cast(pl.Int64),
    ).with_columns(
        raw_need=pl.when(pl.col("do_not_stock"))
        .then(0)
        .otherwise((pl.col("order_up_to") - pl.col("inventory_position")).clip(lower_bound=0))
    )
    packs = (pl.col("raw_need") + pl.col("pack_size") - 1) // pl.col("pack_size")
    frame = frame.with_columns(proposed_quantity=packs * pl.col("pack_size"))
    level = f"q{round(params.service_level * 100)}"
    reason = (
        pl.when(pl.col("do_not_stock"))
        .then(pl.lit("do-not-stock: nothing proposed"))
        .when(pl.col("raw_need") == 0)
        .then(
            pl.format(
                "position {} >= S {} ({} of Poisson demand, mean {} over {} d)",
                "inventory_position",
                "order_up_to",
                pl.lit(level),
                pl.col("forecast_mean").round(2),
                "protection_days",
            )
        )
        .otherwise(
            pl.format(
                "S {} ({} of Poisson demand, mean {} over {} d) - position {} = {}; "
                "{} in packs of {}",
                "order_up_to",
                pl.lit(level),
                pl.col("forecast_mean").round(2),
                "protection_days",
                "inventory_position",
                "raw_need",
                "proposed_quantity",
                "pack_size",
            )
        )
    )
    return (
        frame.with_columns(
            as_of=pl.lit(as_of),
            service_target=pl.lit(params.service_level),
            reason=reason,
        )
        .select(PLAN.names())
        .cast(PLAN)
        .sort("warehouse_id", "sku")
    )
