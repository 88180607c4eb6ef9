"""Accuracy of the forecasting engine on the RAF spare-parts data (5,000 items, 84 months).

Hold out the last 12 months; forecast them from the first 72 with the selection
engine and with each single model alone (same distribution layer and
calibration: the comparison is of point model + its distribution), with each
combination candidate alone, and with the naive empirical-quantile baseline.
Prints a Markdown table.

Protocol: design choices (candidates, combinations, class defaults, the
choice rule, backtest windows) are tuned with ``--split validation`` only:
train on months 1–60 and score months 61–72, all inside the 72 training
months. ``--split holdout`` (the default) is run once the choices are fixed
and reports months 73–84. The single models are every statsforecast model
among the candidates of the intermittent classes (which all RAF series are),
including ``CrostonOptimized``.

Columns: ``SPL`` is the mean scaled pinball loss over levels 50/80/90/95/99
and series; ``ΔSPL vs selection`` is the paired mean of
``spl(method) − spl(selection)`` per series with a 95 % bootstrap interval
(1,000 resamples of series), and ``sel. better/worse`` the share of series
where the selection's SPL is lower/higher. Coverage is reported as
``P(y < q)``–``P(y ≤ q)``: for integer quantiles of counts a calibrated
forecast has the nominal level between the two (with ~90 % zeros, q80 is 0
for most series, so ``P(y ≤ q80)`` alone cannot be near 80 %); ``cov gap``
is the distance of the nominal level from that interval averaged over the
five levels (0 = calibrated as far as integers allow).

    .venv/bin/python bench/bench_forecast_raf.py [--data PATH] [--ets-sample 500] [--n-jobs 1]
        [--split holdout|validation]
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from models.candidates import COMBINATIONS, DEFAULT_CANDIDATES
from models.engine import ForecastParams, forecast
from models.metrics import aggregate_metrics, empirical_quantiles, series_metrics, training_scales
from models.series import fill_series

LEVELS = (50, 80, 90, 95, 99)
QCOLS = [f"q{lv}" for lv in LEVELS]
SINGLE = (
    "Naive",
    "SeasonalNaive",
    "HistoricAverage",
    "WindowAverage",
    "SES",
    "CrostonClassic",
    "CrostonOptimized",
    "CrostonSBA",
    "TSB",
    "ADIDA",
    "IMAPA",
)
#: First month scored: the hold-out (months 73–84) or the validation split (61–72).
SPLITS = {"holdout": date(2002, 1, 1), "validation": date(2001, 1, 1)}
HORIZON = 12


def per_series(frame: pl.DataFrame, test: pl.DataFrame, scales: pl.DataFrame) -> pl.DataFrame:
    """Per-series metrics plus ``P(y < q)`` per level and the mean of ``(q95 − y)+``."""
    on = ["unique_id", "ds"] if "ds" in frame.columns else ["unique_id"]
    joined = frame.join(test, on=on, how="inner")
    per = series_metrics(joined.select("unique_id", "y", "mean", *QCOLS), scales, LEVELS)
    below = joined.group_by("unique_id").agg(
        *[(pl.col("y") < pl.col(c)).mean().alias(f"below_{c}") for c in QCOLS],
        stock=(pl.col("q95") - pl.col("y")).clip(lower_bound=0).mean(),
        mean_q95=pl.col("q95").mean(),
    )
    return per.join(below, on="unique_id")


def row(name: str, per: pl.DataFrame, reference: pl.DataFrame | None) -> dict[str, object]:
    """One table row; ``reference`` is the selection's per-series frame for the paired columns."""
    agg = aggregate_metrics(per).row(0, named=True)
    gaps = []
    cells: dict[str, object] = {
        "method": name,
        "series": agg["series"],
        "MASE": agg["mase"],
        "RMSSE": agg["rmsse"],
        "SPL": agg["spl"],
    }
    for lv, c in zip(LEVELS, QCOLS, strict=True):
        low, high = per[f"below_{c}"].mean(), agg[f"coverage_{c}"]
        assert isinstance(low, float)
        gaps.append(max(low - lv / 100, lv / 100 - high, 0.0))
        if lv in (80, 95):
            cells[f"cov {c} (<, ≤)"] = f"{low:.3f}–{high:.3f}"
    cells["cov gap"] = float(np.mean(gaps))
    cells["service@q95"] = agg["coverage_q95"]
    cells["avg stock (q95-y)+"] = per["stock"].mean()
    cells["mean q95"] = per["mean_q95"].mean()
    cells["ΔSPL vs selection [95% CI]"] = ""
    cells["sel. better/worse"] = ""
    if reference is not None:
        paired = (
            per.select("unique_id", "spl")
            .join(reference.select("unique_id", ref="spl"), on="unique_id")
            .drop_nulls()
        )
        diff = (paired["spl"] - paired["ref"]).to_numpy()
        rng = np.random.default_rng(0)
        boot = np.array([diff[rng.integers(0, diff.size, diff.size)].mean() for _ in range(1000)])
        low, high = np.quantile(boot, [0.025, 0.975])
        cells["ΔSPL vs selection [95% CI]"] = f"{diff.mean():+.4f} [{low:+.4f}, {high:+.4f}]"
        cells["sel. better/worse"] = f"{np.mean(diff > 0):.2f}/{np.mean(diff < 0):.2f}"
    return cells


