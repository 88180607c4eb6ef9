"""Rolling-origin backtest of candidate models, class by class.

For each series long enough, ``n_windows`` forecast origins ``step`` periods
apart, the last one ``horizon`` periods before the end of history: at each
origin every candidate of the series' class is fitted on the history up to
the origin and forecasts the next ``horizon`` periods. The output pairs those
forecasts with the actuals and with the dispersion estimated from the same
truncated history, so the distribution layer can be scored without looking
ahead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl
from statsforecast import StatsForecast

from models.candidates import FALLBACK_MODEL, add_combinations, base_models, build_models
from models.distributions import DispersionParams, history_dispersion
from models.seasonal import Seasonality, deseasonalise, reseasonalise
from models.series import SERIES, polars_offset

#: One row per (series, origin, period, model).
BACKTEST = pl.Schema(
    {
        "unique_id": pl.String,
        "cutoff": pl.Date,
        "ds": pl.Date,
        "y": pl.Float64,
        "model": pl.String,
        "mean": pl.Float64,
        "dispersion": pl.Float64,
    }
)


@dataclass(frozen=True)
class BacktestParams:
    """Forecast origins of the backtest.

    ``horizon`` periods forecast at each of ``n_windows`` origins ``step``
    periods apart (default ``step = horizon``); a series is backtested only
    if it has at least ``min_train`` periods before the first origin.
    """

    horizon: int
    n_windows: int = 2
    step: int | None = None
    min_train: int = 8

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {self.horizon}")
        if self.n_windows < 1:
            raise ValueError(f"n_windows must be at least 1, got {self.n_windows}")
        if self.step is not None and self.step < 1:
            raise ValueError(f"step must be at least 1, got {self.step}")
        if self.min_train < 2:
            raise ValueError(f"min_train must be at least 2, got {self.min_train}")

    @property
    def test_size(self) -> int:
        """Periods at the end of each series covered by the backtest."""
        return self.horizon + (self.step or self.horizon) * (self.n_windows - 1)

    @property
    def min_length(self) -> int:
        """Shortest series that can be backtested."""
        return self.min_train + self.test_size


def run_backtest(
    filled: pl.DataFrame,
    classes: pl.DataFrame,
    candidates: Mapping[str, tuple[str, ...]],
    season_length: int,
    freq: str,
    params: BacktestParams,
    dispersion: DispersionParams | None = None,
    n_jobs: int = 1,
    seasonality: Seasonality | None = None,
) -> pl.DataFrame:
    """Backtest every candidate of each series' class on the series long enough.

    Parameters
    ----------
    filled
        Dense history, schema ``SERIES``; every series ends on the same ``ds``.
    classes
        ``unique_id, class`` for the series to backtest.
    candidates
        Model aliases per class; a class absent here is not backtested.
    season_length, freq
        Season length in periods; ``D``, ``W`` or ``MS``.
    params
        Origins of the backtest.
    dispersion
        How the dispersion index is estimated at each origin (default ``DispersionParams()``).
    n_jobs
        Processes for statsforecast.
    seasonality
        Group seasonal indices (:mod:`models.seasonal`): at each origin the
        history is divided by the indices known at that origin and the
        forecasts multiplied by their extension; ``None`` fits the raw history.

    Returns
    -------
    pl.DataFrame
        ``BACKTEST``; forecasts clipped at 0; empty if no series is long enough.
    """
    if filled.schema != SERIES:
        raise ValueError(f"history must have schema {SERIES}, got {filled.schema}")
    lengths = filled.group_by("unique_id").len()
    eligible = classes.join(lengths, on="unique_id").filter(pl.col("len") >= params.min_length)
    parts: list[pl.DataFrame] = []
    for (cls,), ids in eligible.group_by("class"):
        aliases = candidates.get(str(cls))
        if not aliases:
            continue
        frame = filled.join(ids.select("unique_id"), on="unique_id", how="semi")
        sf = StatsForecast(
            models=build_models(base_models(aliases), season_length),
            freq=polars_offset(freq),
            n_jobs=n_jobs,
            fallback_model=build_models((FALLBACK_MODEL,), season_length)[0],
        )
        try:
            cv = (
                sf.cross_validation(
                    h=params.horizon,
                    df=frame,
                    n_windows=params.n_windows,
                    step_size=params.step or params.horizon,
                )
                if seasonality is None
                else _seasonal_windows(sf, frame, params, freq, seasonality)
            )
        except Exception:
            continue
        cv = add_combinations(cv, aliases)
        produced = [a for a in aliases if a in cv.columns]
        if not produced:
            continue
        parts.append(
            cv.unpivot(
                index=["unique_id", "ds", "cutoff", "y"],
                on=produced,
                variable_name="model",
                value_name="mean",
            ).with_columns(pl.col("mean").clip(lower_bound=0.0))
        )
    if not parts:
        return pl.DataFrame(schema=BACKTEST)
    long = pl.concat(parts).with_columns(pl.col("cutoff", "ds").cast(pl.Date))
    return (
        long.join(
            origin_dispersion(
                filled, long["cutoff"].unique().to_list(), dispersion or DispersionParams()
            ),
            on=["unique_id", "cutoff"],
            how="left",
        )
        .select(BACKTEST.names())
        .cast(BACKTEST)
    )


def _seasonal_windows(
    sf: StatsForecast,
    frame: pl.DataFrame,
    params: BacktestParams,
    freq: str,
    seasonality: Seasonality,
) -> pl.DataFrame:
    """What ``cross_validation`` returns, with the group indices of each origin applied."""
    last = frame["ds"].max()
    assert isinstance(last, date)
    ends = pl.select(
        ds=pl.lit(last).dt.offset_by(
            pl.concat_str(
                -pl.int_range(0, params.n_windows) * (params.step or params.horizon)
                - params.horizon,
                pl.lit(polars_offset(freq)[1:]),
            )
        )
    ).to_series()
    windows: list[pl.DataFrame] = []
    for cutoff in sorted(ends.to_list()):
        index = seasonality.index(cutoff, params.horizon)
        train = deseasonalise(frame.filter(pl.col("ds") <= cutoff), seasonality.groups, index)
        out = sf.forecast(h=params.horizon, df=train).with_columns(pl.col("ds").cast(pl.Date))
        models = [c for c in out.columns if c not in ("unique_id", "ds")]
        out = reseasonalise(out, seasonality.groups, index, models)
        windows.append(
            out.join(frame, on=["unique_id", "ds"], how="inner").with_columns(
                cutoff=pl.lit(cutoff, dtype=pl.Date)
            )
        )
    return pl.concat(windows, how="diagonal_relaxed")


def origin_dispersion(
    filled: pl.DataFrame, cutoffs: list[date], params: DispersionParams
) -> pl.DataFrame:
    """``unique_id, cutoff, dispersion`` estimated from the history up to each origin."""
    frames = [
        history_dispersion(filled.filter(pl.col("ds") <= cutoff), params).with_columns(
            cutoff=pl.lit(cutoff, dtype=pl.Date)
        )
        for cutoff in cutoffs
    ]
    return (
        pl.concat(frames)
        if frames
        else pl.DataFrame(
            schema={"unique_id": pl.String, "dispersion": pl.Float64, "cutoff": pl.Date}
        )
    )
