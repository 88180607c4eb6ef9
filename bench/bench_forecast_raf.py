"""Accuracy of the forecasting engine on the RAF spare-parts data (5,000 items, 84 months).

Hold out the last 12 months; forecast them from the first 72 with the selection
engine and with each single model alone (same distribution layer and
calibration: the comparison is of point model + its distribution), with each
combination candidate alone, and with the naive empirical-quantile baseline.
Prints a Markdown table; a second one compares the selection with each
single model as statsforecast itself gives it: its own prediction intervals,
or conformal ones where it has none (:func:`native`).

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

``--split rolling`` repeats the comparison for each scored year 1999–2002
(each trained on the months before it; 2001 is the validation year and 2002
the hold-out) and pools the paired differences over the 20,000
series-years: one year of 5,000 mostly-zero series is a noisy judge of
which model is better.

    .venv/bin/python bench/bench_forecast_raf.py [--data PATH] [--ets-sample 500] [--n-jobs 1]
        [--split holdout|validation|rolling]
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from statsforecast import StatsForecast
from statsforecast.utils import ConformalIntervals

from models.candidates import COMBINATIONS, DEFAULT_CANDIDATES, MODEL_FACTORIES
from models.engine import forecast
from models.metrics import aggregate_metrics, empirical_quantiles, series_metrics, training_scales
from models.params import ForecastParams
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
#: Years scored by ``--split rolling``, each from the months before it.
ROLLING_YEARS = (1999, 2000, 2001, 2002)
SELECTION = "**Selection (engine)**"
#: Quantile level -> width of the statsforecast interval whose upper end it is.
NATIVE_LEVELS = {80: 60, 90: 80, 95: 90, 99: 98}


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


def load(data: Path, start: date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Training months before ``start``, the 12 scored months from it, and training scales."""
    raw = pl.read_parquet(data).select("unique_id", pl.col("ds").cast(pl.Date), "y")
    end = date(start.year + 1, start.month, 1)
    train = raw.filter(pl.col("ds") < start)
    test = raw.filter((pl.col("ds") >= start) & (pl.col("ds") < end))
    return train, test, training_scales(fill_series(train, "MS"))


