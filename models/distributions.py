"""Discrete demand distributions on top of point forecasts: quantiles per period and summed.

Which distribution and why
--------------------------
Every model's point forecast ``mean`` (including Croston-family models, which
have no intervals) becomes a **negative binomial of the NB1 kind**: mean ``μ``
and variance ``φ·μ`` with a dispersion index ``φ ≥ 1`` per series
(``φ = 1`` is Poisson). Demand is a count, so quantiles are integers (the
smallest ``k`` with ``F(k) ≥ p``), non-negative and monotone in the level by
construction. NB1 rather than NB2 (variance ``μ + μ²/k``) because NB1 with a
common ``φ`` is closed under sums of independent periods: the sum over a
protection period of ``P`` periods is NB1 with mean ``Σμ`` and the same ``φ``
— exact, no convolution or simulation needed — which is what replenishment
uses. (Independence across periods ignores the correlation that a wrong
mean induces; the calibration scale below absorbs part of that, and the
backtest reports the coverage that results.)

``φ`` comes from the series itself: the variance-to-mean ratio of its recent
history (lumpy series have large ``φ``, smooth ones near 1), shrunk towards
the pooled ratio of all series as if the pool were one more demand
(:class:`DispersionParams`), so a series' own ratio dominates once it has a
few demands. A **calibration step** then picks, per (class, model) and
nominal level, a scale for ``φ`` and the level of NB1 actually used, on the
rolling-origin backtest, to minimise the pinball loss — a proper scoring
rule, so it moves coverage towards nominal without favouring one level. Two
numbers per (class, model, level), from grids, keep the calibration from
overfitting the backtest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from models import nb1
from models.series import Runs, sold_moments, sorted_runs

FloatArray = npt.NDArray[np.float64]

#: Per series: dispersion index of the demand distribution (variance / mean, ≥ 1).
DISPERSION = pl.Schema({"unique_id": pl.String, "dispersion": pl.Float64})

#: Calibration per (class, model, nominal level): dispersion scale and the level used.
CALIBRATION = pl.Schema(
    {
        "class": pl.String,
        "model": pl.String,
        "level": pl.Int64,
        "scale": pl.Float64,
        "level_used": pl.Float64,
    }
)

#: The ``class`` of calibration rows pooled over all classes.
POOLED = "*"


@dataclass(frozen=True)
class DispersionParams:
    """How the dispersion index is estimated from history.

    ``window`` periods of recent history (``None`` = all); ``prior_demands``
    is the weight, in demands, of the pooled ratio in the shrinkage. The
    default weight of one demand was chosen on the RAF validation split
    (``bench/bench_forecast_raf.py --split validation``: selection SPL 0.4953
    with a weight of 4, 0.4931 with 1; 0.5 and 2 were worse for
    HistoricAverage) and confirmed on the hold-out (0.3743 → 0.3722) and on
    a 6,000-series sample of the medium network (daily SPL over 28 days
    0.4656 → 0.4623; 2 gave 0.4618, 0.25 gave 0.4638): a series' own
    variance-to-mean ratio, even from a few demands, says more about its
    upper quantiles than the pooled one.
    """

    window: int | None = None
    prior_demands: float = 1.0
    max_dispersion: float = 1000.0

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 2:
            raise ValueError(f"window must be at least 2 periods, got {self.window}")
        if self.prior_demands < 0:
            raise ValueError(f"prior_demands must be >= 0, got {self.prior_demands}")
        if self.max_dispersion < 1:
            raise ValueError(f"max_dispersion must be >= 1, got {self.max_dispersion}")


@dataclass(frozen=True)
class CalibrationParams:
    """Grids searched by the calibration: dispersion scales and quantile levels (percent).

    A (class, model) with fewer than ``min_series`` backtested series is not
    calibrated on its own (it uses the pooled row, or none).
    """

    scale_grid: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
    level_grid: tuple[float, ...] = (
        30,
        40,
        50,
        60,
        70,
        75,
        80,
        85,
        88,
        90,
        92,
        93,
        94,
        95,
        96,
        97,
        98,
        99,
        99.5,
    )

    min_series: int = 30

    def __post_init__(self) -> None:
        if self.min_series < 1:
            raise ValueError(f"min_series must be at least 1, got {self.min_series}")
        if not self.scale_grid or min(self.scale_grid) <= 0:
            raise ValueError(f"scale grid must be non-empty and positive, got {self.scale_grid}")
        if not self.level_grid or not all(0 < lv < 100 for lv in self.level_grid):
            raise ValueError(f"level grid must be non-empty within (0, 100), got {self.level_grid}")


def level_columns(levels: Sequence[int]) -> list[str]:
    """Column names of the quantile levels: ``q50``, ``q95``, ..."""
    return [f"q{level}" for level in levels]


def validate_levels(levels: Sequence[float]) -> None:
    """Raise ``ValueError`` unless levels are distinct integers in (0, 100)."""
    if not levels:
        raise ValueError("at least one quantile level is needed")
    if any(not 0 < level < 100 for level in levels):
        raise ValueError(f"quantile levels must be in (0, 100), got {list(levels)}")
    if len(set(levels)) != len(levels):
        raise ValueError(f"quantile levels must be distinct, got {list(levels)}")


def count_quantiles(
    mean: FloatArray, dispersion: FloatArray, levels: Sequence[float]
) -> FloatArray:
    """Quantiles of NB1(mean, dispersion): smallest integer ``k`` with ``F(k) ≥ p``.

    Parameters
    ----------
    mean
        Means (clipped at 0; a zero mean gives all-zero quantiles).
    dispersion
        Variance-to-mean ratios; values ≤ 1 mean Poisson.
    levels
        Quantile levels in percent.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(mean), len(levels))``, non-decreasing along each row.
    """
    validate_levels(levels)
    mu = np.clip(np.nan_to_num(np.asarray(mean, dtype=np.float64)), 0.0, None)
    phi = np.maximum(np.nan_to_num(np.asarray(dispersion, dtype=np.float64), nan=1.0), 1.0)
    out = np.zeros((mu.size, len(levels)), dtype=np.float64)
    # Flat forecasts repeat the same (mean, dispersion) over the horizon: evaluate each pair once.
    # (Complex numbers sort lexicographically: a fast unique over the pairs.)
    pairs, inverse = np.unique(np.round(mu, 9) + 1j * np.round(phi, 9), return_inverse=True)
    ps = np.asarray(levels, dtype=np.float64) / 100
    result = nb1.ppf(pairs.real.copy(), pairs.imag.copy(), ps)
    # ppf is monotone in p mathematically; the running max guards float ties.
    order = np.argsort(ps)
    result[:, order] = np.maximum.accumulate(result[:, order], axis=1)
    out[:] = result[inverse.ravel()]
    return out


def with_quantiles(
    frame: pl.DataFrame, levels: Sequence[int], mean: str = "mean", dispersion: str = "dispersion"
) -> pl.DataFrame:
    """``frame`` with one column ``q<level>`` per level from its mean and dispersion columns."""
    values = count_quantiles(frame[mean].to_numpy(), frame[dispersion].to_numpy(), levels)
    return frame.with_columns(
        pl.Series(name, values[:, j]) for j, name in enumerate(level_columns(levels))
    )


def history_dispersion(
    filled: pl.DataFrame, params: DispersionParams = DispersionParams(), runs: Runs | None = None
) -> pl.DataFrame:
    """Variance-to-mean ratio of each series' recent history, shrunk to the pooled ratio.

    Parameters
    ----------
    filled
        Dense history ``unique_id, ds, y`` (zeros included).
    params
        Window and shrinkage weight.

    Returns
    -------
    pl.DataFrame
        ``DISPERSION``: ``φ_i = (n_i·r_i + w·r_pool) / (n_i + w)``, with ``r`` the
        variance-to-mean ratio (at least 1), ``n_i`` the demands in the window
        and ``w = prior_demands``; series without demand get ``r_pool``.
    """
    return history_dispersions(filled, {"dispersion": params}, runs).cast(DISPERSION)


def history_dispersions(
    filled: pl.DataFrame, named: Mapping[str, DispersionParams], runs: Runs | None = None
) -> pl.DataFrame:
    """``unique_id`` plus one :func:`history_dispersion` column per name of ``named``.

    The window statistics (the pass over the history) are computed once per
    distinct window; each name only shrinks them with its own weight.
    """
    out: pl.DataFrame | None = None
    for window in dict.fromkeys(p.window for p in named.values()):
        stats = _window_stats(filled, window, runs)
        for name, params in named.items():
            if params.window != window:
                continue
            column = _shrunk(stats, params).rename({"dispersion": name})
            out = column if out is None else out.join(column, on="unique_id", how="left")
    if out is None:
        raise ValueError("named must give at least one set of DispersionParams")
    return out.sort("unique_id")


def _window_stats(filled: pl.DataFrame, window: int | None, runs: Runs | None) -> pl.DataFrame:
    """Per series: ``mean``, ``var`` (ddof 1) and ``n`` demands of its last ``window`` rows."""
    stats = _sorted_window_stats(filled, window, runs)
    if stats is not None:
        return stats
    recent = filled
    if window is not None:
        recent = (
            filled.sort("unique_id", "ds").group_by("unique_id", maintain_order=True).tail(window)
        )
    return recent.group_by("unique_id").agg(
        mean=pl.col("y").mean(),
        var=pl.col("y").var(ddof=1),
        n=(pl.col("y") > 0).sum().cast(pl.Float64),
    )


def _shrunk(stats: pl.DataFrame, params: DispersionParams) -> pl.DataFrame:
    """``unique_id, dispersion``: each series' ratio shrunk to the pooled one by ``params``."""
    ratio = (pl.col("var") / pl.col("mean")).clip(1.0, params.max_dispersion)
    stats = stats.with_columns(
        ratio=pl.when(pl.col("mean") > 0).then(ratio).otherwise(None).fill_nan(None)
    )
    pooled_value = stats["ratio"].median()
    pooled = float(pooled_value) if isinstance(pooled_value, (int, float)) else 1.0
    w = params.prior_demands
    shrunk = (pl.col("n") * pl.col("ratio").fill_null(pooled) + w * pooled) / (pl.col("n") + w)
    return stats.select(
        "unique_id",
        dispersion=pl.when(pl.col("n") + w > 0).then(shrunk).otherwise(pooled).cast(pl.Float64),
    )


