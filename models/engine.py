"""The forecasting engine: one entry point for the CLI and the nightly flow.

``forecast`` takes long demand history (``unique_id, ds, y``) and returns, per
series and horizon period, the mean, the model used, the demand class and
integer quantiles. Steps, chunk by chunk of series (bounded memory; the
nightly flow can also stream warehouse by warehouse with
:func:`forecast_chunks`):

1. fill every series with zeros from its first ``ds`` to the frame's last;
2. profile and classify (:mod:`models.profile`);
3. select a model per series by rolling-origin backtest of the candidates of
   its class, scored by scaled pinball loss of calibrated quantiles
   (:mod:`models.backtest`, :mod:`models.distributions`,
   :mod:`models.selection`) — or reuse a previous selection for the series
   that are not stale;
4. fit the chosen model per series on the full history and forecast;
   any series a model cannot forecast gets the fallback (its historic mean);
5. quantiles from NB1(mean, dispersion) under the calibration.

Nightly path and cost
---------------------
With a stored :class:`~models.selection.Selection` (its ``models`` and
``calibration`` frames, per chunk) nothing is stale on most nights, so step 3
does no backtest and the step is fill → classify → one StatsForecast call
per chosen model over all its series (no per-series Python) → quantiles.
Worker processes go only to expensive models (:func:`models.fitting.fit_jobs`); the cheap
ones cost ~20 µs a series, less than a process pool's start-up. Without a
stored selection (first night) or on the weekly refresh,
``ForecastParams.selection_sample`` bounds the backtest to a stable sample
per class × group; the other series take their peers' choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import polars as pl

from models.backtest import run_backtest
from models.candidates import (
    FALLBACK_MODEL,
)
from models.distributions import (
    CALIBRATION,
    calibrate,
    calibrated_quantiles,
    history_dispersions,
    level_columns,
    protection_quantiles,
)
from models.fitting import after_first_sale, fit_and_forecast
from models.metrics import series_metrics, training_scales
from models.params import ForecastParams
from models.profile import profile_series
from models.seasonal import Seasonality, aggregate, deseasonalise, reseasonalise
from models.selection import (
    SELECTION_SCHEMA,
    Selection,
    choose_models,
    score_backtest,
    selection_sample,
    stale_series,
)
from models.series import (
    SERIES,
    fill_series,
    sorted_runs,
)

#: ``groups`` argument: an optional peer group per series (e.g. category) for selection.
GROUPS = pl.Schema({"unique_id": pl.String, "group": pl.String})

#: Per series: what the forecast used (needed again for protection-period sums).
SERIES_INFO = pl.Schema(
    {
        "unique_id": pl.String,
        "class": pl.String,
        "group": pl.String,
        "model": pl.String,
        "dispersion": pl.Float64,
        "stock_dispersion": pl.Float64,
    }
)

_DEFAULT_MAX_AGE = {"D": 7, "W": 4, "MS": 1}
_DEFAULT_GROUP = "all"


def forecast_schema(levels: Iterable[int]) -> pl.Schema:
    """Columns of the engine's forecasts: ``unique_id, ds, mean, model, class, q<level>...``."""
    return pl.Schema(
        {
            "unique_id": pl.String,
            "ds": pl.Date,
            "mean": pl.Float64,
            "model": pl.String,
            "class": pl.String,
            **{c: pl.Float64 for c in level_columns(list(levels))},
        }
    )


@dataclass(frozen=True)
class ForecastResult:
    """The engine's output.

    ``forecasts``: ``forecast_schema(levels)``, one row per (series, horizon period).
    ``series``: ``SERIES_INFO``. ``selection``: reusable by the next run.
    ``backtest``: per-series accuracy of the chosen model on the backtest
    (``models.metrics.series_metrics`` columns plus ``class``, ``model``,
    ``group``), for the series selected in this run.
    """

    forecasts: pl.DataFrame
    series: pl.DataFrame
    selection: Selection
    backtest: pl.DataFrame
    levels: tuple[int, ...]

    def protection(self, periods: int) -> pl.DataFrame:
        """Quantiles of demand summed over the first ``periods`` periods, per series."""
        return protection_quantiles(
            self.forecasts.select("unique_id", "ds", "mean"),
            self.series,
            periods,
            self.levels,
            self.selection.calibration,
        )


