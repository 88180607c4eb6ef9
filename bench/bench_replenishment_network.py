"""Replenishment policies on a generated network (issue 4, medium network), by simulation.

Protocol (issue 4, first bullet): the database's last demand day is the
as-of day; the last ``--holdout`` days (91, 13 weeks) are scored and the
night before them is the *split night*. What the nightly run would have
read on the split night is the training data: ``warehouse.demand.daily_demand``
over ``--history-days`` (365, the nightly's window) ending that night, turned
into per-warehouse series by ``pipelines.demand_series.warehouse_series``
(with the stock-out censoring of ``pipelines.demand_series.censored_days``).
Every (forward warehouse, sku) series with demand in that window is scored;
do-not-stock SKUs are left out (the policy stocks none of them by design).
``--sample N`` keeps a random sample of N series instead (fixed seed,
stratified by warehouse and by demand class: the share of training days with
demand, in quartiles); by default every series is scored.

The demand distribution is ``models.network.forecast_network`` (the
nightly's own call: daily, season 7, group seasonal indices from two years of
category totals, the nightly's ``selection_sample`` series backtested per class ×
category and warehouse, a 14-day selection backtest as on a cold night,
``n_jobs=1``). The nightly forecasts every night; to keep the bench
affordable it is re-made every ``--reforecast-days`` (7) days over the
hold-out, each time from the ``--history-days`` up to that night only
(demand, stock-outs, category totals as of then: no look-ahead), and the
reviews until the next one use it (``--reforecast-days 0``: one forecast on
the split night, frozen for the whole hold-out, the first protocol). That
gives daily means (with the weekday pattern) and each series' NB1
dispersion (``NetworkForecast.dispersion``, clipped to ≥ 1 as in
``optimization.replenishment.planning.demand_distribution``).

Replay (``optimization.evaluation.simulation.simulate``), per series, day by day:
review every evening (R = 1 day); the SKU's ``lead_time_days`` L counts days
beyond the overnight run, so the order placed on the evening of day t is on
the shelf on the morning of day t + L + 1 and each review protects days
t + 1 … t + L + 1 (lead demand: days t + 1 … t + L; review demand: day
t + L + 1, each from the daily means). Orders are rounded up to the SKU's pack
size; customer returns of the hold-out go back on the shelf the day they come
back; unmet demand is lost; no pull-back. Starting stock is each policy's own
S on the split night; inventory is valued at ``unit_cost``. The simulation
takes one lead time per run, so each run replays the lead-time groups
separately and sums them (``optimization.evaluation.simulation.summarise``).

Policies, each run over a range of settings to trace its frontier:

* ``NB1 fill rate`` — this project's policy (the nightly default target kind):
  S from the NB1 protection-period distribution and the fill-rate loss function;
* ``NB1 cycle service`` — the same distribution, S the α-quantile;
* ``normal (loss fn)`` — same mean and variance, normal approximation with the
  normal loss function for the fill-rate target (baseline b);
* ``normal (z·σ)`` — the classic safety stock μ + z·σ, z = Φ⁻¹(α);
* ``min/max`` — min = ⌈cover·d̄·(L + 1)⌉, max = min + ⌈d̄⌉ from the trailing
  28-day average d̄ (baseline a; settings are the cover).

Prints Markdown tables: the runs at nominal targets (unit fill = served /
demand over the network; item-average fill = the mean of the series' own fill
rates over series with hold-out demand, which is what the per-series target
promises), and the average inventory value each policy needs for a given
*achieved* fill rate, read off its service-vs-inventory frontier
(``optimization.evaluation.frontier``), with the ratio to ours; then the verdict on the
two targets: ours at 0.95 achieves 0.95 ± 0.01, and needs less inventory than
both baselines at equal achieved fill. Dead stock is the value idle for 30
days or more (the nightly's 90 days would be nearly the whole hold-out). Two
diagnostics of ours at target 0.95: one run with packs of 1 (S ignores packs;
whole packs only add stock), and the results by the engine's demand class.

    .venv/bin/python bench/bench_replenishment_network.py [--db PATH] [--holdout 91]
        [--history-days 365] [--sample N] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl
from _report import frontier_point, markdown

from models.network import forecast_network
from models.schemas import series_id, split_series_id
from models.seasonal import TOTALS_DAYS
from models.series import horizon_dates
from optimization.evaluation.frontier import FRONTIER_POINTS, inventory_at_service
from optimization.evaluation.level_rules import (
    min_max_levels,
    network_fill_levels,
    normal_levels,
    policy_levels,
)
from optimization.evaluation.simulation import SimulationParams, SimulationResult, simulate_leads
from optimization.replenishment.service import ServiceTarget, TargetKind
from pipelines.demand_series import censored_days, stockout_spans, warehouse_series
from settings import NightlyParams
from warehouse.demand import category_totals, daily_demand, last_demand_date, stock_counts
from warehouse.forecasting import sku_groups
from warehouse.replenishment import sku_policy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LevelRule = Callable[[FloatArray, FloatArray, FloatArray, ServiceTarget], tuple[IntArray, IntArray]]

REVIEW_DAYS = 1
WINDOW_DAYS = 28
SELECTION_BACKTEST_DAYS = 14
#: Significant digits of the means and dispersions the levels are computed on.
MEAN_DIGITS = 3
DISPERSION_DIGITS = 2
DEAD_AFTER_DAYS = 30
TARGETS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999)
COVERS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
SERVICE_GRID = (0.80, 0.85, 0.90, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99)
SHOWN_TARGETS = (0.90, 0.95, 0.98)
SHOWN_COVERS = (2.0, 8.0, 32.0)
REFERENCE = "NB1 fill rate"
#: One unit fill-rate target per warehouse instead of one per series.
NETWORK = "NB1 network unit fill"
#: The planner's ``unit_fill`` target kind: one unit fill per warehouse × category.
UNIT_FILL = "NB1 unit fill (warehouse × category)"
NETWORK_TARGETS = (0.80, 0.85, 0.90, 0.93, 0.95, 0.96, 0.97, 0.98)
BASELINES = ("min/max", "normal (loss fn)")
RULES: dict[str, tuple[LevelRule, TargetKind]] = {
    "NB1 fill rate": (policy_levels, "fill_rate"),
    "NB1 cycle service": (policy_levels, "cycle_service"),
    "normal (loss fn)": (normal_levels, "fill_rate"),
    "normal (z·σ)": (normal_levels, "cycle_service"),
}


@dataclass(frozen=True)
class Network:
    """The scored series and everything the replay needs, rows in ``ids`` order."""

    ids: list[str]
    history: IntArray  # training demand, (series, training days)
    demand: IntArray  # hold-out demand, (series, hold-out days)
    returns: IntArray  # hold-out returns, (series, hold-out days)
    lead: IntArray  # lead_time_days per series
    pack: IntArray
    cost: FloatArray
    split: date
    as_of: date


@dataclass(frozen=True)
class Distribution:
    """Lead and review means of every review (column 0: the split night), deduplicated.

    ``lead``, ``review`` and ``dispersion`` hold the distinct rows, shape
    ``(distinct, 1)``; ``inverse`` maps each (series, review) back to its row.
    """

    lead: FloatArray
    review: FloatArray
    dispersion: FloatArray
    inverse: IntArray
    shape: tuple[int, int]


def open_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection; a copy in a temporary folder if another process holds the file."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException:
        copy = Path(tempfile.mkdtemp(prefix="bench_network_")) / path.name
        shutil.copy(path, copy)
        print(f"(database locked: reading a copy at {copy})", file=sys.stderr)
        return duckdb.connect(str(copy), read_only=True)


def load(
    con: duckdb.DuckDBPyConnection, holdout: int, history_days: int
) -> tuple[Network, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The network's matrices, plus training sales, stock-out spans, sku groups, category totals."""
    as_of = last_demand_date(con)
    if as_of is None:
        raise SystemExit("no order lines in the database: ingest a network first")
    split = as_of - timedelta(days=holdout)
    start = split - timedelta(days=history_days - 1)
    skus = sku_policy(con).filter(~pl.col("do_not_stock"))
    train = daily_demand(con, split, history_days).join(skus.select("sku"), on="sku", how="semi")
    test = daily_demand(con, as_of, holdout)
    returns = con.sql(
        """
        SELECT o.warehouse_id, r.sku, r.return_date AS ds, sum(r.quantity)::DOUBLE AS y
        FROM returns r JOIN order_lines o USING (order_id, line_no)
        WHERE r.return_date > ? AND r.return_date <= ?
        GROUP BY ALL
        """,
        params=[split, as_of],
    ).pl()
    keys = train.select("warehouse_id", "sku").unique().sort("warehouse_id", "sku")
    items = keys.join(skus, on="sku", how="left")
    ids = items.select(series_id(pl.col("warehouse_id"), pl.col("sku")))["unique_id"]
    network = Network(
        ids=ids.to_list(),
        history=_dense(train, ids, start, history_days),
        demand=_dense(test, ids, split + timedelta(days=1), holdout),
        returns=_dense(returns, ids, split + timedelta(days=1), holdout),
        lead=items["lead_time_days"].to_numpy().astype(np.int64),
        pack=items["pack_size"].to_numpy().astype(np.int64),
        cost=items["unit_cost"].to_numpy().astype(np.float64),
        split=split,
        as_of=as_of,
    )
    totals = category_totals(con, split, TOTALS_DAYS)
    spans = stockout_spans(stock_counts(con, start, split), start, split)
    return network, train, spans, sku_groups(con), totals


