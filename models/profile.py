"""The one demand class per series the engine uses, from ``models.classification``.

:func:`models.classification.classify_demand` gives the Syntetos–Boylan class
(smooth, erratic, intermittent, lumpy on ADI/CV² with cut-offs 1.32 / 0.49)
and the life-stage flags ``new`` and ``dormant``. The engine needs a single
label per series (candidates are chosen per label), so the flags win:
``new`` (first sale fewer than ``min_obs`` periods before the end), then
``dormant`` (no sale in the last ``dormant_periods`` periods, or none at
all), else the Syntetos–Boylan class.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from models.classification import classify_demand
from models.series import SERIES, Runs

#: Every class a series can have, in a stable order.
CLASSES: tuple[str, ...] = ("smooth", "erratic", "intermittent", "lumpy", "new", "dormant")

#: One row per series.
PROFILE = pl.Schema(
    {
        "unique_id": pl.String,
        "n_obs": pl.Int64,
        "n_nonzero": pl.Int64,
        "adi": pl.Float64,
        "cv2": pl.Float64,
        "periods_since_demand": pl.Int64,
        "class": pl.String,
    }
)


@dataclass(frozen=True)
class ProfileParams:
    """Thresholds of the ``new`` and ``dormant`` labels (in periods)."""

    min_obs: int = 8
    dormant_periods: int = 52

    def __post_init__(self) -> None:
        if self.min_obs < 1:
            raise ValueError(f"min_obs must be at least 1, got {self.min_obs}")
        if self.dormant_periods < 1:
            raise ValueError(f"dormant_periods must be at least 1, got {self.dormant_periods}")


def profile_series(
    filled: pl.DataFrame, params: ProfileParams = ProfileParams(), runs: Runs | None = None
) -> pl.DataFrame:
    """Summarise and classify every series of a dense long frame.

    Parameters
    ----------
    filled
        Dense history, schema ``SERIES`` (every period present, zeros included).
    params
        Thresholds of the ``new`` and ``dormant`` classes.
    runs
        ``models.series.sorted_runs(filled)`` when the caller has it already.

    Returns
    -------
    pl.DataFrame
        ``PROFILE``, one row per series, sorted by ``unique_id``.
    """
    if filled.schema != SERIES:
        raise ValueError(f"history must have schema {SERIES}, got {filled.schema}")
    classes = classify_demand(
        filled, new_periods=params.min_obs, dormant_periods=params.dormant_periods, runs=runs
    )
    cls = (
        pl.when(pl.col("new"))
        .then(pl.lit("new"))
        .when(pl.col("dormant") | pl.col("class").is_null())
        .then(pl.lit("dormant"))
        .otherwise(pl.col("class"))
    )
    return (
        classes.select(
            "unique_id",
            n_obs="n_periods",
            n_nonzero="n_nonzero",
            adi="adi",
            cv2="cv2",
            periods_since_demand="periods_since_last_sale",
            **{"class": cls},
        )
        .cast(PROFILE)
        .sort("unique_id")
    )
