"""Tonight's network plan: demand distributions → proposals → DC allocation → transfer orders.

Pure glue between the forecast and the tables a planner reviews:

1. :func:`demand_distribution` turns the daily forecast into the NB1 demand
   per series that :func:`optimization.replenishment.policy.plan_replenishment` needs: the
   mean daily rate over each SKU's own protection period (R + L days, capped
   at the horizon; weekday effects included) and the series' dispersion.
2. :func:`plan_network` proposes for every series, then allocates each DC's
   stock among the forward warehouses it feeds (one allocation per DC: a
   DC's stock serves only its own warehouses) under their shelf volume.
3. :func:`transfer_orders` cuts the plan into shipments: one transfer order
   per (DC, forward warehouse, arrival day) for replenishment, one per
   (forward warehouse, DC) for pull-backs, with one line per SKU carrying the
   reason a planner needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from optimization.replenishment.allocation import (
    DC_STOCK,
    SHELF,
    TRANSFER_PLAN,
    AllocationParams,
    allocate,
    allocation_plan,
)
from optimization.replenishment.policy import (
    DEMAND_DISTRIBUTION,
    KEYS,
    PolicyParams,
    SiteInputs,
    plan_replenishment,
)
from optimization.replenishment.shelf import SHELF_CAPACITY
from optimization.replenishment.stocking import STOCKING_OVERRIDES

#: Daily forecast means per series and its demand class (``forecasts`` rows; other
#: columns are ignored).
DAILY_MEANS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "ds": pl.Date,
        "mean": pl.Float64,
        "class": pl.String,
    }
)

#: Daily demand per series, sparse (``models.schemas.DEMAND_HISTORY``): its last day is
#: the series' last sale.
SALES = pl.Schema({"warehouse_id": pl.String, "sku": pl.String, "ds": pl.Date})

#: The DC feeding each forward warehouse, and the warehouse's shelf volume.
NETWORK_SHELF = pl.Schema({"warehouse_id": pl.String, "dc_id": pl.String, "capacity_l": pl.Float64})

#: Free DC stock per DC and SKU.
NETWORK_DC_STOCK = pl.Schema({"dc_id": pl.String, "sku": pl.String, "available": pl.Int64})

#: One row per DC: what its allocation did (the ``allocation_runs`` table less ``run_id``).
ALLOCATION_STATS = pl.Schema(
    {
        "dc_id": pl.String,
        "status": pl.String,
        "lines": pl.Int64,
        "contested": pl.Int64,
        "variables": pl.Int64,
        "constraints": pl.Int64,
        "units_proposed": pl.Int64,
        "units_allocated": pl.Int64,
        "objective": pl.Float64,
        "proposed_value": pl.Float64,
        "upper_bound": pl.Float64,
        "solve_seconds": pl.Float64,
    }
)

#: Transfer-order headers (``transfer_orders`` less ``run_id``, ``created_at``, ``status``).
TRANSFER_ORDERS = pl.Schema(
    {
        "transfer_id": pl.String,
        "from_warehouse_id": pl.String,
        "to_warehouse_id": pl.String,
        "needed_by": pl.Date,
    }
)

#: Transfer-order lines (``transfer_order_lines``).
TRANSFER_LINES = pl.Schema(
    {
        "transfer_id": pl.String,
        "line_no": pl.Int64,
        "sku": pl.String,
        "proposed_quantity": pl.Int64,
        "allocated_quantity": pl.Int64,
        "quantity": pl.Int64,
        "reason": pl.String,
    }
)

#: The plan per series: ``TRANSFER_PLAN`` plus the DC that feeds the warehouse.
NETWORK_PLAN = pl.Schema([*TRANSFER_PLAN.items(), ("dc_id", pl.String())])


DEFAULT_POLICY = PolicyParams()
DEFAULT_ALLOCATION = AllocationParams()


@dataclass(frozen=True)
class NetworkPlan:
    """The night's plan per series (``NETWORK_PLAN``) and one ``ALLOCATION_STATS`` row per DC."""

    plan: pl.DataFrame
    allocations: pl.DataFrame