def _dense(sparse: pl.DataFrame, ids: pl.Series, first: date, days: int) -> IntArray:
    """``warehouse_id, sku, ds, y`` → integer matrix ``(len(ids), days)`` from ``first``."""
    rows = (
        sparse.with_columns(series_id(pl.col("warehouse_id"), pl.col("sku")))
        .join(ids.to_frame().with_row_index("row"), on="unique_id", how="inner")
        .with_columns(day=(pl.col("ds") - pl.lit(first)).dt.total_days())
        .filter((pl.col("day") >= 0) & (pl.col("day") < days))
    )
    out = np.zeros((ids.len(), days), dtype=np.int64)
    np.add.at(
        out,
        (rows["row"].to_numpy(), rows["day"].to_numpy()),
        np.rint(rows["y"].to_numpy()).astype(np.int64),
    )
    return out


def sample_series(network: Network, size: int, seed: int) -> Network:
    """``size`` random series, in proportion per warehouse × demand-frequency quartile."""
    warehouse = np.array([i.split("/", 1)[0] for i in network.ids])
    frequency = (network.history > 0).mean(axis=1)
    quartile = np.searchsorted(np.quantile(frequency, [0.25, 0.5, 0.75]), frequency, side="right")
    strata = np.char.add(warehouse, quartile.astype(str))
    rng = np.random.default_rng(seed)
    share = min(size / len(network.ids), 1.0)
    keep: list[int] = []
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        take = max(1, round(share * members.size))
        keep.extend(rng.choice(members, size=min(take, members.size), replace=False).tolist())
    rows = np.sort(np.array(keep))
    return Network(
        ids=[network.ids[i] for i in rows],
        history=network.history[rows],
        demand=network.demand[rows],
        returns=network.returns[rows],
        lead=network.lead[rows],
        pack=network.pack[rows],
        cost=network.cost[rows],
        split=network.split,
        as_of=network.as_of,
    )