def run(data: Path, ets_sample: int, n_jobs: int, split: str) -> None:
    raw = pl.read_parquet(data).select("unique_id", pl.col("ds").cast(pl.Date), "y")
    start = SPLITS[split]
    end = date(start.year + 1, start.month, 1)
    train = raw.filter(pl.col("ds") < start)
    test = raw.filter((pl.col("ds") >= start) & (pl.col("ds") < end))
    scales = training_scales(fill_series(train, "MS"))
    base = ForecastParams(freq="MS", horizon=HORIZON, season_length=12, n_jobs=n_jobs)
    timings: list[str] = []

    t0 = time.perf_counter()
    selected = forecast(train, base)
    wall = time.perf_counter() - t0
    n = train["unique_id"].n_unique()
    timings.append(f"selection engine: {wall:.1f} s for {n} series ({n / wall:.0f} series/s)")
    reference = per_series(selected.forecasts, test, scales)
    rows = [row("**Selection (engine)**", reference, None)]
    models = selected.series.group_by("model").len().sort("len", descending=True)
    for alias in (*SINGLE, *COMBINATIONS):
        only = {cls: (alias,) for cls in DEFAULT_CANDIDATES}
        t0 = time.perf_counter()
        result = forecast(
            train,
            ForecastParams(
                freq="MS", horizon=HORIZON, season_length=12, candidates=only, n_jobs=n_jobs
            ),
        )
        timings.append(f"{alias}: {time.perf_counter() - t0:.1f} s")
        label = f"{alias} (combination)" if alias in COMBINATIONS else alias
        rows.append(row(label, per_series(result.forecasts, test, scales), reference))
    empirical = empirical_quantiles(fill_series(train, "MS"), LEVELS)
    rows.append(row("Empirical quantiles (naive)", per_series(empirical, test, scales), reference))

    if ets_sample:
        ids = train["unique_id"].unique().sort().sample(ets_sample, seed=1)
        sample = train.filter(pl.col("unique_id").is_in(ids.implode()))
        only = {cls: ("AutoETS",) for cls in DEFAULT_CANDIDATES}
        t0 = time.perf_counter()
        ets = forecast(
            sample,
            ForecastParams(
                freq="MS", horizon=HORIZON, season_length=12, candidates=only, n_jobs=n_jobs
            ),
        )
        timings.append(f"AutoETS ({ets_sample} series): {time.perf_counter() - t0:.1f} s")
        sub = reference.filter(pl.col("unique_id").is_in(ids.implode()))
        rows.append(row(f"Selection on the same {ets_sample}", sub, None))
        rows.append(
            row(f"AutoETS (sample of {ets_sample})", per_series(ets.forecasts, test, scales), sub)
        )

    table = pl.DataFrame(rows)
    print(
        f"# RAF {split} ({start:%Y-%m} .. 12 months, trained on the months before), "
        f"{date.today()}, {platform.node()} "
        f"({platform.processor() or platform.machine()}), n_jobs={n_jobs}\n"
    )
    header = list(table.columns)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for values in table.iter_rows():
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in values]
        print("| " + " | ".join(cells) + " |")
    print(
        "\nModels chosen by the selection: " + ", ".join(f"{m} {c}" for m, c in models.iter_rows())
    )
    print("\n" + "\n".join(f"- {t}" for t in timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/raf.parquet"
    )
    parser.add_argument("--ets-sample", type=int, default=500)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--split", choices=sorted(SPLITS), default="holdout")
    args = parser.parse_args()
    run(args.data, args.ets_sample, args.n_jobs, args.split)


if __name__ == "__main__":
    main()