def demand_distribution(
    forecasts: pl.DataFrame,
    dispersion: pl.DataFrame,
    lead_times: pl.DataFrame,
    review_period_days: int,
    sales: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Mean daily demand over each series' protection period, with its NB1 dispersion,
    its demand class and its last sale.

    Parameters
    ----------
    forecasts
        ``DAILY_MEANS`` over the horizon, starting tomorrow.
    dispersion
        ``warehouse_id, sku, dispersion`` (variance / mean of daily demand);
        a series without a row gets 1 (Poisson).
    lead_times
        ``sku, lead_time_days`` (a SKU without a row: 0).
    review_period_days
        R: the protection period is R + L days.
    sales
        ``SALES`` (the demand history); ``None``: no last sale is known.

    Returns
    -------
    pl.DataFrame
        ``DEMAND_DISTRIBUTION``, one row per series of ``forecasts``. The
        rate is the average of the first R + L daily means (all of them when
        the horizon is shorter).
    """
    first = forecasts["ds"].min()
    if not isinstance(first, date):
        return DEMAND_DISTRIBUTION.to_frame()
    days = (
        forecasts.select(*KEYS, "ds", "mean", "class")
        .join(lead_times.select("sku", "lead_time_days"), on="sku", how="left")
        .with_columns(
            day=(pl.col("ds") - pl.lit(first)).dt.total_days(),
            protection=pl.col("lead_time_days").fill_null(0) + review_period_days,
        )
    )
    horizon = days["day"].max()
    assert isinstance(horizon, int)
    rates = (
        days.filter(pl.col("day") < pl.min_horizontal("protection", pl.lit(horizon + 1)))
        .group_by(KEYS)
        .agg(rate=pl.col("mean").mean(), **{"class": pl.col("class").first()})
    )
    last_sales = (
        pl.DataFrame(schema={**dict.fromkeys(KEYS, pl.String), "last_sale": pl.Date})
        if sales is None
        else sales.group_by(KEYS).agg(last_sale=pl.col("ds").max())
    )
    return (
        rates.join(dispersion.select(*KEYS, "dispersion"), on=KEYS, how="left")
        .join(last_sales, on=KEYS, how="left")
        .with_columns(pl.col("dispersion").fill_null(1.0).clip(lower_bound=1.0))
        .select(DEMAND_DISTRIBUTION.names())
        .cast(DEMAND_DISTRIBUTION)
        .sort(KEYS)
    )


def plan_network(
    demand: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    dc_stock: pl.DataFrame,
    shelf: pl.DataFrame,
    as_of: date,
    targets: pl.DataFrame | None = None,
    policy: PolicyParams = DEFAULT_POLICY,
    allocation: AllocationParams = DEFAULT_ALLOCATION,
    overrides: pl.DataFrame | None = None,
) -> NetworkPlan:
    """Propose for every series and allocate each DC's stock among its warehouses.

    Parameters
    ----------
    demand, positions, skus, targets
        As for :func:`optimization.replenishment.policy.plan_replenishment`.
    dc_stock
        ``NETWORK_DC_STOCK``.
    shelf
        ``NETWORK_SHELF``: every forward warehouse, with its DC.
    as_of
        The planning night.
    policy, allocation
        Policy and allocation parameters.
    overrides
        ``STOCKING_OVERRIDES``: the planners' stocking decisions (``None``: none).

    The allocation moves units in the SKU's sales multiple (its "pack" is the
    multiple): a supplier's case never rounds a transfer.

    Raises
    ------
    ValueError
        If a series' warehouse is not in ``shelf`` (its DC is unknown).
    """
    proposals = propose_network(demand, positions, skus, shelf, as_of, targets, policy, overrides)
    return allocate_network(proposals, dc_stock, shelf, allocation)


def propose_network(
    demand: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    shelf: pl.DataFrame,
    as_of: date,
    targets: pl.DataFrame | None = None,
    policy: PolicyParams = DEFAULT_POLICY,
    overrides: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The proposals of :func:`plan_network`, each with its warehouse's ``dc_id``.

    A warehouse's proposals depend on its own series, shelf and overrides only
    (the range, the levels, a ``unit_fill`` group and the shelf fit are all per
    warehouse), so proposing for a subset of warehouses gives those warehouses'
    rows of the whole: the nightly proposes warehouse by warehouse (on Dask when
    it scales out) and allocates once (:func:`allocate_network`).

    Raises
    ------
    ValueError
        If a series' warehouse is not in ``shelf`` (its DC is unknown).
    """
    sites = SiteInputs(
        shelf=shelf.select(SHELF_CAPACITY.names()).cast(SHELF_CAPACITY),
        overrides=(
            STOCKING_OVERRIDES.to_frame()
            if overrides is None
            else overrides.select(STOCKING_OVERRIDES.names()).cast(STOCKING_OVERRIDES)
        ),
    )
    proposals = plan_replenishment(demand, positions, skus, as_of, targets, policy, sites).join(
        shelf.select("warehouse_id", "dc_id"), on="warehouse_id", how="left"
    )
    orphans = proposals.filter(pl.col("dc_id").is_null())
    if not orphans.is_empty():
        raise ValueError(
            f"warehouse {orphans['warehouse_id'][0]!r} has no DC in the shelf table: "
            "every forward warehouse needs a parent DC"
        )
    return proposals