def engine_distribution(
    network: Network,
    train: pl.DataFrame,
    stockouts: pl.DataFrame,
    groups: pl.DataFrame,
    horizon: int,
    totals: pl.DataFrame | None,
    origin: date,
) -> tuple[FloatArray, FloatArray, pl.DataFrame]:
    """Daily means ``(series, horizon)`` after ``origin``, NB1 dispersion and class per series.

    Series without history up to ``origin`` in ``train`` get mean 0.
    """
    scored = pl.DataFrame({"unique_id": network.ids})
    train = train.with_columns(series_id(pl.col("warehouse_id"), pl.col("sku"))).join(
        scored, on="unique_id", how="semi"
    )
    sales = train.drop("unique_id")
    params = replace(
        NightlyParams().forecast,
        horizon=horizon,
        season_length=7,
        backtest_horizon=SELECTION_BACKTEST_DAYS,
        n_jobs=1,
    )
    result = forecast_network(
        warehouse_series(sales, censored_days(sales, stockouts, origin), origin),
        origin,
        params,
        {},
        groups,
        totals,
    )
    days = pl.DataFrame({"ds": horizon_dates(origin, horizon, "D")})
    means = (
        scored.join(days, how="cross")
        .join(
            result.forecasts.select("unique_id", "ds", "mean"), on=["unique_id", "ds"], how="left"
        )
        .with_columns(pl.col("mean").fill_null(0.0))
        .sort("unique_id", "ds")
    )
    phi = scored.join(
        result.dispersion.select(series_id(pl.col("warehouse_id"), pl.col("sku")), "dispersion"),
        on="unique_id",
        how="left",
        maintain_order="left",
    )["dispersion"]
    order = np.argsort(np.array(network.ids), kind="stable")
    mu = np.empty((len(network.ids), horizon))
    mu[order] = means["mean"].to_numpy().reshape(len(network.ids), horizon)
    classes = result.forecasts.group_by("unique_id").agg(pl.col("class").first())
    return (
        np.clip(mu, 0.0, None),
        np.clip(phi.fill_null(1.0).to_numpy(), 1.0, None),
        scored.join(classes, on="unique_id", how="left", maintain_order="left"),
    )