def forecast(
    history: pl.DataFrame,
    params: ForecastParams,
    previous: Selection | None = None,
    groups: pl.DataFrame | None = None,
    totals: pl.DataFrame | None = None,
) -> ForecastResult:
    """Forecast every series of ``history`` for ``params.horizon`` periods.

    Parameters
    ----------
    history
        Long demand, schema ``SERIES`` (``unique_id, ds, y``), ``y ≥ 0``, at
        most one row per (series, period), periods aligned to ``params.freq``.
        Missing periods are zeros; every series ends on the frame's last ``ds``.
    params
        Horizon, frequency, levels, selection settings.
    previous
        An earlier run's selection: fresh choices are reused, stale ones redone.
    groups
        ``GROUPS``: a peer group per series for selection (default: one group).
    totals
        ``models.seasonal.AGGREGATE``: demand totals per group for the group
        seasonal indices, e.g. over a longer history than ``history``
        (default: the totals of ``history`` by ``groups``).

    Returns
    -------
    ForecastResult
        Forecasts starting one period after the frame's last ``ds``.

    Raises
    ------
    ValueError
        For a frame with another schema, negative or missing ``y``, or
        duplicate (``unique_id``, ``ds``).
    """
    _check_history(history)
    if history.is_empty():
        raise ValueError("history is empty: nothing to forecast")
    last = history["ds"].max()
    assert isinstance(last, date)
    ids = history["unique_id"].unique().sort()
    chunks = (
        history.join(part, on="unique_id", how="semi")
        for part in ids.to_frame().iter_slices(params.chunk_size)
    )
    results = list(forecast_chunks(chunks, params, previous, groups, end=last, totals=totals))
    return ForecastResult(
        forecasts=pl.concat([r.forecasts for r in results]),
        series=pl.concat([r.series for r in results]),
        selection=Selection(
            pl.concat([r.selection.models for r in results]),
            _merge_calibration([r.selection.calibration for r in results]),
        ),
        backtest=pl.concat([r.backtest for r in results], how="diagonal_relaxed"),
        levels=params.levels,
    )


def forecast_chunks(
    chunks: Iterable[pl.DataFrame],
    params: ForecastParams,
    previous: Selection | None = None,
    groups: pl.DataFrame | None = None,
    end: date | None = None,
    totals: pl.DataFrame | None = None,
) -> Iterator[ForecastResult]:
    """Forecast chunk by chunk (e.g. one warehouse at a time), yielding one result per chunk.

    Each chunk is independent (its own calibration), so memory is bounded by
    the largest chunk. ``end`` is the last period of every series (default:
    each chunk's last ``ds``; pass the as-of date so all chunks agree).
    ``totals`` (as for :func:`forecast`) apply to every chunk; default: each
    chunk's own totals by group.
    """
    for chunk in chunks:
        _check_history(chunk)
        if chunk.is_empty():
            continue
        last = end or chunk["ds"].max()
        assert isinstance(last, date)
        yield _forecast_chunk(
            fill_series(chunk, params.freq, end=last), last, params, previous, groups, totals
        )