def _sorted_window_stats(
    filled: pl.DataFrame, window: int | None, runs: Runs | None = None
) -> pl.DataFrame | None:
    """Per series mean, variance (ddof 1) and demands of its last ``window`` rows, by numpy.

    Only for frames sorted by series then date (:func:`models.series.sorted_runs`);
    None otherwise.
    """
    runs = runs or sorted_runs(filled)
    if runs is None:
        return None
    ids, starts, lengths = runs
    if window is not None:
        cut = np.maximum(lengths - window, 0)
        starts, lengths = starts + cut, lengths - cut
    y = filled["y"].cast(pl.Float64).to_numpy()
    _, _, n, total, squares = sold_moments(y, starts, lengths)
    mean = total / lengths
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(lengths > 1, (squares - lengths * mean**2) / (lengths - 1), np.nan)
    return pl.DataFrame(
        {
            "unique_id": ids,
            "mean": mean,
            "var": pl.Series(np.maximum(var, 0.0)).fill_nan(None),
            "n": n,
        }
    )


def calibrate(
    scored: pl.DataFrame,
    levels: Sequence[int],
    params: CalibrationParams = CalibrationParams(),
) -> pl.DataFrame:
    """Per (class, model) and level: the dispersion scale and level that minimise pinball loss.

    Parameters
    ----------
    scored
        Backtest rows with ``class``, ``model``, ``y``, ``mean`` and ``dispersion``.
    levels
        Nominal quantile levels in percent.
    params
        Grids of dispersion scales and of levels to search.

    Returns
    -------
    pl.DataFrame
        ``CALIBRATION``: for each (class, model, level) the ``scale`` and the
        ``level_used``; plus one pooled row per (model, level) under class ``*``
        for series whose class had no backtest. Used levels are non-decreasing
        in the nominal level.
    """
    validate_levels(levels)
    pooled = scored.with_columns(pl.lit(POOLED).alias("class"))
    rows: list[tuple[str, str, int, float, float]] = []
    for frame in (scored, pooled):
        for (cls, model), part in frame.group_by("class", "model"):
            if part["unique_id"].n_unique() < params.min_series:
                continue
            for level, (scale, used) in _calibrate_one(part, levels, params).items():
                rows.append((str(cls), str(model), level, scale, used))
    return pl.DataFrame(rows, schema=CALIBRATION, orient="row").sort("class", "model", "level")