def rolling_distribution(
    con: duckdb.DuckDBPyConnection,
    network: Network,
    groups: pl.DataFrame,
    holdout: int,
    history_days: int,
    every: int,
) -> tuple[Distribution, FloatArray, FloatArray, pl.DataFrame]:
    """The forecast re-made every ``every`` days over the hold-out, as the nightly would.

    At each origin (the split night, then every ``every`` days) the engine
    forecasts from the ``history_days`` up to that night (demand, stock-outs
    and category totals read as of then) for the next ``every + max lead + 1``
    days; the reviews until the next origin use it. Returns the distinct
    review distributions, the daily means used ``(series, holdout)``, the
    split night's dispersion and classes.
    """
    n, max_lead = len(network.ids), int(network.lead.max())
    lead_mean = np.zeros((n, holdout + 1))
    review_mean = np.zeros((n, holdout + 1))
    phi = np.ones((n, holdout + 1))
    used = np.zeros((n, holdout))
    horizon = every + max_lead + REVIEW_DAYS
    first: tuple[FloatArray, pl.DataFrame] | None = None
    for start in range(0, holdout + 1, every):
        origin = network.split + timedelta(days=start)
        window_start = origin - timedelta(days=history_days - 1)
        began = time.perf_counter()
        mu, dispersion, classes = engine_distribution(
            network,
            daily_demand(con, origin, history_days),
            stockout_spans(stock_counts(con, window_start, origin), window_start, origin),
            groups,
            horizon,
            category_totals(con, origin, TOTALS_DAYS),
            origin,
        )
        aligned = np.zeros((n, holdout + max_lead + REVIEW_DAYS + 1))
        width = min(horizon, aligned.shape[1] - start)
        aligned[:, start : start + width] = mu[:, :width]
        lead_k, review_k = review_means(aligned, network.lead, holdout)
        cols = slice(start, min(start + every, holdout + 1))
        lead_mean[:, cols], review_mean[:, cols] = lead_k[:, cols], review_k[:, cols]
        phi[:, cols] = dispersion[:, None]
        stop = min(start + every, holdout)
        used[:, start:stop] = mu[:, : stop - start]
        first = first or (dispersion, classes)
        print(f"forecast as of {origin}: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    assert first is not None
    return _distinct(lead_mean, review_mean, phi), used, first[0], first[1]


def review_distribution(
    mu: FloatArray, dispersion: FloatArray, lead: IntArray, holdout: int
) -> Distribution:
    """See :func:`review_means`; the (lead, review, φ) rows deduplicated."""
    lead_mean, review_mean = review_means(mu, lead, holdout)
    return _distinct(lead_mean, review_mean, dispersion)


def review_means(mu: FloatArray, lead: IntArray, holdout: int) -> tuple[FloatArray, FloatArray]:
    """Lead and review means of the reviews closing the split night and each hold-out day.

    Review column c (0 = split night, c = hold-out day c − 1 otherwise)
    protects forecast days c … c + L: lead days c … c + L − 1, review day c + L.
    """
    n = mu.shape[0]
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(mu, axis=1)], axis=1)
    cols = np.arange(holdout + 1)[None, :]
    rows = np.arange(n)[:, None]
    arrive = cols + lead[:, None]
    lead_mean = csum[rows, arrive] - csum[rows, cols]
    review_mean = csum[rows, arrive + REVIEW_DAYS] - csum[rows, arrive]
    return lead_mean, review_mean


