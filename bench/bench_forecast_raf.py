"""Accuracy of the forecasting engine on the RAF spare-parts data (5,000 items, 84 months).

Hold out the last 12 months; forecast them from the first 72 with the selection
engine and with each single model alone (same distribution layer and
calibration: the comparison is of point model + its distribution), and with
the naive empirical-quantile baseline. Prints a Markdown table.

    .venv/bin/python bench/bench_forecast_raf.py [--data PATH] [--ets-sample 500] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import polars as pl

from models.candidates import DEFAULT_CANDIDATES
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
    "CrostonSBA",
    "TSB",
    "ADIDA",
    "IMAPA",
)
SPLIT = date(2002, 1, 1)


def score(
    name: str, frame: pl.DataFrame, test: pl.DataFrame, scales: pl.DataFrame
) -> dict[str, object]:
    joined = (
        frame.join(test, on=["unique_id", "ds"], how="inner")
        if "ds" in frame.columns
        else (frame.join(test, on="unique_id", how="inner"))
    )
    per = series_metrics(joined.select("unique_id", "y", "mean", *QCOLS), scales, LEVELS)
    agg = aggregate_metrics(per).row(0, named=True)
    stock = joined.select((pl.col("q95") - pl.col("y")).clip(lower_bound=0).mean()).item()
    return {
        "method": name,
        "series": agg["series"],
        "MASE": agg["mase"],
        "RMSSE": agg["rmsse"],
        "SPL": agg["spl"],
        "cov q80": agg["coverage_q80"],
        "cov q95": agg["coverage_q95"],
        "service@q95": agg["coverage_q95"],
        "avg stock (q95-y)+": stock,
        "mean q95": joined["q95"].mean(),
    }


def run(data: Path, ets_sample: int, n_jobs: int) -> None:
    raw = pl.read_parquet(data).select("unique_id", pl.col("ds").cast(pl.Date), "y")
    train, test = raw.filter(pl.col("ds") < SPLIT), raw.filter(pl.col("ds") >= SPLIT)
    scales = training_scales(fill_series(train, "MS"))
    base = ForecastParams(freq="MS", horizon=12, season_length=12, n_jobs=n_jobs)
    rows: list[dict[str, object]] = []
    timings: list[str] = []

    t0 = time.perf_counter()
    selected = forecast(train, base)
    wall = time.perf_counter() - t0
    n = train["unique_id"].n_unique()
    timings.append(f"selection engine: {wall:.1f} s for {n} series ({n / wall:.0f} series/s)")
    rows.append(score("**Selection (engine)**", selected.forecasts, test, scales))
    models = selected.series.group_by("model").len().sort("len", descending=True)
    for alias in SINGLE:
        only = {cls: (alias,) for cls in DEFAULT_CANDIDATES}
        t0 = time.perf_counter()
        result = forecast(
            train,
            ForecastParams(freq="MS", horizon=12, season_length=12, candidates=only, n_jobs=n_jobs),
        )
        timings.append(f"{alias}: {time.perf_counter() - t0:.1f} s")
        rows.append(score(alias, result.forecasts, test, scales))
    rows.append(
        score(
            "Empirical quantiles (naive)",
            empirical_quantiles(fill_series(train, "MS"), LEVELS),
            test,
            scales,
        )
    )

    if ets_sample:
        ids = train["unique_id"].unique().sort().sample(ets_sample, seed=1)
        sample = train.filter(pl.col("unique_id").is_in(ids.implode()))
        only = {cls: ("AutoETS",) for cls in DEFAULT_CANDIDATES}
        t0 = time.perf_counter()
        ets = forecast(
            sample,
            ForecastParams(freq="MS", horizon=12, season_length=12, candidates=only, n_jobs=n_jobs),
        )
        timings.append(f"AutoETS ({ets_sample} series): {time.perf_counter() - t0:.1f} s")
        rows.append(score(f"AutoETS (sample of {ets_sample})", ets.forecasts, test, scales))
        rows.append(
            score(
                f"Selection on the same {ets_sample}",
                selected.forecasts.filter(pl.col("unique_id").is_in(ids.implode())),
                test,
                scales,
            )
        )

    table = pl.DataFrame(rows)
    print(
        f"# RAF hold-out (last 12 of 84 months), {date.today()}, {platform.node()} "
        f"({platform.processor() or platform.machine()}), n_jobs={n_jobs}\n"
    )
    header = list(table.columns)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in table.iter_rows():
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
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
    args = parser.parse_args()
    run(args.data, args.ets_sample, args.n_jobs)


if __name__ == "__main__":
    main()