def _forecast_chunk(
    filled: pl.DataFrame,
    last: date,
    params: ForecastParams,
    previous: Selection | None,
    groups: pl.DataFrame | None,
    totals: pl.DataFrame | None,
) -> ForecastResult:
    runs = sorted_runs(filled)  # shared by the classification and the dispersion
    profile = profile_series(filled, params.profile, runs)
    membership = profile.select("unique_id", "class")
    if groups is not None:
        membership = membership.join(groups.cast(GROUPS), on="unique_id", how="left")
    else:
        membership = membership.with_columns(group=pl.lit(None, dtype=pl.String))
    membership = membership.with_columns(pl.col("group").fill_null(_DEFAULT_GROUP))
    seasonality = None
    if params.seasonal:
        peers = membership.select("unique_id", "group")
        seasonality = Seasonality(
            aggregate(filled, peers) if totals is None else totals, peers, params.freq
        )

    previous = previous or Selection.empty()
    max_age = params.max_age or _DEFAULT_MAX_AGE[params.freq]
    stale_ids = stale_series(previous.models, membership, last, max_age, params.freq)
    kept = previous.models.join(membership.select("unique_id"), on="unique_id", how="semi").filter(
        ~pl.col("unique_id").is_in(stale_ids.implode())
    )
    stale = membership.filter(pl.col("unique_id").is_in(stale_ids.implode()))

    candidates = params.active_candidates
    tested = selection_sample(stale, params.selection_sample)
    backtest = run_backtest(
        filled.join(tested.select("unique_id"), on="unique_id", how="semi"),
        tested.select("unique_id", "class"),
        candidates,
        params.season,
        params.freq,
        params.backtest,
        params.dispersion,
        params.n_jobs,
        seasonality,
    ).join(stale.select("unique_id", "class"), on="unique_id")
    # A previous selection stitched from several chunks may repeat (class, model, level).
    calibration = _merge_calibration([previous.calibration])
    if not backtest.is_empty():
        calibration = _merge_calibration(
            [calibration, calibrate(backtest, params.levels, params.calibration)]
        )
    # Scales only matter for the backtested series (the nightly reuse path has none).
    scales = training_scales(filled.join(tested.select("unique_id"), on="unique_id", how="semi"))
    scores = score_backtest(backtest.drop("class"), stale, scales, calibration, params.levels)
    chosen = choose_models(scores, stale, candidates, last, params.shrinkage)
    models = pl.concat([kept, chosen]).sort("unique_id")

    fitted = after_first_sale(filled, membership.filter(pl.col("class") == "new"), runs)
    if seasonality is None:
        means = fit_and_forecast(fitted, models, last, params)
    else:
        index = seasonality.index(last, params.horizon)
        plain = deseasonalise(fitted, seasonality.groups, index)
        means = reseasonalise(
            fit_and_forecast(plain, models, last, params), seasonality.groups, index
        )
    info = (
        models.select("unique_id", "class", "group", "model")
        .join(
            history_dispersions(
                filled,
                {"dispersion": params.dispersion, "stock_dispersion": params.stock_dispersion},
                runs,
            ),
            on="unique_id",
            how="left",
        )
        .with_columns(pl.col("dispersion", "stock_dispersion").fill_null(1.0))
    )
    fallen = means.filter(pl.col("model") == FALLBACK_MODEL).select("unique_id").unique()
    info = info.with_columns(
        model=pl.when(pl.col("unique_id").is_in(fallen["unique_id"].implode()))
        .then(pl.lit(FALLBACK_MODEL))
        .otherwise(pl.col("model"))
    ).cast(SERIES_INFO)
    out = means.drop("model").join(info, on="unique_id", how="left")
    out = calibrated_quantiles(out, calibration, params.levels)
    schema = forecast_schema(params.levels)
    return ForecastResult(
        forecasts=out.select(schema.names()).cast(schema).sort("unique_id", "ds"),
        series=info.sort("unique_id"),
        selection=Selection(models.cast(SELECTION_SCHEMA), calibration),
        backtest=_chosen_accuracy(backtest, chosen, calibration, scales, params),
        levels=params.levels,
    )


def _chosen_accuracy(
    backtest: pl.DataFrame,
    chosen: pl.DataFrame,
    calibration: pl.DataFrame,
    scales: pl.DataFrame,
    params: ForecastParams,
) -> pl.DataFrame:
    rows = backtest.join(
        chosen.select("unique_id", "model", "group"), on=["unique_id", "model"], how="inner"
    )
    if rows.is_empty():
        return pl.DataFrame(schema={"unique_id": pl.String, "class": pl.String, "model": pl.String})
    rows = calibrated_quantiles(rows, calibration, params.levels).drop("dispersion")
    return series_metrics(rows, scales, params.levels)


def _merge_calibration(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Later frames override earlier ones for the same (class, model, level)."""
    merged = pl.concat([f.cast(CALIBRATION) for f in frames])
    return (
        merged.unique(["class", "model", "level"], keep="last", maintain_order=True)
        .sort("class", "model", "level")
        .cast(CALIBRATION)
    )


def _check_history(history: pl.DataFrame) -> None:
    if history.schema != SERIES:
        raise ValueError(f"history must have schema {SERIES}, got {history.schema}")
    bad = history.filter(pl.col("y").is_null() | pl.col("y").is_nan() | (pl.col("y") < 0))
    if not bad.is_empty():
        raise ValueError(f"y must be >= 0 and present; e.g. series {bad['unique_id'][0]!r}")
    if history.select(pl.struct("unique_id", "ds").is_duplicated().any()).item():
        raise ValueError("history has duplicate (unique_id, ds) rows")