def _distinct(
    lead_mean: FloatArray, review_mean: FloatArray, dispersion: FloatArray
) -> Distribution:
    """Deduplicated (lead, review, φ) rows; ``dispersion`` per series or per (series, review)."""
    phi = (
        np.broadcast_to(dispersion[:, None], lead_mean.shape)
        if dispersion.ndim == 1
        else dispersion
    )
    # Daily means vary by day (weekday, season), so almost every (series, day)
    # is distinct; rounding to MEAN_DIGITS / DISPERSION_DIGITS significant
    # digits (≤ 0.5 % / 5 %) lets every policy compute its levels once per
    # distinct distribution instead of 3 M times.
    stacked = np.stack(
        [
            _significant(lead_mean.ravel(), MEAN_DIGITS),
            _significant(review_mean.ravel(), MEAN_DIGITS),
            _significant(phi.ravel(), DISPERSION_DIGITS),
        ],
        axis=1,
    )
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return Distribution(
        lead=unique[:, :1].copy(),
        review=unique[:, 1:2].copy(),
        dispersion=unique[:, 2].copy(),
        inverse=inverse.ravel().astype(np.int64),
        shape=lead_mean.shape,
    )


def _significant(values: FloatArray, digits: int) -> FloatArray:
    """``values`` rounded to ``digits`` significant digits (zeros stay zero)."""
    positive = values > 0
    magnitude = np.floor(np.log10(np.where(positive, values, 1.0)))
    scale = 10.0 ** (digits - 1 - magnitude)
    return np.where(positive, np.round(values * scale) / scale, 0.0)


def replay(
    network: Network, reorder: IntArray, up_to: IntArray, initial: IntArray
) -> SimulationResult:
    """Replay every lead-time group with its own lead time and sum them."""
    return simulate_leads(
        network.ids,
        network.demand,
        reorder,
        up_to,
        network.cost,
        network.lead,
        SimulationParams(periods_per_year=365.0, dead_after_periods=DEAD_AFTER_DAYS),
        pack_size=network.pack,
        returns=network.returns,
        initial_on_hand=initial,
    )


def _lead_groups(lead: IntArray) -> Iterator[tuple[int, IntArray]]:
    for value in np.unique(lead):
        yield int(value), np.flatnonzero(lead == value)


def rule_run(
    network: Network, dist: Distribution, rule: LevelRule, target: ServiceTarget
) -> SimulationResult:
    """Levels from ``rule`` on the distinct distributions, then the replay."""
    low, high = rule(dist.lead, dist.review, dist.dispersion, target)
    reorder = low[dist.inverse, 0].reshape(dist.shape)
    up_to = high[dist.inverse, 0].reshape(dist.shape)
    return replay(network, reorder[:, 1:], up_to[:, 1:], up_to[:, 0])


def network_fill_run(
    network: Network,
    dist: Distribution,
    phi: FloatArray,
    target: float,
    groups: IntArray | None = None,
) -> SimulationResult:
    """One unit fill-rate target per group (``network_fill_levels``), then the replay.

    ``groups`` as the nightly's ``unit_fill`` kind groups series (warehouse ×
    category); ``None``: the whole network is one group.
    """
    lead = dist.lead[dist.inverse, 0].reshape(dist.shape)
    review = dist.review[dist.inverse, 0].reshape(dist.shape)
    low, high = network_fill_levels(lead, review, phi, network.cost, target, groups)
    return replay(network, low[:, 1:], high[:, 1:], high[:, 0])


def category_codes(network: Network, sku_groups: pl.DataFrame) -> IntArray:
    """One integer per (warehouse, category) of each scored series."""
    frame = split_series_id(pl.DataFrame({"unique_id": network.ids})).join(
        sku_groups.select("sku", "category"), on="sku", how="left", maintain_order="left"
    )
    codes = frame.select(pl.concat_str("warehouse_id", "category").rank("dense"))
    return codes.to_series().to_numpy().astype(np.int64) - 1


