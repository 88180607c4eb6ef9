"""Tonight's what-if for planners: the last weeks replayed under each policy and target.

For every forward warehouse, the demand of the last ``days`` days is replayed
day by day (:func:`optimization.evaluation.simulation.simulate`: lost sales, next-morning
receipts after the SKU's lead time, packs) under

* ``nb1_fill_rate`` — this project's policy at each target of ``targets``;
* ``nb1_cycle_service`` — the same demand model, S the quantile;
* ``nb1_unit_fill`` — the planners' ``unit_fill`` kind: the target is the
  expected unit fill of each category at the warehouse, met at the least
  stock value (:func:`optimization.evaluation.level_rules.network_fill_levels`; one group
  when the plan has no ``category``);
* ``normal_fill_rate`` — the same mean and variance with the classic normal
  approximation (baseline b of issue 4);
* ``min_max`` — min/max from the trailing 28-day average demand, at each
  cover of ``covers`` (baseline a).

The demand model is tonight's (rate and dispersion from the plan), held
fixed over the replayed days: the question answered is "had this policy and
this target been in force, what service and what stock would the last weeks
have given?" — a frontier of achieved service against inventory value per
warehouse (``optimization.evaluation.frontier``) for choosing targets with eyes open.
It is in-sample (tonight's forecast has seen those days); the out-of-sample
comparison is ``bench/bench_replenishment_network.py``.

To bound the night, a warehouse with more than ``max_series`` stocked series
is replayed on a fixed random sample of them (the same every night for the
same series); rates are unaffected, and inventory and dead-stock values are
scaled up to the whole warehouse (``series`` is the warehouse's count,
``sampled`` the replayed one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from optimization.evaluation.level_rules import (
    min_max_levels,
    network_fill_levels,
    normal_levels,
    policy_levels,
)
from optimization.evaluation.simulation import SimulationResult, simulate_leads
from optimization.replenishment.service import ServiceTarget

#: One row per warehouse, policy and setting.
REPLAY_RESULTS = pl.Schema(
    {
        "warehouse_id": pl.String,
        "policy": pl.String,
        "setting": pl.Float64,
        "days": pl.Int64,
        "series": pl.Int64,
        "sampled": pl.Int64,
        "demand": pl.Int64,
        "served": pl.Int64,
        "fill_rate": pl.Float64,
        "item_fill_rate": pl.Float64,
        "cycle_service": pl.Float64,
        "stockout_days": pl.Int64,
        "avg_inventory_value": pl.Float64,
        "turns": pl.Float64,
        "dead_stock_value": pl.Float64,
    }
)

POLICIES = ("nb1_fill_rate", "nb1_cycle_service", "nb1_unit_fill", "normal_fill_rate", "min_max")

#: Trailing days the min/max rule averages.
MIN_MAX_WINDOW = 28


@dataclass(frozen=True)
class ReplayParams:
    """Days replayed, the targets of the service policies and the min/max covers."""

    days: int = 56
    targets: Sequence[float] = (0.80, 0.90, 0.95, 0.98, 0.995)
    covers: Sequence[float] = (1.0, 2.0, 3.0, 5.0)
    review_period_days: int = 1
    max_series: int = 1_500

    def __post_init__(self) -> None:
        if self.days < 7:
            raise ValueError(f"replay at least 7 days, got {self.days}")
        if not self.targets or not all(0 < t < 1 for t in self.targets):
            raise ValueError(f"targets must lie in (0, 1), got {list(self.targets)}")
        if not self.covers or any(c < 0 for c in self.covers):
            raise ValueError(f"covers must be >= 0, got {list(self.covers)}")
        if self.max_series < 1:
            raise ValueError(f"max_series must be >= 1, got {self.max_series}")


def replay_policies(
    history: pl.DataFrame,
    plan: pl.DataFrame,
    as_of: date,
    params: ReplayParams = ReplayParams(),
) -> pl.DataFrame:
    """Replay the last ``params.days`` days per warehouse under each policy and setting.

    Parameters
    ----------
    history
        ``warehouse_id, sku, ds, y``: daily demand, sparse (zero days implicit).
    plan
        The night's plan (``optimization.replenishment.planning.NETWORK_PLAN`` or at least
        ``warehouse_id, sku, action, rate, dispersion, lead_time_days,
        pack_size, unit_cost``). Series whose action is ``do_not_stock`` are
        left out.
    as_of
        The last replayed day.
    params
        Days, targets, covers, review period.

    Returns
    -------
    pl.DataFrame
        ``REPLAY_RESULTS``; a warehouse without demand in the window has no rows.
    """
    parts = (
        replay_warehouse(replay, as_of, params)
        for replay in warehouse_replays(history, plan, as_of, params)
    )
    return gather_replays(parts)


def gather_replays(parts: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """:func:`replay_warehouse`'s frames as one ``REPLAY_RESULTS``, in the order given."""
    return pl.concat([REPLAY_RESULTS.to_frame(), *parts])


