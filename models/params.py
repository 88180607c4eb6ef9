"""The forecasting engine's parameters (:class:`ForecastParams`), apart from the engine so
that its parts (fitting, selection) can take them without importing the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models.backtest import BacktestParams
from models.candidates import (
    DEFAULT_CANDIDATES,
    EXPENSIVE,
    FALLBACK_MODEL,
    validate_candidates,
)
from models.distributions import CalibrationParams, DispersionParams, validate_levels
from models.profile import ProfileParams
from models.schemas import QUANTILE_LEVELS
from models.series import DEFAULT_SEASON_LENGTH, polars_offset


@dataclass(frozen=True)
class ForecastParams:
    """Everything the engine needs besides the data.

    ``season_length`` defaults by ``freq`` (7 / 52 / 12); ``max_age`` (periods
    before a reused selection is refreshed) to 7 / 4 / 1; ``min_obs`` and
    ``dormant_periods`` of the classification to two and four seasons' worth
    of periods for ``MS``/``W`` and to 28 / 91 days for ``D``.
    ``skip_expensive`` drops AutoETS/AutoTheta from the candidates.
    ``selection_sample`` bounds the cost of (re)selection: at most that many
    series per class × group (per chunk) are backtested, chosen by a stable
    hash of ``unique_id``; the other series take the class × group choice
    (:func:`models.selection.selection_sample`). ``None`` backtests every
    series to select. ``group_seasonality`` applies the group seasonal
    indices of :mod:`models.seasonal` (weekday, season, promotions, level of
    the series' peer group) in the backtest and the forecast; ``None`` (the
    default) means for daily data only — on the monthly RAF data they made
    the backtest-calibrated forecasts slightly worse (validation SPL 0.4940 →
    0.4954 for CrostonOptimized), while the weekday pattern of daily demand is
    structural.

    Two dispersion estimates per series, each tuned on its own benchmark:
    ``dispersion`` (shrinkage weight one demand) is behind the forecast's
    quantiles, chosen for pinball loss (RAF and medium-network SPL, see
    :class:`models.distributions.DispersionParams`); ``stock_dispersion``
    (weight four demands) goes to the stocking policy
    (``SERIES_INFO.stock_dispersion``, ``models.network.NetworkForecast``),
    chosen for inventory at equal achieved fill. With weight one the medium
    network's per-series policy needed 3–6 % more stock at unit fill
    0.80–0.96, and the ``unit_fill`` kind 2–3 % more
    (``bench/bench_replenishment_network.py``, docs/BENCHMARKS.md). A noisier
    per-series ratio scores better on per-series quantiles, but it misplaces
    safety stock between series.
    """

    freq: str = "D"
    horizon: int = 14
    season_length: int | None = None
    levels: tuple[int, ...] = QUANTILE_LEVELS
    n_windows: int = 2
    backtest_horizon: int | None = None
    shrinkage: float = 100.0
    max_age: int | None = None
    min_obs: int | None = None
    dormant_periods: int | None = None
    candidates: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_CANDIDATES)
    skip_expensive: bool = False
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    dispersion: DispersionParams = field(default_factory=DispersionParams)
    stock_dispersion: DispersionParams = field(
        default_factory=lambda: DispersionParams(prior_demands=4.0)
    )
    chunk_size: int = 20_000
    n_jobs: int = 1
    selection_sample: int | None = None
    group_seasonality: bool | None = None

    def __post_init__(self) -> None:
        polars_offset(self.freq)
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 period, got {self.horizon}")
        if self.season_length is not None and self.season_length < 1:
            raise ValueError(f"season length must be at least 1, got {self.season_length}")
        validate_levels(self.levels)
        if self.n_windows < 1:
            raise ValueError(f"n_windows must be at least 1, got {self.n_windows}")
        if self.backtest_horizon is not None and self.backtest_horizon < 1:
            raise ValueError(f"backtest horizon must be at least 1, got {self.backtest_horizon}")
        if self.shrinkage < 0:
            raise ValueError(f"shrinkage must be >= 0, got {self.shrinkage}")
        if self.max_age is not None and self.max_age < 1:
            raise ValueError(f"max_age must be at least 1 period, got {self.max_age}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1 series, got {self.chunk_size}")
        if self.n_jobs < 1 and self.n_jobs != -1:
            raise ValueError(f"n_jobs must be >= 1 or -1, got {self.n_jobs}")
        if self.selection_sample is not None and self.selection_sample < 1:
            raise ValueError(f"selection_sample must be at least 1, got {self.selection_sample}")
        validate_candidates(self.candidates)

    @property
    def season(self) -> int:
        """The season length in effect."""
        return self.season_length or DEFAULT_SEASON_LENGTH[self.freq]

    @property
    def seasonal(self) -> bool:
        """Whether group seasonal indices apply (``group_seasonality``, default daily only)."""
        if self.group_seasonality is None:
            return self.freq == "D"
        return self.group_seasonality

    @property
    def profile(self) -> ProfileParams:
        """Thresholds of the classification."""
        per_season = {"D": (28, 91), "W": (8, 26), "MS": (8, 24)}[self.freq]
        return ProfileParams(
            min_obs=self.min_obs or per_season[0],
            dormant_periods=self.dormant_periods or per_season[1],
        )

    @property
    def backtest(self) -> BacktestParams:
        """Origins of the selection backtest."""
        return BacktestParams(
            horizon=self.backtest_horizon or self.horizon,
            n_windows=self.n_windows,
            min_train=max(self.profile.min_obs, 2),
        )

    @property
    def active_candidates(self) -> dict[str, tuple[str, ...]]:
        """Candidates per class after ``skip_expensive``."""
        out: dict[str, tuple[str, ...]] = {}
        for cls, aliases in self.candidates.items():
            kept = tuple(a for a in aliases if not (self.skip_expensive and a in EXPENSIVE))
            out[cls] = kept or (FALLBACK_MODEL,)
        return out
