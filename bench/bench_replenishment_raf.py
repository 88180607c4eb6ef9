"""Replenishment policies on the RAF spare-parts data (5,000 items, 84 months), by simulation.

Protocol (issue 4): per item, replay the 12-month hold-out (1996–2001 train,
2002 scored) with a 1-month review period and a 1-month lead time (RAF's own
multi-month lead times are ignored): an order placed at the end of month t
arrives at the start of month t + 2, so each order protects two months.
Unmet demand is lost. Starting stock is each policy's own S; items without
demand in the training years are left out. RAF has no prices: inventory is
counted in units (unit value 1).

The demand distribution per item comes from the training months only,
frozen over the hold-out:

* ``--forecast engine`` (default): the project's forecasting engine
  (``models.engine.forecast``, ``freq="MS"``, season 12, horizon 14): monthly
  means and the series' NB1 dispersion for stocking (``stock_dispersion``,
  as the nightly plans with it; ``--dispersion raw``, default), or the
  forecast quantiles' dispersion times the engine's calibration scale at level 95 for the
  series' (class, model) (``--dispersion calibrated``: that scale is tuned
  for one-month pinball loss at one level and is 0.5 for most models on RAF,
  which halves the variance the fill-rate maths sees);
* ``--forecast simple``: a flat mean of the last 24 training months and the
  shrunk variance-to-mean ratio of those months (``models.distributions``).

Policies, each run over a range of settings to trace its frontier:

* ``NB1 fill rate`` — this project's policy: S from the NB1 protection-period
  distribution and the fill-rate loss function (the default target kind);
* ``NB1 cycle service`` — the same distribution, S the α-quantile;
* ``NB1 unit fill`` — the planners' ``unit_fill`` kind with all items one
  group: the target is the expected fill of all units, met at the least
  stock (``optimization.evaluation.level_rules.network_fill_levels``, unit value 1);
* ``normal (loss fn)`` — same mean and variance, normal approximation with the
  normal loss function for the fill-rate target (baseline b);
* ``normal (z·σ)`` — the classic safety stock μ + z·σ, z = Φ⁻¹(α);
* ``min/max`` — min = ⌈cover·d̄·2⌉, max = min + ⌈d̄⌉ from the trailing
  12-month average d̄ (baseline a; settings are the cover).

Prints Markdown tables: the runs at nominal targets, and the average
inventory each policy needs for a given *achieved* fill rate — in units over
all items, and averaged per item — read off its service-vs-inventory
frontier (``optimization.evaluation.frontier``).

    .venv/bin/python bench/bench_replenishment_raf.py [--data PATH] [--forecast engine|simple]
        [--dispersion raw|calibrated]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from _report import frontier_point, markdown

from models.distributions import DispersionParams, history_dispersion
from models.engine import forecast
from models.params import ForecastParams
from optimization.evaluation.frontier import FRONTIER_POINTS, inventory_at_service
from optimization.evaluation.level_rules import (
    min_max_levels,
    network_fill_levels,
    normal_levels,
    policy_levels,
)
from optimization.evaluation.simulation import SimulationParams, SimulationResult, simulate
from optimization.replenishment.service import ServiceTarget

HOLDOUT = date(2002, 1, 1)
MONTHS = 12
LEAD = 1
TARGETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995)
COVERS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
SERVICE_GRID = tuple(round(x, 2) for x in np.arange(0.30, 0.991, 0.05))
SHOWN_TARGETS = (0.90, 0.95, 0.98)
SHOWN_COVERS = (1.0, 2.0, 3.0)
REFERENCE = "NB1 fill rate"
SIM = SimulationParams(lead_periods=LEAD, periods_per_year=12, dead_after_periods=3)

LevelRule = Callable[[np.ndarray, np.ndarray, np.ndarray, ServiceTarget], tuple]


def load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, pl.DataFrame]:
    """Item ids, training and hold-out demand matrices, and the training frame."""
    data = pl.read_parquet(path).with_columns(pl.col("y").round().cast(pl.Int64))
    train = data.filter(pl.col("ds") < HOLDOUT)
    keep = train.group_by("unique_id").agg(pl.col("y").sum()).filter(pl.col("y") > 0)
    data = data.join(keep.select("unique_id"), on="unique_id", how="semi").sort("unique_id", "ds")
    ids = data["unique_id"].unique(maintain_order=True).to_list()
    wide = data["y"].to_numpy().reshape(len(ids), -1)
    n_train = train["ds"].n_unique()
    train = train.join(keep.select("unique_id"), on="unique_id", how="semi")
    return ids, wide[:, :n_train], wide[:, n_train : n_train + MONTHS], train


def engine_distribution(
    train: pl.DataFrame, ids: list[str], calibrated: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly means ``(items, 14)`` and dispersion per item from the engine."""
    result = forecast(
        train.with_columns(pl.col("y").cast(pl.Float64)),
        ForecastParams(freq="MS", season_length=12, horizon=MONTHS + 2),
    )
    means = (
        result.forecasts.sort("unique_id", "ds")
        .select("unique_id", "mean")
        .join(pl.DataFrame({"unique_id": ids}), on="unique_id", how="semi")
    )
    cal = result.selection.calibration.filter(pl.col("level") == 95)
    if not calibrated:
        cal = cal.with_columns(scale=pl.lit(1.0))
    scale = (
        result.series.join(cal.select("class", "model", "scale"), on=["class", "model"], how="left")
        .join(
            cal.filter(pl.col("class") == "*").select("model", pooled="scale"),
            on="model",
            how="left",
        )
        .select(
            "unique_id",
            dispersion=(
                pl.col("dispersion" if calibrated else "stock_dispersion")
                * pl.coalesce("scale", "pooled", pl.lit(1.0))
            ).clip(lower_bound=1.0),
        )
    )
    order = pl.DataFrame({"unique_id": ids})
    mu = order.join(means, on="unique_id", how="left", maintain_order="left")["mean"]
    phi = order.join(scale, on="unique_id", how="left", maintain_order="left")["dispersion"]
    return np.clip(mu.to_numpy().reshape(len(ids), -1), 0, None), phi.fill_null(1.0).to_numpy()


