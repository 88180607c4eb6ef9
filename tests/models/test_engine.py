"""The engine's contract: one row per series and period, classes, models, quantiles, fallback."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from models import candidates
from models.engine import forecast
from models.fitting import fit_jobs
from models.params import ForecastParams
from models.profile import profile_series
from models.selection import stale_series
from models.series import fill_series

CHEAP = {
    "smooth": ("SES", "WindowAverage"),
    "erratic": ("SES", "TSB"),
    "intermittent": ("CrostonSBA", "TSB"),
    "lumpy": ("CrostonClassic", "TSB"),
    "dormant": ("TSB",),
    "new": ("HistoricAverage",),
}


@pytest.fixture(scope="module")
def daily() -> pl.DataFrame:
    """Six 120-day series, one per kind: smooth, intermittent, lumpy, dormant, new, sparse rows."""
    rng = np.random.default_rng(7)
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(120)]
    rows: list[tuple[str, date, float]] = []
    for d in days:
        rows.append(("smooth", d, float(rng.poisson(20))))
        rows.append(("intermittent", d, float(rng.random() < 0.25)))
        rows.append(("lumpy", d, float((rng.random() < 0.2) * rng.integers(1, 12))))
        rows.append(("dormant", d, float(d < date(2024, 1, 20))))
    rows += [("new", days[-3], 2.0), ("new", days[-1], 1.0)]
    # Sparse: only demand days present; the engine must fill the gaps with zeros.
    rows += [("sparse", d, 3.0) for d in days[::5]]
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


@pytest.fixture(scope="module")
def params() -> ForecastParams:
    """Daily, 7-day horizon, cheap candidates only."""
    return ForecastParams(freq="D", horizon=7, candidates=CHEAP, n_windows=2)


def test_one_row_per_series_and_period(daily: pl.DataFrame, params: ForecastParams) -> None:
    out = forecast(daily, params).forecasts
    assert out.columns == [
        "unique_id",
        "ds",
        "mean",
        "model",
        "class",
        "q50",
        "q80",
        "q90",
        "q95",
        "q99",
    ]
    assert out.height == 6 * 7
    assert out.select(pl.struct("unique_id", "ds").is_unique().all()).item()
    assert out["ds"].min() == date(2024, 4, 30)
    assert out["ds"].max() == date(2024, 5, 6)
    assert out.null_count().sum_horizontal().item() == 0


def test_classes_come_from_the_profile(daily: pl.DataFrame, params: ForecastParams) -> None:
    out = forecast(daily, params).forecasts.unique("unique_id").sort("unique_id")
    expected = profile_series(fill_series(daily, "D"), params.profile)
    assert out["class"].to_list() == expected["class"].to_list()
    classes = dict(zip(out["unique_id"], out["class"], strict=True))
    assert classes["smooth"] == "smooth"
    assert classes["new"] == "new"
    assert classes["dormant"] == "dormant"


def test_models_are_candidates_of_the_class(daily: pl.DataFrame, params: ForecastParams) -> None:
    out = forecast(daily, params).forecasts.unique("unique_id")
    for row in out.iter_rows(named=True):
        assert row["model"] in CHEAP[row["class"]]


def test_croston_family_gets_integer_monotone_quantiles(daily: pl.DataFrame) -> None:
    only = {cls: ("CrostonSBA",) for cls in CHEAP}
    out = forecast(daily, ForecastParams(freq="D", horizon=7, candidates=only)).forecasts
    q = out.select("q50", "q80", "q90", "q95", "q99").to_numpy()
    assert (out["model"] == "CrostonSBA").all()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all() and (q == np.round(q)).all()
    assert out.filter(pl.col("unique_id") == "lumpy")["q99"].max() > 0


def test_protection_period_quantiles(daily: pl.DataFrame, params: ForecastParams) -> None:
    result = forecast(daily, params)
    one, week = result.protection(1), result.protection(7)
    for level in (50, 95, 99):
        assert (week[f"q{level}"] >= one[f"q{level}"]).all()
    assert week.height == 6


class _Broken:
    """A model whose fit always fails."""

    alias = "Broken"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def forecast(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("cannot fit")

    def fit(self, *args: Any, **kwargs: Any) -> _Broken:
        raise RuntimeError("cannot fit")

    def new(self) -> _Broken:
        return self

    def __repr__(self) -> str:
        return self.alias


def test_fallback_when_the_model_fails(
    daily: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(candidates.MODEL_FACTORIES, "Broken", lambda m: _Broken())  # type: ignore[index]
    only = {cls: ("Broken",) for cls in CHEAP}
    out = forecast(daily, ForecastParams(freq="D", horizon=3, candidates=only)).forecasts
    assert out.height == 6 * 3
    assert (out["model"] == candidates.FALLBACK_MODEL).all()
    smooth = out.filter(pl.col("unique_id") == "smooth")["mean"]
    assert smooth.min() > 10


def test_reused_selection_is_kept_until_stale(daily: pl.DataFrame, params: ForecastParams) -> None:
    first = forecast(daily, params)
    later = daily.with_columns(pl.col("ds") + timedelta(days=1))
    again = forecast(later, params, previous=first.selection)
    # One day later with max_age 7: only the series whose weekly slot falls on
    # that day are re-selected (backtested); every other keeps its model.
    chosen = first.selection.models
    due = stale_series(chosen, chosen.select("unique_id", "class"), later["ds"].max(), 7, "D")
    assert set(again.backtest["unique_id"].to_list()) <= set(due.to_list())
    kept = chosen.filter(~pl.col("unique_id").is_in(due.implode()))
    assert kept.select("unique_id", "model").rows() == (
        again.selection.models.join(kept.select("unique_id"), on="unique_id", how="semi")
        .select("unique_id", "model")
        .rows()
    )
    stale = forecast(daily.with_columns(pl.col("ds") + timedelta(days=8)), params, first.selection)
    assert stale.backtest.height > 0


def test_bad_history_is_refused(daily: pl.DataFrame, params: ForecastParams) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        forecast(pl.concat([daily, daily.head(1)]), params)
    with pytest.raises(ValueError, match=">= 0"):
        forecast(daily.with_columns(y=pl.lit(-1.0)), params)


def test_combination_candidate_forecasts_the_mean_of_its_members(daily: pl.DataFrame) -> None:
    members = candidates.COMBINATIONS["ComboLevel"]
    combo = forecast(
        daily, ForecastParams(freq="D", horizon=7, candidates={c: ("ComboLevel",) for c in CHEAP})
    ).forecasts
    singles = [
        forecast(
            daily, ForecastParams(freq="D", horizon=7, candidates={c: (m,) for c in CHEAP})
        ).forecasts["mean"]
        for m in members
    ]
    assert (combo["model"] == "ComboLevel").all()
    expected = sum(s.to_numpy() for s in singles) / len(members)
    np.testing.assert_allclose(combo["mean"].to_numpy(), expected)


def test_only_expensive_models_get_worker_processes() -> None:
    assert fit_jobs("AutoETS", 4) == 4
    assert fit_jobs("TSB", 4) == 1


def test_quantiles_and_stocking_each_get_their_own_dispersion(
    daily: pl.DataFrame, params: ForecastParams
) -> None:
    from models.distributions import DispersionParams, history_dispersion

    series = forecast(daily, params).series
    filled = fill_series(daily, "D")
    expected = {
        column: dict(history_dispersion(filled, DispersionParams(prior_demands=w)).rows())
        for column, w in (("dispersion", 1.0), ("stock_dispersion", 4.0))
    }
    for row in series.iter_rows(named=True):
        for column, by_series in expected.items():
            assert row[column] == pytest.approx(by_series[row["unique_id"]])
    # The lumpy series has few demands: the pooled ratio weighs more for stocking.
    lumpy = series.filter(pl.col("unique_id") == "lumpy").row(0, named=True)
    assert lumpy["dispersion"] != pytest.approx(lumpy["stock_dispersion"])


def test_new_series_are_fitted_on_the_days_after_their_first_sale(
    daily: pl.DataFrame, params: ForecastParams
) -> None:
    last = daily["ds"].max()
    assert isinstance(last, date)
    today = pl.DataFrame([("first_sale_today", last, 4.0)], schema=daily.schema, orient="row")
    result = forecast(pl.concat([daily, today]), params)
    means = dict(result.forecasts.group_by("unique_id").agg(pl.col("mean").mean()).rows())
    info = {r["unique_id"]: r for r in result.series.iter_rows(named=True)}
    assert info["new"]["class"] == info["first_sale_today"]["class"] == "new"
    # "new" sold 2 three days before the end and 1 on the last day: after its first
    # sale it sold 1 in 2 days, not 3 in 3.
    assert info["new"]["model"] == "HistoricAverage"
    assert means["new"] == pytest.approx(0.5)
    # Nothing after the first sale yet: no evidence of a rate (the dispersion still sees it).
    assert means["first_sale_today"] == 0.0
    assert info["first_sale_today"]["dispersion"] >= 1.0