def min_max_run(network: Network, cover: float) -> SimulationResult:
    """Min/max from the trailing 28-day average, per lead-time group."""
    n, days = network.demand.shape
    low = np.zeros((n, days), dtype=np.int64)
    high = np.zeros((n, days), dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    for lead, rows in _lead_groups(network.lead):
        history = network.history[rows].astype(np.float64)
        low[rows], high[rows] = min_max_levels(
            history, network.demand[rows].astype(np.float64), WINDOW_DAYS, lead, cover, REVIEW_DAYS
        )
        # The first morning's stock: the max from the training days alone.
        _, start = min_max_levels(
            history[:, :-1], history[:, -1:], WINDOW_DAYS, lead, cover, REVIEW_DAYS
        )
        first[rows] = start[:, 0]
    return replay(network, low, high, first)


def main() -> None:
    """Forecast, run every policy over its settings and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/warehouse.duckdb"))
    parser.add_argument("--holdout", type=int, default=91)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reforecast-days",
        type=int,
        default=7,
        help="re-forecast every N days over the hold-out (0: one forecast, frozen)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()
    with open_readonly(args.db) as con:
        network, train, stockouts, groups, totals = load(con, args.holdout, args.history_days)
        total_series = len(network.ids)
        if args.sample is not None and args.sample < total_series:
            network = sample_series(network, args.sample, args.seed)
        load_seconds = time.perf_counter() - started
        if args.reforecast_days:
            dist, mu, phi, classes = rolling_distribution(
                con, network, groups, args.holdout, args.history_days, args.reforecast_days
            )
        else:
            horizon = args.holdout + int(network.lead.max()) + REVIEW_DAYS
            mu, phi, classes = engine_distribution(
                network, train, stockouts, groups, horizon, totals, network.split
            )
            dist = review_distribution(mu, phi, network.lead, args.holdout)
    expected, actual = float(mu[:, : args.holdout].sum()), float(network.demand.sum())
    print(f"forecast over the hold-out {expected:,.0f} units, actual {actual:,.0f}", flush=True)
    forecast_seconds = time.perf_counter() - started - load_seconds

    points: list[tuple[str, float, float, float, float]] = []
    item_points: list[tuple[str, float, float, float, float]] = []
    shown: list[dict[str, object]] = []
    at_target: dict[str, SimulationResult] = {}
    sim_started = time.perf_counter()
    for name, (rule, kind) in RULES.items():
        for level in TARGETS:
            result = rule_run(network, dist, rule, ServiceTarget(kind, level))
            points.append(frontier_point(name, level, result))
            item_points.append(frontier_point(name, level, result, per_item=True))
            if level in SHOWN_TARGETS:
                shown.append(_row(name, f"target {level:.2f}", result))
            if level == 0.95:
                at_target[name] = result
    codes = category_codes(network, groups)
    unit_fill: dict[float, SimulationResult] = {}
    for level in NETWORK_TARGETS:
        for name, grouping in ((UNIT_FILL, codes), (NETWORK, None)):
            result = network_fill_run(network, dist, phi, level, grouping)
            points.append(frontier_point(name, level, result))
            item_points.append(frontier_point(name, level, result, per_item=True))
            if level in SHOWN_TARGETS:
                shown.append(_row(name, f"unit target {level:.2f}", result))
            if level == 0.95:
                at_target[name] = result
            if name == UNIT_FILL:
                unit_fill[level] = result
    for cover in COVERS:
        result = min_max_run(network, cover)
        points.append(frontier_point("min/max", cover, result))
        item_points.append(frontier_point("min/max", cover, result, per_item=True))
        if cover in SHOWN_COVERS:
            shown.append(_row("min/max", f"cover {cover:g}", result))
    # The policy's S ignores packs; whole packs only raise stock. One run without them.
    no_packs = replace(network, pack=np.ones_like(network.pack))
    result = rule_run(no_packs, dist, policy_levels, ServiceTarget("fill_rate", 0.95))
    shown.append(_row(REFERENCE, "target 0.95, packs of 1", result))
    sim_seconds = time.perf_counter() - sim_started

    units = pl.DataFrame(points, schema=FRONTIER_POINTS, orient="row")
    items = pl.DataFrame(item_points, schema=FRONTIER_POINTS, orient="row")
    with_demand = int((network.demand.sum(axis=1) > 0).sum())
    print(f"## Replenishment policies on the network `{args.db}`\n")
    print(
        f"Date {datetime.now():%Y-%m-%d %H:%M}; machine {platform.platform()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end.\n"
        f"Command: `.venv/bin/python {' '.join(sys.argv)}`\n"
    )
    sampled = (
        f"a stratified sample of {len(network.ids):,} (seed {args.seed}) of "
        if len(network.ids) < total_series
        else ""
    )
    print(
        f"Split night {network.split}, hold-out {network.split + timedelta(days=1)} – "
        f"{network.as_of} ({args.holdout} days), training {args.history_days} days; "
        f"{sampled}{total_series:,} series with training demand, {with_demand:,} with "
        f"hold-out demand; hold-out demand {int(network.demand.sum()):,} units, returns "
        f"{int(network.returns.sum()):,} units; the forecasts expect "
        f"{mu[:, : args.holdout].sum():,.0f} units. R = 1 day, L = the SKU's lead time "
        f"({_lead_mix(network.lead)}), packs, lost sales. "
        f"{len(dist.lead):,} distinct (lead, review, φ) rows. Wall time: load "
        f"{load_seconds:.0f} s, forecast {forecast_seconds:.0f} s, {len(points) + 1} simulations "
        f"{sim_seconds:.0f} s, total {time.perf_counter() - started:.0f} s.\n"
    )
    print("### Runs at nominal settings\n")
    print(markdown(pl.DataFrame(shown)))
    print(f"\n### `{REFERENCE}` at target 0.95 by the engine's demand class\n")
    print(markdown(_by_class(network, classes, mu, at_target[REFERENCE])))
    print("\n### Average inventory value at equal achieved fill rate, all units (frontier)\n")
    unit_table = _equal_service(units)
    print(markdown(_render(unit_table)))
    print("\n### Average inventory value at equal achieved item-average fill rate (frontier)\n")
    item_table = _equal_service(items)
    print(markdown(_render(item_table)))
    print("\n### Highest achieved fill per policy (the end of each frontier)\n")
    print(markdown(_reach(units, items)))
    print("\n### Verdict\n")
    print(_verdict(at_target[REFERENCE], unit_table, item_table))
    print(f"\n### `{UNIT_FILL}` (the planner's unit_fill kind) against its targets\n")
    print(markdown(_unit_fill_verdict(unit_fill, units)))


def _row(name: str, setting: str, result: SimulationResult) -> dict[str, object]:
    s = result.summary
    return {
        "policy": name,
        "setting": setting,
        "fill rate (units)": f"{s.fill_rate:.3f}",
        "fill rate (item avg)": f"{s.item_fill_rate:.3f}",
        "cycle service": f"{s.cycle_service:.4f}",
        "stock-out series-days": f"{s.stockout_periods:,}",
        "avg on-hand value": f"{s.avg_inventory_value:,.0f}",
        "turns / year": f"{s.turns:.1f}",
        f"dead stock value (idle ≥ {DEAD_AFTER_DAYS} d)": f"{s.dead_stock_value:,.0f}",
    }


def _by_class(
    network: Network, classes: pl.DataFrame, mu: FloatArray, result: SimulationResult
) -> pl.DataFrame:
    holdout = network.demand.shape[1]
    frame = classes.with_columns(forecast=mu[:, :holdout].sum(axis=1)).join(
        result.series, on="unique_id"
    )
    total = frame.group_by("class").agg(
        series=pl.len(),
        forecast=pl.col("forecast").sum(),
        demand=pl.col("demand").sum(),
        served=pl.col("served").sum(),
        item_fill=pl.col("fill_rate").filter(pl.col("demand") > 0).mean(),
        value=pl.col("avg_inventory_value").sum(),
    )
    return total.sort("class").select(
        "class",
        pl.col("series").map_elements(lambda x: f"{x:,}", return_dtype=pl.String),
        (pl.col("forecast") / pl.col("demand"))
        .round(2)
        .cast(pl.String)
        .alias("forecast / actual units"),
        (pl.col("served") / pl.col("demand")).round(3).cast(pl.String).alias("fill (units)"),
        pl.col("item_fill").round(3).cast(pl.String).alias("fill (item avg)"),
        (pl.col("value") / pl.col("value").sum())
        .round(3)
        .cast(pl.String)
        .alias("share of on-hand value"),
    )


def _lead_mix(lead: IntArray) -> str:
    values, counts = np.unique(lead, return_counts=True)
    return ", ".join(f"{v} d: {c:,}" for v, c in zip(values, counts, strict=True))


def _equal_service(points: pl.DataFrame) -> pl.DataFrame:
    """Inventory per policy and grid level, with the ratio to ours (levels ours reaches)."""
    table = inventory_at_service(points, SERVICE_GRID)
    reached = table.filter(
        (pl.col("policy") == REFERENCE) & pl.col("avg_inventory_value").is_not_null()
    )["service"]
    reference = table.filter(pl.col("policy") == REFERENCE).select(
        "service", reference="avg_inventory_value"
    )
    return (
        table.filter(pl.col("service").is_in(reached.implode()))
        .join(reference, on="service")
        .with_columns(ratio=pl.col("avg_inventory_value") / pl.col("reference"))
    )


def _reach(units: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for (policy,), part in units.group_by("policy", maintain_order=True):
        best_unit = part.sort("fill_rate").row(-1, named=True)
        item_part = items.filter(pl.col("policy") == policy)
        best_item = item_part.sort("fill_rate").row(-1, named=True)
        rows.append(
            {
                "policy": policy,
                "max fill (units)": f"{best_unit['fill_rate']:.3f}",
                "at setting": f"{best_unit['setting']:g}",
                "max fill (item avg)": f"{best_item['fill_rate']:.3f}",
                "at setting ": f"{best_item['setting']:g}",
                "value at max unit fill": f"{best_unit['avg_inventory_value']:,.0f}",
            }
        )
    return pl.DataFrame(rows)


def _render(table: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for (policy,), part in table.group_by("policy", maintain_order=True):
        row: dict[str, object] = {"policy": policy}
        for service, value, ratio in part.select(
            "service", "avg_inventory_value", "ratio"
        ).iter_rows():
            cell = "— (not reached)" if value is None else f"{value:,.0f}"
            if value is not None and policy != REFERENCE:
                cell += f" ({ratio:.2f}×)"
            row[f"fill {service:.2f}"] = cell
        rows.append(row)
    return pl.DataFrame(rows)


def _verdict(ours: SimulationResult, units: pl.DataFrame, items: pl.DataFrame) -> str:
    s = ours.summary
    lines = [
        f"1. Target service: `{REFERENCE}` at target 0.95 achieves item-average fill "
        f"{s.item_fill_rate:.3f} ({_held(abs(s.item_fill_rate - 0.95) <= 0.01)} 0.95 ± 0.01) "
        f"and unit fill {s.fill_rate:.3f} ({_held(abs(s.fill_rate - 0.95) <= 0.01)} 0.95 ± 0.01)."
    ]
    for number, label, table in ((2, "unit", units), (3, "item-average", items)):
        lines.append(
            f"{number}. Less inventory than both baselines at equal achieved {label} fill:"
        )
        for baseline in BASELINES:
            part = table.filter(pl.col("policy") == baseline).drop_nulls("avg_inventory_value")
            if part.is_empty():
                lines.append(f"   - vs `{baseline}`: no common achieved level on the grid.")
                continue
            wins = part.filter(pl.col("ratio") > 1)["service"].to_list()
            losses = part.filter(pl.col("ratio") <= 1)["service"].to_list()
            ratio = part["ratio"].to_numpy()
            lines.append(
                f"   - vs `{baseline}`: ours cheaper at {_levels(wins)}; "
                f"not cheaper at {_levels(losses)}; baseline / ours "
                f"{ratio.min():.2f}–{ratio.max():.2f}×."
            )
    return "\n".join(lines)


def _unit_fill_verdict(results: dict[float, SimulationResult], units: pl.DataFrame) -> pl.DataFrame:
    """Per target: the achieved unit fill, and each baseline's inventory at that achieved fill."""
    rows = []
    for level, result in sorted(results.items()):
        s = result.summary
        cells: dict[str, object] = {
            "target": f"{level:.2f}",
            "achieved unit fill": f"{s.fill_rate:.3f}",
            "within ±0.01": "yes" if abs(s.fill_rate - level) <= 0.01 else "no",
            "avg on-hand value": f"{s.avg_inventory_value:,.0f}",
        }
        baselines = inventory_at_service(
            units.filter(pl.col("policy").is_in(list(BASELINES))), [s.fill_rate]
        )
        for baseline in BASELINES:
            value = baselines.filter(pl.col("policy") == baseline)["avg_inventory_value"][0]
            cells[f"{baseline} at that fill (÷ ours)"] = (
                "never reaches it"
                if value is None
                else f"{value:,.0f} ({value / s.avg_inventory_value:.2f}×)"
            )
        rows.append(cells)
    return pl.DataFrame(rows)


def _held(ok: bool) -> str:
    return "within" if ok else "NOT within"


def _levels(levels: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in levels) if levels else "none"


if __name__ == "__main__":
    main()