def simple_distribution(train: pl.DataFrame, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Flat mean of the last 24 training months and their shrunk dispersion."""
    recent = train.sort("unique_id", "ds").group_by("unique_id", maintain_order=True).tail(24)
    order = pl.DataFrame({"unique_id": ids})
    mean = order.join(
        recent.group_by("unique_id").agg(pl.col("y").mean()), on="unique_id", how="left"
    )["y"].to_numpy()
    phi = order.join(
        history_dispersion(
            recent.with_columns(pl.col("y").cast(pl.Float64)),
            DispersionParams(window=24, prior_demands=4.0),
        ),
        on="unique_id",
        how="left",
        maintain_order="left",
    )["dispersion"]
    return np.repeat(mean[:, None], MONTHS + 2, axis=1), phi.fill_null(1.0).to_numpy()


def unit_fill_rule(
    lead: np.ndarray, review: np.ndarray, phi: np.ndarray, target: ServiceTarget
) -> tuple[np.ndarray, np.ndarray]:
    """``network_fill_levels`` with every item in one group and unit value 1."""
    return network_fill_levels(lead, review, phi, np.ones(lead.shape[0]), target.level)


def run_rule(
    rule: LevelRule,
    target: ServiceTarget,
    ids: list[str],
    demand: np.ndarray,
    mu: np.ndarray,
    phi: np.ndarray,
) -> SimulationResult:
    """Replay with levels from ``rule``; review t protects months t + 1 (lead) and t + 2."""
    reorder, up_to = rule(mu[:, 1 : MONTHS + 1], mu[:, 2 : MONTHS + 2], phi, target)
    _, first = rule(mu[:, :1], mu[:, 1:2], phi, target)
    return simulate(
        ids, demand, reorder, up_to, np.ones(len(ids)), SIM, initial_on_hand=first[:, 0]
    )


def main() -> None:
    """Run every policy over its settings and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/raf.parquet"))
    parser.add_argument("--forecast", choices=("engine", "simple"), default="engine")
    parser.add_argument("--dispersion", choices=("raw", "calibrated"), default="raw")
    args = parser.parse_args()

    started = time.perf_counter()
    ids, history, demand, train = load(args.data)
    if args.forecast == "engine":
        mu, phi = engine_distribution(train, ids, args.dispersion == "calibrated")
    else:
        mu, phi = simple_distribution(train, ids)
    forecast_seconds = time.perf_counter() - started

    rules: dict[str, tuple[LevelRule, str]] = {
        "NB1 fill rate": (policy_levels, "fill_rate"),
        "NB1 cycle service": (policy_levels, "cycle_service"),
        "NB1 unit fill": (unit_fill_rule, "fill_rate"),
        "normal (loss fn)": (normal_levels, "fill_rate"),
        "normal (z·σ)": (normal_levels, "cycle_service"),
    }
    points: list[tuple[str, float, float, float, float]] = []
    item_points: list[tuple[str, float, float, float, float]] = []
    shown: list[dict[str, object]] = []
    sim_started = time.perf_counter()
    for name, (rule, kind) in rules.items():
        for level in TARGETS:
            result = run_rule(rule, ServiceTarget(kind, level), ids, demand, mu, phi)  # type: ignore[arg-type]
            points.append(frontier_point(name, level, result))
            item_points.append(frontier_point(name, level, result, per_item=True))
            if level in SHOWN_TARGETS:
                shown.append(_row(name, f"target {level:.2f}", result))
    for cover in COVERS:
        low, high = min_max_levels(history, demand, window=12, lead_periods=LEAD, cover=cover)
        # The first morning's stock: the max from the training months alone.
        _, first = min_max_levels(history[:, :-1], history[:, -1:], 12, LEAD, cover)
        result = simulate(
            ids, demand, low, high, np.ones(len(ids)), SIM, initial_on_hand=first[:, 0]
        )
        points.append(frontier_point("min/max", cover, result))
        item_points.append(frontier_point("min/max", cover, result, per_item=True))
        if cover in SHOWN_COVERS:
            shown.append(_row("min/max", f"cover {cover:g}", result))
    sim_seconds = time.perf_counter() - sim_started

    frame = pl.DataFrame(points, schema=FRONTIER_POINTS, orient="row")
    print(
        f"RAF: {len(ids)} items with training demand, hold-out {MONTHS} months, "
        f"R = 1 month, L = {LEAD} month, lost sales; forecast `{args.forecast}`, "
        f"dispersion `{args.dispersion}`, "
        f"({forecast_seconds:.0f} s), {len(points)} simulations ({sim_seconds:.1f} s); "
        f"{platform.python_version()} on {platform.machine()}.\n"
    )
    print("### Runs at nominal settings\n")
    print(markdown(pl.DataFrame(shown)))
    print("\n### Average inventory (units) at equal achieved fill rate, all units (frontier)\n")
    print(markdown(_equal_service(frame)))
    items = pl.DataFrame(item_points, schema=FRONTIER_POINTS, orient="row")
    print("\n### Average inventory (units) at equal achieved item-average fill rate (frontier)\n")
    print(markdown(_equal_service(items)))
    print("\n### `NB1 unit fill` against its targets (all units)\n")
    print(markdown(_targets(frame, "NB1 unit fill")))


def _targets(points: pl.DataFrame, policy: str) -> pl.DataFrame:
    """Per target: the achieved unit fill and each baseline's inventory at that fill."""
    ours = points.filter(pl.col("policy") == policy).sort("setting")
    rows = []
    for level, achieved, inventory in ours.select(
        "setting", "fill_rate", "avg_inventory_value"
    ).iter_rows():
        row: dict[str, object] = {
            "target": f"{level:.3f}",
            "achieved": f"{achieved:.3f}",
            "within ±0.01": "yes" if abs(achieved - level) <= 0.01 else "no",
            "inventory": f"{inventory:,.0f}",
        }
        for baseline in ("min/max", "normal (loss fn)", "NB1 fill rate"):
            at = inventory_at_service(points.filter(pl.col("policy") == baseline), [achieved])
            value = at["avg_inventory_value"][0] if at.height else None
            row[baseline] = (
                "never reaches it" if value is None else f"{value:,.0f} ({value / inventory:.2f}×)"
            )
        rows.append(row)
    return pl.DataFrame(rows)


def _row(name: str, setting: str, result: SimulationResult) -> dict[str, object]:
    s = result.summary
    return {
        "policy": name,
        "setting": setting,
        "fill rate (units)": f"{s.fill_rate:.3f}",
        "fill rate (item avg)": f"{s.item_fill_rate:.3f}",
        "cycle service": f"{s.cycle_service:.3f}",
        "stock-out item-months": s.stockout_periods,
        "avg inventory (units)": f"{s.avg_inventory_value:,.0f}",
        "turns / year": f"{s.turns:.2f}",
        "dead stock (units, >3 months idle)": f"{s.dead_stock_value:,.0f}",
    }


def _equal_service(points: pl.DataFrame) -> pl.DataFrame:
    table = inventory_at_service(points, SERVICE_GRID)
    # Only the levels that the reference and at least one baseline reach.
    reached = (
        table.drop_nulls()
        .group_by("service")
        .agg(n=pl.len(), ref=(pl.col("policy") == REFERENCE).any())
    )
    keep = reached.filter(pl.col("ref") & (pl.col("n") >= 2))["service"]
    table = table.filter(pl.col("service").is_in(keep.implode()))
    reference = table.filter(pl.col("policy") == REFERENCE).select(
        "service", reference="avg_inventory_value"
    )
    table = table.join(reference, on="service").with_columns(
        ratio=pl.col("avg_inventory_value") / pl.col("reference")
    )
    rows = []
    for (policy,), part in table.group_by("policy", maintain_order=True):
        row: dict[str, object] = {"policy": policy}
        for service, value, ratio in part.select(
            "service", "avg_inventory_value", "ratio"
        ).iter_rows():
            cell = "—" if value is None else f"{value:,.0f}"
            if value is not None and policy != REFERENCE:
                cell += f" ({ratio:.2f}×)"
            row[f"fill {service:.2f}"] = cell
        rows.append(row)
    return pl.DataFrame(rows)


if __name__ == "__main__":
    main()
