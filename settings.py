"""The one settings object, read at the edges (CLI, flows, API) and passed down as values.

Every field can be set from the environment with the ``PARTSFLOW_`` prefix,
e.g. ``PARTSFLOW_DB_PATH=/srv/partsflow/warehouse.duckdb``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where partsflow keeps its data and the defaults of the nightly run."""

    model_config = SettingsConfigDict(env_prefix="PARTSFLOW_", frozen=True)

    db_path: Path = Path("data/warehouse.duckdb")
    landing_dir: Path = Path("data/landing")
    snapshot_dir: Path = Path("data/published")
    forecast_horizon_days: int = Field(default=14, ge=1, le=366)
    history_days: int = Field(default=365, ge=28)
    #: Forecast rows (one per series and day: ~18 M a night on the large network)
    #: are kept for the newest this many succeeded runs; older runs keep their
    #: plan, accuracy and orders.
    forecast_retention_runs: int = Field(default=7, ge=1)
    #: The default target of SKUs and categories planners have not set one for
    #: (table ``service_targets``): a fill rate (share of units served) unless set otherwise;
    #: ``unit_fill`` asks it of each (forward warehouse, category) group as a whole
    #: (``optimization.replenishment.service.ServiceTarget``, whose ``TARGET_KINDS`` these are).
    service_level: float = Field(default=0.95, gt=0, lt=1)
    target_kind: Literal["fill_rate", "cycle_service", "unit_fill"] = "fill_rate"
    review_period_days: int = Field(default=1, ge=1)
    #: A series with no movement for this many days and stock above S is pulled back to the DC.
    dead_after_days: int = Field(default=90, ge=1)
    #: Wall-clock limit of each DC's allocation MIP; at the limit the better of the
    #: incumbent and the fair share is kept.
    allocation_time_limit_s: float = Field(default=30.0, gt=0)
    #: Nightly transfer budget in cost money per DC (unset: no budget).
    transfer_budget: float | None = Field(default=None, ge=0)
    #: Usable litres of a line-haul van, and the route solver's limit per DC.
    van_capacity_l: int = Field(default=8_000, gt=0)
    linehaul_time_limit_s: float = Field(default=10.0, gt=0)
    #: statsforecast worker processes for the expensive models (AutoETS/AutoTheta) of the
    #: nightly forecast (-1: every core). 1 by default: with sampled selection few series
    #: need them, and forked workers inherit Prefect's SIGTERM handler, which prints a
    #: traceback per worker when the pool shuts down.
    forecast_n_jobs: int = Field(default=1, ge=-1)

    @field_validator("db_path", "landing_dir", "snapshot_dir")
    @classmethod
    def _not_empty(cls, value: Path) -> Path:
        if str(value).strip() in {"", "."}:
            raise ValueError("must name a file or folder, got an empty path")
        return value
