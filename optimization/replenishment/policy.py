"""Service-driven order-up-to proposals per (forward warehouse, sku), with pull-backs.

Periodic review every night (R = ``review_period_days``, 1 by default). A
SKU's ``lead_time_days`` counts days beyond the overnight run: 0 means
released tonight and on the shelf before the store opens tomorrow, so the
protection period is R + L days. Demand over it is NB1 with mean
``rate·(R + L)`` and the series' dispersion (see :mod:`optimization.replenishment.service`);
S is the smallest level meeting the series' :class:`ServiceTarget` (per SKU,
else per category, else the default). A ``unit_fill`` target is met by a
group, not a series: the series it covers at one forward warehouse (a
category's, or those of the default target per category; a SKU row's group
is its one series) share one expected unit fill rate, reached at the least
stock value (:func:`optimization.replenishment.unit_fill.unit_fill_levels`, by unit cost), and
each series' S is the quantile of the cycle-service level that comes to; a
do-not-stock series is left out of its group. The proposal raises the inventory
position — on hand + in transit − reserved − committed store orders — to S,
lifted to the MOQ and rounded up to whole packs. DC stock, shelf volume and
budget are applied afterwards by :mod:`optimization.replenishment.allocation`, which
records which of them cut a line.

Slow and dead stock goes back to the DC: a series idle (no movement) for
``dead_after_days`` with stock above S, a position above ``excess_factor·S``,
or a do-not-stock SKU with stock proposes pulling back the free on-hand units
above S.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from optimization.replenishment.service import ServiceTarget, cycle_service, fill_rate, order_up_to
from optimization.replenishment.unit_fill import unit_fill_levels

KEYS = ["warehouse_id", "sku"]

#: Forecast demand distribution per series: mean per day over the coming
#: protection period and the NB1 dispersion index (variance / mean, ≥ 1).
DEMAND_DISTRIBUTION = pl.Schema(
    {"warehouse_id": pl.String, "sku": pl.String, "rate": pl.Float64, "dispersion": pl.Float64}
)

#: Stock per series tonight; ``last_movement`` is the last day stock moved out (null: unknown).
POSITIONS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "on_hand": pl.Int64,
        "in_transit": pl.Int64,
        "reserved": pl.Int64,
        "committed": pl.Int64,
        "last_movement": pl.Date,
    }
)

#: Replenishment master data per SKU; ``weight`` is the allocation's value of a
#: served unit (margin or priority).
SKU_POLICY = pl.Schema(
    {
        "sku": pl.String,
        "category": pl.String,
        "pack_size": pl.Int64,
        "moq": pl.Int64,
        "lead_time_days": pl.Int64,
        "do_not_stock": pl.Boolean,
        "unit_volume_l": pl.Float64,
        "unit_cost": pl.Float64,
        "weight": pl.Float64,
    }
)

#: Planner targets: ``scope`` is ``sku`` or ``category``; a SKU row beats its category's.
#: ``kind`` is one of :data:`optimization.replenishment.service.TARGET_KINDS`.
SERVICE_TARGETS = pl.Schema(
    {"scope": pl.String, "key": pl.String, "kind": pl.String, "level": pl.Float64}
)

#: One row per series: the proposal and everything a planner needs to check it.
PROPOSAL = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "category": pl.String,
        "as_of": pl.Date,
        "action": pl.String,
        "target_kind": pl.String,
        "target_level": pl.Float64,
        "protection_days": pl.Int64,
        "lead_time_days": pl.Int64,
        "rate": pl.Float64,
        "dispersion": pl.Float64,
        "forecast_mean": pl.Float64,
        "order_up_to": pl.Int64,
        "expected_fill_rate": pl.Float64,
        "expected_cycle_service": pl.Float64,
        "on_hand": pl.Int64,
        "in_transit": pl.Int64,
        "reserved": pl.Int64,
        "committed": pl.Int64,
        "inventory_position": pl.Int64,
        "raw_need": pl.Int64,
        "pack_size": pl.Int64,
        "moq": pl.Int64,
        "proposed_quantity": pl.Int64,
        "rounding": pl.String,
        "idle_days": pl.Int64,
        "pull_back_quantity": pl.Int64,
        "unit_volume_l": pl.Float64,
        "unit_cost": pl.Float64,
        "weight": pl.Float64,
        "reason": pl.String,
    }
)

#: Values ``action`` takes.
ACTIONS = ("replenish", "pull_back", "hold", "do_not_stock")

_SKU_DEFAULTS = {
    "category": "",
    "pack_size": 1,
    "moq": 1,
    "lead_time_days": 0,
    "do_not_stock": False,
    "unit_volume_l": 0.0,
    "unit_cost": 0.0,
    "weight": 1.0,
}


@dataclass(frozen=True)
class PolicyParams:
    """Review period, default target and the pull-back thresholds."""

    review_period_days: int = 1
    default_target: ServiceTarget = field(default_factory=ServiceTarget)
    dead_after_days: int = 90
    excess_factor: float = 3.0

    def __post_init__(self) -> None:
        if self.review_period_days < 1:
            raise ValueError(f"review period must be at least 1 day, got {self.review_period_days}")
        if self.dead_after_days < 1:
            raise ValueError(f"dead_after_days must be at least 1, got {self.dead_after_days}")
        if self.excess_factor <= 1:
            raise ValueError(f"excess_factor must be > 1, got {self.excess_factor}")


def resolve_targets(
    skus: pl.DataFrame, targets: pl.DataFrame | None, default: ServiceTarget
) -> pl.DataFrame:
    """Per SKU the target in force: its own row, else its category's, else ``default``.

    Parameters
    ----------
    skus
        ``sku, category`` (e.g. ``SKU_POLICY``).
    targets
        ``SERVICE_TARGETS`` or ``None``.
    default
        The target of SKUs without a row.

    Returns
    -------
    pl.DataFrame
        ``sku, target_kind, target_level, target_scope``; the scope is the
        row's (``sku`` or ``category``) or ``default``.

    Raises
    ------
    ValueError
        For an unknown scope or kind, a level outside (0, 1), or two rows for
        the same (scope, key).
    """
    frame = skus.select("sku", pl.col("category").fill_null(""))
    if targets is None or targets.is_empty():
        return frame.select(
            "sku",
            target_kind=pl.lit(default.kind),
            target_level=pl.lit(default.level),
            target_scope=pl.lit("default"),
        )
    for row in targets.iter_rows(named=True):
        if row["scope"] not in ("sku", "category"):
            raise ValueError(f"target scope must be 'sku' or 'category', got {row['scope']!r}")
        ServiceTarget(row["kind"], row["level"])  # validates kind and level
    duplicated = targets.filter(pl.struct("scope", "key").is_duplicated())
    if not duplicated.is_empty():
        raise ValueError(f"two targets for {duplicated.row(0)[:2]}")
    by_sku = targets.filter(pl.col("scope") == "sku").select(
        sku="key", kind_sku="kind", level_sku="level"
    )
    by_cat = targets.filter(pl.col("scope") == "category").select(
        category="key", kind_cat="kind", level_cat="level"
    )
    return (
        frame.join(by_sku, on="sku", how="left")
        .join(by_cat, on="category", how="left")
        .select(
            "sku",
            target_kind=pl.coalesce("kind_sku", "kind_cat", pl.lit(default.kind)),
            target_level=pl.coalesce("level_sku", "level_cat", pl.lit(default.level)),
            target_scope=pl.when(pl.col("kind_sku").is_not_null())
            .then(pl.lit("sku"))
            .when(pl.col("kind_cat").is_not_null())
            .then(pl.lit("category"))
            .otherwise(pl.lit("default")),
        )
    )


def plan_replenishment(
    demand: pl.DataFrame,
    positions: pl.DataFrame,
    skus: pl.DataFrame,
    as_of: date,
    targets: pl.DataFrame | None = None,
    params: PolicyParams = PolicyParams(),
) -> pl.DataFrame:
    """Propose tonight's replenishment and pull-backs for every series.

    Parameters
    ----------
    demand
        ``DEMAND_DISTRIBUTION``. A series with stock but no row has zero demand.
    positions
        ``POSITIONS``. A series without a row has no stock.
    skus
        ``SKU_POLICY``. A SKU without a row gets packs of 1, MOQ 1, lead time
        0, no volume, cost or flag, weight 1.
    as_of
        The planning night (idle days are counted to it).
    targets
        ``SERVICE_TARGETS`` (``None``: ``params.default_target`` everywhere).
    params
        Review period, default target, pull-back thresholds.

    Returns
    -------
    pl.DataFrame
        ``PROPOSAL``, one row per series in ``demand`` or ``positions``,
        sorted by warehouse and sku. ``proposed_quantity`` is before DC stock
        and shelf limits (see :func:`optimization.replenishment.allocation.allocate`).
    """
    series = (
        demand.select(KEYS)
        .vstack(positions.select(KEYS))
        .unique()
        .join(demand, on=KEYS, how="left")
        .join(positions, on=KEYS, how="left")
        .join(skus, on="sku", how="left")
        .with_columns(
            pl.col("rate").fill_null(0.0).clip(lower_bound=0.0),
            pl.col("dispersion").fill_null(1.0).clip(lower_bound=1.0),
            pl.col("on_hand", "in_transit", "reserved", "committed").fill_null(0),
            *(pl.col(name).fill_null(value) for name, value in _SKU_DEFAULTS.items()),
        )
    )
    series = series.join(
        resolve_targets(series.select("sku", "category").unique(), targets, params.default_target),
        on="sku",
        how="left",
    ).with_columns(
        protection_days=pl.col("lead_time_days") + params.review_period_days,
        inventory_position=pl.col("on_hand")
        + pl.col("in_transit")
        - pl.col("reserved")
        - pl.col("committed"),
        idle_days=(pl.lit(as_of) - pl.col("last_movement")).dt.total_days(),
    )
    series = series.with_columns(
        forecast_mean=pl.col("rate") * pl.col("protection_days"),
        lead_mean=pl.col("rate") * pl.col("lead_time_days"),
        # What a unit_fill target groups by at each warehouse (see _with_levels).
        target_group=pl.when(pl.col("target_scope") == "sku")
        .then(pl.col("sku"))
        .otherwise(pl.col("category")),
    )
    series = _with_levels(series)
    series = _with_quantities(series, params)
    return (
        series.with_columns(as_of=pl.lit(as_of), reason=_reason())
        .select(PROPOSAL.names())
        .cast(PROPOSAL)
        .sort(KEYS)
    )


def _with_levels(series: pl.DataFrame) -> pl.DataFrame:
    """S and its expected service per series; ``unit_fill`` targets per group.

    A series with a ``unit_fill`` target (and not do-not-stock) is in the group
    (warehouse, scope, key): key the SKU for a SKU row, else the category.
    ``group_cycle_service`` is the cycle-service level its S came to and
    ``group_fill`` the group's expected unit fill (null for other series).
    """
    mu = series["forecast_mean"].to_numpy()
    phi = series["dispersion"].to_numpy()
    lead = series["lead_mean"].to_numpy()
    level = series["target_level"].to_numpy()
    dns = series["do_not_stock"].to_numpy()
    grouped = (series["target_kind"] == "unit_fill").to_numpy() & ~dns
    alone = ~grouped
    s = np.zeros(series.height)
    use_fill = (series["target_kind"] == "fill_rate").to_numpy()
    s[alone] = order_up_to(mu[alone], phi[alone], level[alone], use_fill[alone], lead[alone])
    cycle_level = np.full(series.height, np.nan)
    group_fill = np.full(series.height, np.nan)
    if grouped.any():
        codes = (
            series.filter(grouped)
            .select(pl.struct("warehouse_id", "target_scope", "target_group").rank("dense"))
            .to_series()
            .to_numpy()
        )
        levels = unit_fill_levels(
            mu[grouped],
            lead[grouped],
            phi[grouped],
            series["unit_cost"].to_numpy()[grouped],
            level[grouped],
            codes,
        )
        s[grouped] = levels.order_up_to
        cycle_level[grouped] = levels.cycle_service
        group_fill[grouped] = levels.group_fill
    s = np.where(dns, 0.0, s)
    return series.with_columns(
        order_up_to=pl.Series(s).cast(pl.Int64),
        expected_fill_rate=pl.Series(fill_rate(s, mu, phi, lead)),
        expected_cycle_service=pl.Series(cycle_service(s, mu, phi)),
        group_cycle_service=pl.Series(cycle_level).fill_nan(None),
        group_fill=pl.Series(group_fill).fill_nan(None),
    )


def _with_quantities(series: pl.DataFrame, params: PolicyParams) -> pl.DataFrame:
    dns = pl.col("do_not_stock")
    need = (pl.col("order_up_to") - pl.col("inventory_position")).clip(lower_bound=0)
    lifted = pl.when(need > 0).then(pl.max_horizontal(need, "moq")).otherwise(0)
    packs = (lifted + pl.col("pack_size") - 1) // pl.col("pack_size")
    free = (pl.col("on_hand") - pl.col("reserved") - pl.col("committed")).clip(lower_bound=0)
    excess = pl.min_horizontal(free, pl.col("inventory_position") - pl.col("order_up_to"))
    idle = pl.col("idle_days").fill_null(0) >= params.dead_after_days
    far_above = (pl.col("order_up_to") > 0) & (
        pl.col("inventory_position") > params.excess_factor * pl.col("order_up_to")
    )
    pull = pl.when(dns | idle | far_above).then(excess.clip(lower_bound=0)).otherwise(0)
    series = series.with_columns(
        raw_need=pl.when(dns).then(0).otherwise(need),
        proposed_quantity=pl.when(dns).then(0).otherwise(packs * pl.col("pack_size")),
        pull_back_quantity=pull,
        pull_back_why=pl.when(dns)
        .then(pl.lit("do-not-stock"))
        .when(idle)
        .then(pl.format("no movement for {} d", "idle_days"))
        .otherwise(pl.format("position far above S (> {}·S)", pl.lit(params.excess_factor))),
    )
    rounding = (
        pl.when(pl.col("proposed_quantity") == pl.col("raw_need"))
        .then(pl.lit("none"))
        .when(pl.col("raw_need") < pl.col("moq"))
        .then(pl.lit("moq"))
        .otherwise(pl.lit("pack"))
    )
    action = (
        pl.when(pl.col("proposed_quantity") > 0)
        .then(pl.lit("replenish"))
        .when(pl.col("pull_back_quantity") > 0)
        .then(pl.lit("pull_back"))
        .when(dns)
        .then(pl.lit("do_not_stock"))
        .otherwise(pl.lit("hold"))
    )
    return series.with_columns(rounding=rounding, action=action)


def _reason() -> pl.Expr:
    group = pl.format(
        "{} × {}",
        "warehouse_id",
        pl.when(pl.col("target_group") == "").then(pl.lit("no category")).otherwise("target_group"),
    )
    kind = (
        pl.when(pl.col("target_kind") != "unit_fill")
        .then(
            pl.format(
                "{} {}",
                pl.col("target_kind").str.replace("_", " "),
                pl.col("target_level").round(3),
            )
        )
        .when(pl.col("group_cycle_service").is_null())
        .then(
            pl.format(
                "unit fill {} ({}; do-not-stock: not in it)", pl.col("target_level").round(3), group
            )
        )
        .otherwise(
            pl.format(
                "unit fill {} ({}, expects {}) → cycle service {} here",
                pl.col("target_level").round(3),
                group,
                pl.col("group_fill").round(3),
                pl.col("group_cycle_service").round(3),
            )
        )
    )
    target = pl.format(
        "{} → S {} for NB1 demand mean {} (φ {}) over {} d; expects fill {}, cycle {}",
        kind,
        "order_up_to",
        pl.col("forecast_mean").round(2),
        pl.col("dispersion").round(2),
        "protection_days",
        pl.col("expected_fill_rate").round(3),
        pl.col("expected_cycle_service").round(3),
    )
    position = pl.format(
        "position {} = on hand {} + in transit {} − reserved {} − committed {}",
        "inventory_position",
        "on_hand",
        "in_transit",
        "reserved",
        "committed",
    )
    rounded = (
        pl.when(pl.col("rounding") == "moq")
        .then(pl.format(", lifted to MOQ {} in packs of {}", "moq", "pack_size"))
        .when(pl.col("rounding") == "pack")
        .then(pl.format(", rounded up to packs of {}", "pack_size"))
        .otherwise(pl.lit(""))
    )
    decision = (
        pl.when(pl.col("action") == "replenish")
        .then(pl.format("need {}{}: propose {}", "raw_need", rounded, "proposed_quantity"))
        .when(pl.col("action") == "pull_back")
        .then(pl.format("pull back {} to the DC: {}", "pull_back_quantity", "pull_back_why"))
        .when(pl.col("action") == "do_not_stock")
        .then(pl.lit("do-not-stock: nothing proposed"))
        .otherwise(pl.lit("position covers S: nothing proposed"))
    )
    return pl.concat_str(target, position, decision, separator="; ")
