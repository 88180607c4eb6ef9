"""The one settings object, read at the edges (CLI, flows, API) and passed down as values.

Every field can be set from the environment with the ``PARTSFLOW_`` prefix,
e.g. ``PARTSFLOW_DB_PATH=/srv/partsflow/warehouse.duckdb``. This module is the
one home of the run's defaults: a field that mirrors a parameter of the core
takes that parameter's own default (``_POLICY.dead_after_days``, ...), so a
value is written once, and :meth:`Settings.nightly_params` turns the fields
into the frozen parameter objects the core uses. Prefect's environment
defaults are here too (:func:`use_prefect_defaults`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.config import ApiConfig, ApiLimits, PromiseParams
from models.params import ForecastParams
from ops.engine import DEFAULT_URL as _OPS_URL
from optimization.evaluation.replay import ReplayParams
from optimization.replenishment.allocation import AllocationParams
from optimization.replenishment.policy import PolicyParams
from optimization.replenishment.purchasing import PurchasingParams
from optimization.replenishment.service import ServiceTarget
from optimization.routing.linehaul import LinehaulParams

#: Prefect's environment for every entry point (CLI, tests): the ephemeral server takes
#: 15-40 s to start on a fresh home, analytics would call out, and its run log goes to
#: stdout so that stderr carries only the CLI's own one-line errors.
PREFECT_DEFAULTS: dict[str, str] = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    **{
        f"PREFECT_LOGGING_HANDLERS_{handler}_STREAM": "ext://sys.stdout"
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS")
    },
}


def use_prefect_defaults() -> None:
    """Set :data:`PREFECT_DEFAULTS` where the environment does not; call before importing
    Prefect."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class DataPaths:
    """Where a run reads and writes: the warehouse database, the landing folder, the
    published snapshots."""

    db: Path
    landing: Path | None  # None: plan on what is loaded, ingest nothing
    snapshots: Path
    #: The operational store (API.md): the night reads its orders, returns and released
    #: transfers at its start and writes tonight's proposals into it when it publishes.
    #: None: no store (a simulation's closed loop); the workflow stays in the DuckDB tables.
    ops_url: str | None = None


@dataclass(frozen=True)
class NightlyParams:
    """Everything a nightly run needs besides its paths and as-of date; the defaults are the
    nightly's defaults (``Settings().nightly_params() == NightlyParams()``).

    ``history_days`` of demand feed the forecast; stocked-but-unsold parts of a
    warehouse opened within ``new_warehouse_days`` are cold-started; forecast
    rows are kept for the newest ``forecast_retention_runs`` succeeded runs. The
    forecast is daily and backtests at most 20 series per class x category and
    warehouse when it chooses models; the rest take their peers' choice (bounds a
    cold first night: bench/bench_forecast_speed.py).
    """

    forecast: ForecastParams = field(
        default_factory=lambda: ForecastParams(freq="D", selection_sample=20)
    )
    policy: PolicyParams = field(default_factory=PolicyParams)
    allocation: AllocationParams = field(default_factory=AllocationParams)
    linehaul: LinehaulParams = field(default_factory=LinehaulParams)
    replay: ReplayParams = field(default_factory=ReplayParams)
    purchasing: PurchasingParams = field(default_factory=PurchasingParams)
    history_days: int = 365
    new_warehouse_days: int = 90
    forecast_retention_runs: int = 7

    def __post_init__(self) -> None:
        if self.history_days < 28:
            raise ValueError(f"history_days must be at least 28, got {self.history_days}")
        if self.new_warehouse_days < 0:
            raise ValueError(f"new_warehouse_days must be >= 0, got {self.new_warehouse_days}")
        if self.forecast_retention_runs < 1:
            raise ValueError(
                f"forecast_retention_runs must be at least 1, got {self.forecast_retention_runs}"
            )


_NIGHTLY = NightlyParams()
_FORECAST, _POLICY = _NIGHTLY.forecast, _NIGHTLY.policy
_ALLOCATION, _LINEHAUL = _NIGHTLY.allocation, _NIGHTLY.linehaul
_DC_TARGET = _NIGHTLY.purchasing.target
_LIMITS, _PROMISE = ApiLimits(), PromiseParams()