@dataclass(frozen=True)
class WarehouseReplay:
    """One forward warehouse's part of the replay: the series replayed and their sales.

    ``series`` has the plan's columns the replay reads (``category`` ``"all"``
    when the plan has none); above ``ReplayParams.max_series`` it is a stable
    sample of the ``stocked`` series. ``sales`` is their demand over the
    replayed days and the min/max window before them.
    """

    warehouse_id: str
    series: pl.DataFrame
    sales: pl.DataFrame
    stocked: int


def warehouse_replays(
    history: pl.DataFrame,
    plan: pl.DataFrame,
    as_of: date,
    params: ReplayParams = ReplayParams(),
) -> Iterator[WarehouseReplay]:
    """What :func:`replay_warehouse` needs, one forward warehouse at a time, in their order.

    Takes :func:`replay_policies`' arguments. The sample is drawn here, where the
    plan is, so that where each warehouse is replayed cannot change it.
    """
    first = as_of - timedelta(days=params.days - 1)
    before = first - timedelta(days=MIN_MAX_WINDOW)
    columns = ["warehouse_id", "sku", "rate", "dispersion", "lead_time_days", "pack_size"]
    series = plan.filter(pl.col("action") != "do_not_stock").select(
        *columns,
        "unit_cost",
        category=pl.col("category") if "category" in plan.columns else pl.lit("all"),
    )
    window = history.filter(pl.col("ds").is_between(before, as_of)).join(
        series.select("warehouse_id", "sku"), on=["warehouse_id", "sku"], how="semi"
    )
    by_warehouse = window.partition_by("warehouse_id", as_dict=True)
    for (warehouse,), stocked in series.sort("warehouse_id", "sku").group_by(
        "warehouse_id", maintain_order=True
    ):
        assert isinstance(warehouse, str)
        part = stocked
        if stocked.height > params.max_series:
            # A stable sample: the series with the smallest hash of their sku.
            part = stocked.sort(pl.col("sku").hash(seed=7)).head(params.max_series).sort("sku")
        sales = by_warehouse.get((warehouse,), window.clear())
        yield WarehouseReplay(
            warehouse_id=warehouse,
            series=part,
            sales=sales.join(part.select("sku"), on="sku", how="semi"),
            stocked=stocked.height,
        )