def _calibrate_one(
    part: pl.DataFrame, levels: Sequence[int], params: CalibrationParams
) -> dict[int, tuple[float, float]]:
    # Identical (mean, dispersion, y) rows are frequent (flat forecasts, zeros): weight them.
    # Sorted, so the losses sum in one order: group_by's order varies from run to run, and
    # a near-tie between grid levels then went either way (tests/test_dask.py saw it).
    agg = (
        part.select(pl.col("mean").round(6), "dispersion", "y")
        .group_by("mean", "dispersion", "y")
        .len()
        .sort("mean", "dispersion", "y")
    )
    mu, phi = agg["mean"].to_numpy(), agg["dispersion"].to_numpy()
    y, weight = agg["y"].to_numpy()[:, None], agg["len"].to_numpy()[:, None]
    grid = sorted({*params.level_grid, *levels})
    best: dict[int, tuple[float, float, float]] = {lv: (np.inf, 1.0, lv) for lv in levels}
    for scale in params.scale_grid:
        q = count_quantiles(mu, phi * scale, grid)
        diff = y - q
        for level in levels:
            p = level / 100
            loss = (np.maximum(p * diff, (p - 1) * diff) * weight).sum(axis=0)
            j = int(np.argmin(loss))
            if loss[j] < best[level][0] - 1e-12:
                best[level] = (float(loss[j]), float(scale), float(grid[j]))
    out: dict[int, tuple[float, float]] = {}
    floor = 0.0
    for level in sorted(levels):
        _, scale, used = best[level]
        floor = max(floor, used)
        out[level] = (scale, floor)
    return out