class Settings(BaseSettings):
    """Where partsflow keeps its data and the defaults of the nightly run."""

    model_config = SettingsConfigDict(env_prefix="PARTSFLOW_", frozen=True)

    db_path: Path = Path("data/warehouse.duckdb")
    landing_dir: Path = Path("data/landing")
    snapshot_dir: Path = Path("data/published")
    forecast_horizon_days: int = Field(default=_FORECAST.horizon, ge=1, le=366)
    history_days: int = Field(default=_NIGHTLY.history_days, ge=28)
    #: Forecast rows (one per series and day: ~18 M a night on the large network)
    #: are kept for the newest this many succeeded runs; older runs keep their
    #: plan, accuracy and orders.
    forecast_retention_runs: int = Field(default=_NIGHTLY.forecast_retention_runs, ge=1)
    #: Series backtested per class x category and warehouse when choosing models (unset:
    #: every series).
    forecast_selection_sample: int | None = Field(default=_FORECAST.selection_sample, ge=1)
    #: A warehouse opened this recently has its stocked-but-unsold parts cold-started.
    new_warehouse_days: int = Field(default=_NIGHTLY.new_warehouse_days, ge=0)
    #: The default target of SKUs and categories planners have not set one for
    #: (table ``service_targets``): a ``unit_fill`` of 0.95, asked of each (forward
    #: warehouse, category) group as a whole; ``fill_rate`` asks it of every series
    #: (``optimization.replenishment.service.ServiceTarget``, whose ``TARGET_KINDS`` these are).
    service_level: float = Field(default=_POLICY.default_target.level, gt=0, lt=1)
    target_kind: Literal["fill_rate", "cycle_service", "unit_fill"] = _POLICY.default_target.kind
    review_period_days: int = Field(default=_POLICY.review_period_days, ge=1)
    #: The return horizon: a series with no sale for this many days and stock above S is
    #: pulled back to the DC, and the range decision asks what sells within it.
    dead_after_days: int = Field(default=_POLICY.dead_after_days, ge=1)
    #: The most days of demand a transfer may leave at a forward warehouse (at most
    #: the return horizon).
    cover_cap_days: float = Field(default=_POLICY.cover_cap_days, gt=0)
    #: The DC's own target when it orders from its suppliers (a fill rate or a cycle
    #: service; ``optimization.replenishment.purchasing.PurchasingParams``).
    dc_target_kind: Literal["fill_rate", "cycle_service"] = _DC_TARGET.kind  # type: ignore[assignment]
    dc_service_level: float = Field(default=_DC_TARGET.level, gt=0, lt=1)
    #: Wall-clock limit of each DC's allocation MIP; at the limit the better of the
    #: incumbent and the fair share is kept.
    allocation_time_limit_s: float = Field(default=_ALLOCATION.time_limit_s, gt=0)
    #: Nightly transfer budget in cost money per DC (unset: no budget).
    transfer_budget: float | None = Field(default=_ALLOCATION.budget, ge=0)
    #: Usable litres of a line-haul van, and the route solver's limit per DC.
    van_capacity_l: int = Field(default=_LINEHAUL.van_capacity_l, gt=0)
    linehaul_time_limit_s: float = Field(default=_LINEHAUL.time_limit_s, gt=0)
    #: statsforecast worker processes for the expensive models (AutoETS/AutoTheta) of the
    #: nightly forecast (-1: every core). 1 by default: with sampled selection few series
    #: need them, and forked workers inherit Prefect's SIGTERM handler, which prints a
    #: traceback per worker when the pool shuts down.
    forecast_n_jobs: int = Field(default=_FORECAST.n_jobs, ge=-1)
    #: The operational store (API.md): a SQLite file in WAL mode, or ``postgresql://...``.
    ops_url: str = _OPS_URL
    #: The API refuses request bodies above this many bytes (413).
    api_max_body_bytes: int = Field(default=_LIMITS.max_body_bytes, ge=1024)
    #: Per API key and server process, a token bucket: sustained requests a second and
    #: the burst a key may spend at once before it is answered 429.
    api_rate_per_s: float = Field(default=_LIMITS.rate_per_s, gt=0)
    api_rate_burst: int = Field(default=_LIMITS.rate_burst, ge=1)
    #: How often (seconds) the API looks for a newer published snapshot.
    api_snapshot_poll_s: float = Field(default=_LIMITS.snapshot_poll_s, gt=0, le=60)
    #: How long (seconds) a worker lets a verified API key in without reading the store:
    #: the longest a revoked key still works (0: revocation is seen on the next request).
    api_key_cache_s: float = Field(default=_LIMITS.key_cache_s, ge=0, le=60)
    #: The delivery promise: a warehouse's load is its orders not yet dispatched placed in
    #: the last this many minutes, shared by its riders (this many where the snapshot's
    #: dispatch replay does not say).
    promise_load_window_min: int = Field(default=_PROMISE.load_window_min, ge=1, le=240)
    promise_default_riders: int = Field(default=_PROMISE.default_riders, ge=1)
    #: ``partsflow schedule``: when the nightly runs (a five-field cron in
    #: ``schedule_timezone``; flows/schedule.py checks it), and the weekday whose night
    #: re-selects every series' model (``never``: only the nightly's rolling refresh).
    schedule_cron: str = "30 1 * * *"
    schedule_timezone: str = "Asia/Shanghai"
    reselect_weekday: Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat", "never"] = "sun"
    #: A Dask scheduler (``tcp://host:8786``) for the nightly's per-warehouse tasks
    #: (docs/DEPLOYMENT.md); unset or empty: they run in the nightly's own process.
    dask_address: str | None = None

    @field_validator("db_path", "landing_dir", "snapshot_dir")
    @classmethod
    def _not_empty(cls, value: Path) -> Path:
        if str(value).strip() in {"", "."}:
            raise ValueError("must name a file or folder, got an empty path")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"not an IANA time zone (e.g. Asia/Shanghai): {value!r}") from None
        return value

    @field_validator("dask_address")
    @classmethod
    def _dask_address(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("ops_url")
    @classmethod
    def _ops_url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the operational store, got an empty URL")
        return value

    @model_validator(mode="after")
    def _parameters_hold(self) -> Settings:
        # The core's own checks across fields (e.g. the cover cap within the horizon).
        self.nightly_params()
        self.api_config()
        return self

    def paths(
        self, db: Path | None = None, landing: Path | None = None, snapshots: Path | None = None
    ) -> DataPaths:
        """The data paths, each overridden where given (a command's ``--db``, ...)."""
        return DataPaths(
            db=db or self.db_path,
            landing=landing or self.landing_dir,
            snapshots=snapshots or self.snapshot_dir,
            ops_url=self.ops_url,
        )

    def api_config(self) -> ApiConfig:
        """What the HTTP API needs: where its data is, its limits and the promise's knobs."""
        return ApiConfig(
            snapshot_dir=self.snapshot_dir,
            ops_url=self.ops_url,
            limits=ApiLimits(
                max_body_bytes=self.api_max_body_bytes,
                rate_per_s=self.api_rate_per_s,
                rate_burst=self.api_rate_burst,
                snapshot_poll_s=self.api_snapshot_poll_s,
                key_cache_s=self.api_key_cache_s,
            ),
            promise=PromiseParams(
                load_window_min=self.promise_load_window_min,
                default_riders=self.promise_default_riders,
            ),
        )

    def linehaul_params(self) -> LinehaulParams:
        """The DC vans of the nightly and of a line-haul re-plan."""
        return replace(
            _LINEHAUL, van_capacity_l=self.van_capacity_l, time_limit_s=self.linehaul_time_limit_s
        )

    def nightly_params(self) -> NightlyParams:
        """The parameter objects of a nightly run, from these settings."""
        return NightlyParams(
            forecast=replace(
                _FORECAST,
                horizon=self.forecast_horizon_days,
                n_jobs=self.forecast_n_jobs,
                selection_sample=self.forecast_selection_sample,
            ),
            policy=replace(
                _POLICY,
                review_period_days=self.review_period_days,
                default_target=ServiceTarget(self.target_kind, self.service_level),
                dead_after_days=self.dead_after_days,
                cover_cap_days=self.cover_cap_days,
            ),
            allocation=replace(
                _ALLOCATION, budget=self.transfer_budget, time_limit_s=self.allocation_time_limit_s
            ),
            linehaul=self.linehaul_params(),
            replay=replace(_NIGHTLY.replay, review_period_days=self.review_period_days),
            purchasing=PurchasingParams(ServiceTarget(self.dc_target_kind, self.dc_service_level)),
            history_days=self.history_days,
            new_warehouse_days=self.new_warehouse_days,
            forecast_retention_runs=self.forecast_retention_runs,
        )