def methods(
    train: pl.DataFrame, test: pl.DataFrame, scales: pl.DataFrame, n_jobs: int, timings: list[str]
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Per-series frames of the selection, each single model, each combination, the baseline.

    Also returns the selection's choice (``model, len``).
    """
    base = ForecastParams(freq="MS", horizon=HORIZON, season_length=12, n_jobs=n_jobs)
    t0 = time.perf_counter()
    selected = forecast(train, base)
    wall = time.perf_counter() - t0
    n = train["unique_id"].n_unique()
    timings.append(f"selection engine: {wall:.1f} s for {n} series ({n / wall:.0f} series/s)")
    out = {SELECTION: per_series(selected.forecasts, test, scales)}
    for alias in (*SINGLE, *COMBINATIONS):
        only = {cls: (alias,) for cls in DEFAULT_CANDIDATES}
        t0 = time.perf_counter()
        result = forecast(train, replace(base, candidates=only))
        timings.append(f"{alias}: {time.perf_counter() - t0:.1f} s")
        label = f"{alias} (combination)" if alias in COMBINATIONS else alias
        out[label] = per_series(result.forecasts, test, scales)
    empirical = empirical_quantiles(fill_series(train, "MS"), LEVELS)
    out["Empirical quantiles (naive)"] = per_series(empirical, test, scales)
    return out, selected.series.group_by("model").len().sort("len", descending=True)


def native(train: pl.DataFrame, alias: str, n_jobs: int) -> pl.DataFrame:
    """``alias`` alone with statsforecast's own quantiles, as a user of the library gets them.

    Native prediction intervals where the model has them (Naive,
    SeasonalNaive, HistoricAverage, AutoETS), else conformal intervals from
    two 12-month windows (``ConformalIntervals``, the library's answer for
    Croston-type models). q50 is the point forecast; q80/q90/q95/q99 are the
    upper ends of the 60/80/90/98 % intervals. Everything is clipped at 0,
    the least a user would do.
    """
    filled = fill_series(train, "MS")
    model = MODEL_FACTORIES[alias](12)
    sf = StatsForecast(models=[model], freq="1mo", n_jobs=n_jobs)
    try:
        out = sf.forecast(h=HORIZON, df=filled, level=list(NATIVE_LEVELS.values()))
    except Exception:  # statsforecast raises a bare Exception for models without intervals
        model = MODEL_FACTORIES[alias](12)
        model.prediction_intervals = ConformalIntervals(h=HORIZON, n_windows=2)
        out = StatsForecast(models=[model], freq="1mo", n_jobs=n_jobs).forecast(
            h=HORIZON, df=filled, level=list(NATIVE_LEVELS.values())
        )
    return out.select(
        "unique_id",
        pl.col("ds").cast(pl.Date),
        pl.col(alias).clip(lower_bound=0).alias("mean"),
        pl.col(alias).clip(lower_bound=0).alias("q50"),
        *[
            pl.col(f"{alias}-hi-{width}").clip(lower_bound=0).alias(f"q{lv}")
            for lv, width in NATIVE_LEVELS.items()
        ],
    )


def native_methods(
    train: pl.DataFrame, test: pl.DataFrame, scales: pl.DataFrame, n_jobs: int
) -> dict[str, pl.DataFrame]:
    """Per-series frames of each single model with statsforecast's own quantiles."""
    return {
        f"{alias} (statsforecast intervals)": per_series(native(train, alias, n_jobs), test, scales)
        for alias in SINGLE
    }


def run(data: Path, ets_sample: int, n_jobs: int, split: str) -> None:
    start = SPLITS[split]
    train, test, scales = load(data, start)
    timings: list[str] = []
    scored, models = methods(train, test, scales, n_jobs, timings)
    reference = scored[SELECTION]
    rows = [
        row(name, per, None if name == SELECTION else reference) for name, per in scored.items()
    ]
    t0 = time.perf_counter()
    natives = native_methods(train, test, scales, n_jobs)
    timings.append(f"single models with statsforecast intervals: {time.perf_counter() - t0:.1f} s")
    native_rows = [row(SELECTION, reference, None)]
    native_rows += [row(name, per, reference) for name, per in natives.items()]

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
        native_rows.append(row(f"Selection on the same {ets_sample}", sub, None))
        native_rows.append(
            row(
                f"AutoETS (statsforecast intervals, sample of {ets_sample})",
                per_series(native(sample, "AutoETS", n_jobs), test, scales),
                sub,
            )
        )

    print(
        f"# RAF {split} ({start:%Y-%m} .. 12 months, trained on the months before), "
        f"{date.today()}, {platform.node()} "
        f"({platform.processor() or platform.machine()}), n_jobs={n_jobs}\n"
    )
    print_table(pl.DataFrame(rows))
    print("\n## Each single model with statsforecast's own quantiles\n")
    print_table(pl.DataFrame(native_rows))
    print(
        "\nModels chosen by the selection: " + ", ".join(f"{m} {c}" for m, c in models.iter_rows())
    )
    print("\n" + "\n".join(f"- {t}" for t in timings))


def rolling(data: Path, n_jobs: int) -> None:
    """Every method on each scored year of ``ROLLING_YEARS``, and pooled over the series-years."""
    timings: list[str] = []
    per_year: dict[str, list[pl.DataFrame]] = {}
    spl: dict[str, dict[int, float]] = {}
    chosen: list[str] = []
    for year in ROLLING_YEARS:
        train, test, scales = load(data, date(year, 1, 1))
        scored, models = methods(train, test, scales, n_jobs, timings)
        scored.update(native_methods(train, test, scales, n_jobs))
        chosen.append(f"{year}: " + ", ".join(f"{m} {c}" for m, c in models.iter_rows()))
        for name, per in scored.items():
            tagged = per.with_columns(
                pl.concat_str(pl.lit(f"{year}/"), "unique_id").alias("unique_id")
            )
            per_year.setdefault(name, []).append(tagged)
            mean = per["spl"].mean()
            assert isinstance(mean, float)
            spl.setdefault(name, {})[year] = mean
    reference = pl.concat(per_year[SELECTION])
    rows = []
    for name, parts in per_year.items():
        pooled = row(name, pl.concat(parts), None if name == SELECTION else reference)
        cells: dict[str, object] = {"method": name}
        cells.update({str(year): spl[name][year] for year in ROLLING_YEARS})
        cells["pooled SPL"] = pooled["SPL"]
        cells["cov q95 (<, ≤)"] = pooled["cov q95 (<, ≤)"]
        cells["cov gap"] = pooled["cov gap"]
        cells["ΔSPL vs selection [95% CI]"] = pooled["ΔSPL vs selection [95% CI]"]
        cells["sel. better/worse"] = pooled["sel. better/worse"]
        rows.append(cells)
    print(
        f"# RAF rolling: each of {', '.join(map(str, ROLLING_YEARS))} scored from the months "
        f"before it, {date.today()}, {platform.node()}, n_jobs={n_jobs}\n"
    )
    print_table(pl.DataFrame(rows))
    print("\nModels chosen by the selection: " + "; ".join(chosen))
    print("\n" + "\n".join(f"- {t}" for t in timings))


def print_table(table: pl.DataFrame) -> None:
    """``table`` as Markdown, floats to 4 decimals."""
    header = list(table.columns)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for values in table.iter_rows():
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in values]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/raf.parquet"
    )
    parser.add_argument("--ets-sample", type=int, default=500)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--split", choices=[*sorted(SPLITS), "rolling"], default="holdout")
    args = parser.parse_args()
    if args.split == "rolling":
        rolling(args.data, args.n_jobs)
    else:
        run(args.data, args.ets_sample, args.n_jobs, args.split)


if __name__ == "__main__":
    main()