def allocate_network(
    proposals: pl.DataFrame,
    dc_stock: pl.DataFrame,
    shelf: pl.DataFrame,
    allocation: AllocationParams = DEFAULT_ALLOCATION,
) -> NetworkPlan:
    """Allocate each DC's stock among its warehouses' proposals (:func:`propose_network`'s,
    of every warehouse, in any order)."""
    proposals = proposals.sort(KEYS)
    plans: list[pl.DataFrame] = []
    stats: list[dict[str, object]] = []
    for (dc_id,), part in proposals.group_by("dc_id", maintain_order=True):
        assert isinstance(dc_id, str)
        result = allocate(
            part.drop("dc_id").with_columns(
                pack_size=pl.col("sales_multiple"), moq=pl.col("sales_multiple")
            ),
            dc_stock.filter(pl.col("dc_id") == dc_id).select(DC_STOCK.names()).cast(DC_STOCK),
            shelf.filter(pl.col("dc_id") == dc_id).select(SHELF.names()).cast(SHELF),
            allocation,
        )
        plans.append(allocation_plan(part.drop("dc_id"), result).with_columns(dc_id=pl.lit(dc_id)))
        stats.append(
            {
                "dc_id": dc_id,
                "status": result.status,
                "lines": result.n_lines,
                "contested": result.n_contested,
                "variables": result.n_variables,
                "constraints": result.n_constraints,
                "units_proposed": int(result.lines["proposed_quantity"].sum()),
                "units_allocated": int(result.lines["allocated_quantity"].sum()),
                "objective": result.objective,
                "proposed_value": result.proposed_value,
                "upper_bound": result.upper_bound,
                "solve_seconds": result.solve_seconds,
            }
        )
    plan = (
        pl.concat(plans).select(NETWORK_PLAN.names()).cast(NETWORK_PLAN).sort(KEYS)
        if plans
        else NETWORK_PLAN.to_frame()
    )
    return NetworkPlan(plan, pl.DataFrame(stats, schema=ALLOCATION_STATS))


def transfer_orders(
    plan: pl.DataFrame, run_id: str, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shipments for the night's plan: ``(TRANSFER_ORDERS, TRANSFER_LINES)``.

    Replenishment: a line for every series the allocation gives something (a
    line cut to zero moves nothing, so it is not on an order: its story stays on
    its plan line), grouped into one order per (DC, warehouse, arrival day); the arrival day
    is tomorrow plus the SKU's lead time. Pull-backs: one order per
    (warehouse, DC) due tomorrow. Ids are ``{run_id}/{from}>{to}/{day}``.
    Lines are numbered by SKU within an order.
    """
    tomorrow = as_of + timedelta(days=1)
    replenish = plan.filter(pl.col("allocated_quantity") > 0).select(
        from_warehouse_id="dc_id",
        to_warehouse_id="warehouse_id",
        needed_by=pl.lit(tomorrow) + pl.duration(days=pl.col("lead_time_days")),
        sku="sku",
        proposed_quantity="proposed_quantity",
        allocated_quantity="allocated_quantity",
        quantity="allocated_quantity",
        reason=pl.concat_str("reason", "decision", separator="; "),
    )
    pull_back = plan.filter(pl.col("pull_back_quantity") > 0).select(
        from_warehouse_id="warehouse_id",
        to_warehouse_id="dc_id",
        needed_by=pl.lit(tomorrow),
        sku="sku",
        proposed_quantity="pull_back_quantity",
        allocated_quantity="pull_back_quantity",
        quantity="pull_back_quantity",
        reason="reason",
    )
    lines = (
        pl.concat([replenish, pull_back])
        .with_columns(
            transfer_id=pl.format(
                "{}/{}>{}/{}",
                pl.lit(run_id),
                "from_warehouse_id",
                "to_warehouse_id",
                pl.col("needed_by").dt.strftime("%Y%m%d"),
            )
        )
        .sort("transfer_id", "sku")
        .with_columns(line_no=pl.int_range(1, pl.len() + 1).over("transfer_id"))
    )
    headers = lines.select(TRANSFER_ORDERS.names()).unique("transfer_id").sort("transfer_id")
    return (
        headers.cast(TRANSFER_ORDERS),
        lines.select(TRANSFER_LINES.names()).cast(TRANSFER_LINES),
    )