def calibrated_quantiles(
    frame: pl.DataFrame, calibration: pl.DataFrame, levels: Sequence[int]
) -> pl.DataFrame:
    """``frame`` with ``q<level>`` columns from NB1(mean, dispersion) under the calibration.

    ``frame`` has ``class``, ``model``, ``mean`` and ``dispersion``. The quantile at
    nominal level ``l`` is the ``level_used`` quantile of NB1 with dispersion
    ``scale·dispersion`` for the row's (class, model, l), else of the pooled
    ``*`` row of the model, else the plain level-``l`` quantile. A running
    maximum over the levels keeps the quantiles monotone.
    """
    validate_levels(levels)
    keys = ["class", "model", "mean", "dispersion"]
    base = frame.drop(level_columns(levels), strict=False)
    distinct = base.select(keys).unique()
    if (
        distinct.height * 2 > frame.height
        or distinct.select(pl.col("mean", "dispersion").is_nan().any()).sum_horizontal().item()
    ):
        return base.with_columns(_quantile_columns(base, calibration, levels))
    # Flat forecasts repeat a series' (mean, dispersion) over the horizon: evaluate each once.
    distinct = distinct.with_columns(_quantile_columns(distinct, calibration, levels))
    return base.join(distinct, on=keys, how="left", nulls_equal=True, maintain_order="left")


def _quantile_columns(
    frame: pl.DataFrame, calibration: pl.DataFrame, levels: Sequence[int]
) -> list[pl.Series]:
    n = frame.height
    values = np.zeros((n, len(levels)))
    keyed = frame.select("class", "model", "mean", "dispersion").with_row_index("_row")
    for j, level in enumerate(levels):
        cal = calibration.filter(pl.col("level") == level).drop("level")
        exact = cal.filter(pl.col("class") != POOLED)
        pooled = cal.filter(pl.col("class") == POOLED).drop("class")
        joined = (
            keyed.join(exact, on=["class", "model"], how="left")
            .join(pooled, on="model", how="left", suffix="_pooled")
            .sort("_row")
            .with_columns(
                pl.coalesce("scale", "scale_pooled", pl.lit(1.0)).alias("scale"),
                pl.coalesce("level_used", "level_used_pooled", pl.lit(float(level))).alias("used"),
            )
        )
        mu = joined["mean"].to_numpy()
        phi = joined["dispersion"].to_numpy() * joined["scale"].to_numpy()
        used = joined["used"].to_numpy()
        for u in np.unique(used):
            rows = used == u
            values[rows, j] = count_quantiles(mu[rows], phi[rows], [float(u)])[:, 0]
    order = np.argsort(levels)
    values[:, order] = np.maximum.accumulate(values[:, order], axis=1)
    return [pl.Series(name, values[:, j]) for j, name in enumerate(level_columns(levels))]


def protection_quantiles(
    forecasts: pl.DataFrame,
    series: pl.DataFrame,
    periods: int,
    levels: Sequence[int],
    calibration: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Quantiles of total demand over the first ``periods`` periods of the horizon.

    Parameters
    ----------
    forecasts
        ``unique_id, ds, mean`` per series and period (at least ``periods`` each).
    series
        ``unique_id, class, model, dispersion`` of the same series (the
        engine's ``series`` frame).
    periods
        Protection period P (lead time + review period) in periods.
    levels
        Quantile levels in percent.
    calibration
        ``CALIBRATION`` the forecast used (``None``: uncalibrated NB1).

    Returns
    -------
    pl.DataFrame
        ``unique_id, mean, class, model, dispersion, q<level>...``: the sum is
        NB1 with mean ``Σμ`` and the series' dispersion (NB1 is closed under
        sums of independent periods with a common dispersion), under the same
        calibration as the per-period quantiles.
    """
    if periods < 1:
        raise ValueError(f"periods must be at least 1, got {periods}")
    total = (
        forecasts.sort("unique_id", "ds")
        .group_by("unique_id", maintain_order=True)
        .agg(mean=pl.col("mean").head(periods).sum(), n=pl.len())
    )
    short = total.filter(pl.col("n") < periods)
    if not short.is_empty():
        raise ValueError(
            f"{short.height} series have fewer than {periods} forecast periods, "
            f"e.g. {short['unique_id'][0]!r}"
        )
    joined = (
        total.drop("n")
        .join(
            series.select("unique_id", "class", "model", "dispersion"), on="unique_id", how="left"
        )
        .with_columns(pl.col("dispersion").fill_null(1.0))
    )
    if calibration is None:
        return with_quantiles(joined, levels)
    return calibrated_quantiles(joined, calibration, levels)