def replay_warehouse(
    replay: WarehouseReplay, as_of: date, params: ReplayParams = ReplayParams()
) -> pl.DataFrame:
    """One forward warehouse's rows of :func:`replay_policies`.

    Parameters
    ----------
    replay
        As :func:`warehouse_replays` yields it.
    as_of, params
        As for :func:`replay_policies`.

    Returns
    -------
    pl.DataFrame
        ``REPLAY_RESULTS``; empty when the warehouse has no demand in the replayed days.
    """
    first = as_of - timedelta(days=params.days - 1)
    before = first - timedelta(days=MIN_MAX_WINDOW)
    part, sales = replay.series, replay.sales
    scale = replay.stocked / part.height
    if sales.filter(pl.col("ds") >= first).is_empty():
        return REPLAY_RESULTS.to_frame()
    past, demand = _dense(part, sales, before, first, as_of)
    rows: list[dict[str, object]] = []
    for policy, setting, result in _runs(part, past, demand, params):
        s = result.summary
        rows.append(
            {
                "warehouse_id": replay.warehouse_id,
                "policy": policy,
                "setting": setting,
                "days": params.days,
                "series": replay.stocked,
                "sampled": part.height,
                "demand": s.demand,
                "served": s.served,
                "fill_rate": s.fill_rate,
                "item_fill_rate": s.item_fill_rate,
                "cycle_service": s.cycle_service,
                "stockout_days": s.stockout_periods,
                "avg_inventory_value": s.avg_inventory_value * scale,
                "turns": s.turns,
                "dead_stock_value": s.dead_stock_value * scale,
            }
        )
    return pl.DataFrame(rows, schema=REPLAY_RESULTS)


def _dense(
    part: pl.DataFrame, sales: pl.DataFrame, before: date, first: date, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """``(past, demand)`` matrices: the min/max window before ``first``, and the replayed days."""
    index = {sku: i for i, sku in enumerate(part["sku"])}
    days = (as_of - before).days + 1
    full = np.zeros((part.height, days), dtype=np.int64)
    rows = np.array([index[s] for s in sales["sku"]], dtype=np.int64)
    cols = np.array([(d - before).days for d in sales["ds"]], dtype=np.int64)
    np.add.at(full, (rows, cols), np.rint(sales["y"].to_numpy()).astype(np.int64))
    split = (first - before).days
    return full[:, :split], full[:, split:]


def _runs(
    part: pl.DataFrame, past: np.ndarray, demand: np.ndarray, params: ReplayParams
) -> list[tuple[str, float, SimulationResult]]:
    rate = part["rate"].to_numpy()
    phi = part["dispersion"].to_numpy()
    lead = part["lead_time_days"].to_numpy()
    shape = demand.shape

    def run(low: np.ndarray, high: np.ndarray) -> SimulationResult:
        return simulate_leads(
            part["sku"].to_list(),
            demand,
            np.broadcast_to(low, shape),
            np.broadcast_to(high, shape),
            part["unit_cost"].to_numpy(),
            lead,
            pack_size=part["pack_size"].to_numpy(),
        )

    # The demand model is the same every day: levels per series, broadcast over the days.
    lead_mean = (rate * lead)[:, None]
    review_mean = (rate * params.review_period_days)[:, None]
    categories = part.select(pl.col("category").rank("dense")).to_series().to_numpy() - 1
    out: list[tuple[str, float, SimulationResult]] = []
    for level in params.targets:
        for policy, kind, rule in (
            ("nb1_fill_rate", "fill_rate", policy_levels),
            ("nb1_cycle_service", "cycle_service", policy_levels),
            ("normal_fill_rate", "fill_rate", normal_levels),
        ):
            target = ServiceTarget(kind, level)  # type: ignore[arg-type]
            out.append((policy, level, run(*rule(lead_mean, review_mean, phi, target))))
        grouped = network_fill_levels(
            lead_mean, review_mean, phi, part["unit_cost"].to_numpy(), level, categories
        )
        out.append(("nb1_unit_fill", level, run(*grouped)))
    for cover in params.covers:
        low = np.empty(shape, dtype=np.int64)
        high = np.empty(shape, dtype=np.int64)
        for days in np.unique(lead):
            rows = lead == days
            low[rows], high[rows] = min_max_levels(
                past[rows], demand[rows], MIN_MAX_WINDOW, int(days), cover,
                params.review_period_days,
            )  # fmt: skip
        out.append(("min_max", cover, run(low, high)))
    return out
