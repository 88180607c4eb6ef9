"""Model choice per series from the backtest, and the rule for reusing a previous choice.

Scoring
-------
Each candidate's backtest forecasts get quantiles from the calibrated
distribution layer (:mod:`models.distributions`); a candidate's score for a
series is its mean pinball loss over the requested levels and the backtest
periods, divided by the series' scale (scaled pinball loss, SPL).

Choice
------
A series' backtest is short (e.g. 2 × 12 months, mostly zeros), so its own
scores are noisy: picking the per-series minimum overfits (measured on the
RAF data it is worse than any decent single model). The choice therefore
shrinks towards the series' peers: a series takes the candidate minimising
``spl(series, m) + shrinkage · mean spl(group, m)``, where the group is the
series' class × the optional ``group`` column (e.g. category). ``shrinkage``
0 is pure per-series choice, a large value one model per class × group. The
default 100 (the engine's too) is effectively the class × group choice with
the series' own scores breaking near-ties: on a validation split inside the
RAF training data (train months 1–60, score 61–72) it beat 10 and 30, whose
per-series choices add backtest noise (``bench/bench_forecast_raf.py --split
validation``).
Series too short to backtest (class ``new``, or shorter than the backtest
needs) and series left out of a sampled selection take the candidate allowed
for their class with the lowest mean SPL among the backtested series of, in
turn, their class × group, their class, their group, all series; else the
fallback model.

Sampled selection (bounded cold start)
--------------------------------------
Backtesting every candidate for every series costs far more than the nightly
fit (AutoETS ~0.4 s a series with a 3-window backtest). With
``ForecastParams.selection_sample = n`` only ``n`` series per class × group
are backtested (:func:`selection_sample`: the ``n`` smallest hashes of
``unique_id``, so the sample is stable from run to run and needs no random
state); the rest take the class × group choice above. Because the choice is
shrunk towards the class × group mean anyway, the sample loses little: it
estimates that mean. This bounds a cold first night and the weekly refresh
at about ``n × classes × groups`` backtests per chunk, whatever the network size.

Refresh rule (reuse)
--------------------
Selection is the expensive step (it fits every candidate at every origin);
the choice changes slowly. :func:`stale_series` tells which series of a
previous selection must be re-selected: those not in it (new series), those
whose class changed (e.g. intermittent → dormant), and those whose refresh
is due. Each series has a refresh slot, a stable hash of its ``unique_id``
modulo ``max_age`` (default in the engine: 7 for daily data — a weekly
refresh — 4 for weekly, 1 for monthly): a series chosen before the current
end of history is refreshed when the period number of that end falls on its
slot, and in any case once its choice is ``max_age`` periods old. So a
network chosen in one cold night is refreshed a seventh at a time over the
following week instead of all at once seven nights later. All others keep
their model and calibration and are only re-fitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from models.candidates import FALLBACK_MODEL
from models.distributions import CALIBRATION, calibrated_quantiles, level_columns
from models.metrics import pinball

#: One row per series: the chosen model and when it was chosen.
SELECTION_SCHEMA = pl.Schema(
    {
        "unique_id": pl.String,
        "class": pl.String,
        "group": pl.String,
        "model": pl.String,
        "score": pl.Float64,
        "selected_through": pl.Date,
    }
)

#: Backtest score per (series, candidate).
SCORES = pl.Schema(
    {
        "unique_id": pl.String,
        "class": pl.String,
        "group": pl.String,
        "model": pl.String,
        "spl": pl.Float64,
    }
)


@dataclass(frozen=True)
class Selection:
    """A model choice that can be reused: per-series models plus the calibration they used."""

    models: pl.DataFrame
    calibration: pl.DataFrame

    def __post_init__(self) -> None:
        if self.models.schema != SELECTION_SCHEMA:
            raise ValueError(
                f"models must have schema {SELECTION_SCHEMA}, got {self.models.schema}"
            )
        if self.calibration.schema != CALIBRATION:
            raise ValueError(
                f"calibration must have schema {CALIBRATION}, got {self.calibration.schema}"
            )

    @staticmethod
    def empty() -> Selection:
        """A selection with no series (everything is new)."""
        return Selection(pl.DataFrame(schema=SELECTION_SCHEMA), pl.DataFrame(schema=CALIBRATION))


def score_backtest(
    backtest: pl.DataFrame,
    membership: pl.DataFrame,
    scales: pl.DataFrame,
    calibration: pl.DataFrame,
    levels: Sequence[int],
) -> pl.DataFrame:
    """Scaled pinball loss of every (series, candidate) over the backtest.

    Parameters
    ----------
    backtest
        ``models.backtest.BACKTEST`` rows.
    membership
        ``unique_id, class, group`` per series.
    scales
        ``models.metrics.SCALES`` of the series (training history).
    calibration
        ``CALIBRATION`` fitted on the same backtest.
    levels
        Quantile levels in percent.

    Returns
    -------
    pl.DataFrame
        ``SCORES``. A series with a zero scale is scored on raw pinball loss
        (its choice is unaffected; only cross-series means would be).
    """
    rows = backtest.join(membership, on="unique_id", how="inner")
    rows = calibrated_quantiles(rows, calibration, levels)
    losses = [
        pinball(pl.col("y"), pl.col(c), lv)
        for lv, c in zip(levels, level_columns(levels), strict=True)
    ]
    per = (
        rows.with_columns(loss=pl.sum_horizontal(losses) / len(levels))
        .group_by("unique_id", "class", "group", "model")
        .agg(pl.col("loss").mean())
        .join(scales.select("unique_id", "scale_mae"), on="unique_id", how="left")
    )
    scale = pl.when(pl.col("scale_mae") > 0).then(pl.col("scale_mae")).otherwise(1.0)
    return per.select("unique_id", "class", "group", "model", spl=pl.col("loss") / scale).cast(
        SCORES
    )


def choose_models(
    scores: pl.DataFrame,
    membership: pl.DataFrame,
    candidates: Mapping[str, tuple[str, ...]],
    selected_through: date,
    shrinkage: float = 100.0,
) -> pl.DataFrame:
    """Choose one model per series (see the module docstring for the rule).

    Parameters
    ----------
    scores
        ``SCORES`` of the backtested series.
    membership
        ``unique_id, class, group`` of every series to choose for.
    candidates
        Candidate aliases per class (for series without scores).
    selected_through
        Last ``ds`` of the history the scores came from.
    shrinkage
        Weight of the class × group mean score (≥ 0).

    Returns
    -------
    pl.DataFrame
        ``SELECTION_SCHEMA``, one row per series of ``membership``.
    """
    if shrinkage < 0:
        raise ValueError(f"shrinkage must be >= 0, got {shrinkage}")
    group_mean = scores.group_by("class", "group", "model").agg(group_spl=pl.col("spl").mean())
    scored = (
        scores.join(group_mean, on=["class", "group", "model"])
        .with_columns(objective=pl.col("spl") + shrinkage * pl.col("group_spl"))
        .sort("objective", "model")
        .group_by("unique_id", maintain_order=True)
        .first()
        .select("unique_id", "model", score="spl")
    )
    chosen = membership.join(scored, on="unique_id", how="left")
    unscored = chosen.filter(pl.col("model").is_null()).drop("model", "score")
    if not unscored.is_empty():
        chosen = pl.concat(
            [
                chosen.filter(pl.col("model").is_not_null()),
                _peer_models(unscored, scores, candidates),
            ],
            how="diagonal_relaxed",
        )
    return (
        chosen.with_columns(selected_through=pl.lit(selected_through, dtype=pl.Date))
        .select(SELECTION_SCHEMA.names())
        .cast(SELECTION_SCHEMA)
        .sort("unique_id")
    )


def _peer_models(
    unscored: pl.DataFrame, scores: pl.DataFrame, candidates: Mapping[str, tuple[str, ...]]
) -> pl.DataFrame:
    """Best candidate of each unscored series' class among its peers' scores."""
    tables = {
        keys: scores.group_by(*keys, "model").agg(spl=pl.col("spl").mean())
        for keys in (("class", "group"), ("class",), ("group",))
    }
    overall = scores.group_by("model").agg(spl=pl.col("spl").mean())
    rows: list[pl.DataFrame] = []
    for (cls, group), part in unscored.group_by("class", "group"):
        allowed = candidates.get(str(cls), (FALLBACK_MODEL,))
        model = FALLBACK_MODEL
        peers = [
            tables[("class", "group")].filter(
                (pl.col("class") == cls) & (pl.col("group") == group)
            ),
            tables[("class",)].filter(pl.col("class") == cls),
            tables[("group",)].filter(pl.col("group") == group),
            overall,
        ]
        for table in peers:
            ranked = table.filter(pl.col("model").is_in(allowed)).sort("spl", "model")
            if not ranked.is_empty():
                model = str(ranked["model"][0])
                break
        rows.append(part.with_columns(model=pl.lit(model), score=pl.lit(None, dtype=pl.Float64)))
    return pl.concat(rows)


def selection_sample(membership: pl.DataFrame, per_group: int | None) -> pl.DataFrame:
    """At most ``per_group`` series of each class × group of ``membership`` (all if ``None``).

    The sample is the ``per_group`` series with the smallest hash of
    ``unique_id``: stable across runs and chunks, with no random state.
    """
    if per_group is None:
        return membership
    if per_group < 1:
        raise ValueError(f"per_group must be at least 1, got {per_group}")
    rank = pl.col("unique_id").hash(seed=0).rank("ordinal").over("class", "group")
    return membership.filter(rank <= per_group)


def stale_series(
    previous: pl.DataFrame, membership: pl.DataFrame, last_ds: date, max_age: int, freq: str
) -> pl.Series:
    """Series of ``membership`` that must be re-selected (see the refresh rule above).

    Parameters
    ----------
    previous
        ``SELECTION_SCHEMA`` of an earlier run.
    membership
        ``unique_id, class`` (and ``group``) of the current series.
    last_ds
        Last ``ds`` of the current history.
    max_age
        Periods after which a choice is refreshed (≥ 1).
    freq
        ``D``, ``W`` or ``MS``: how ``max_age`` periods are counted.

    Returns
    -------
    pl.Series
        ``unique_id`` of the series to re-select.
    """
    if max_age < 1:
        raise ValueError(f"max_age must be at least 1 period, got {max_age}")
    from models.series import polars_offset

    unit = polars_offset(freq)[1:]
    oldest_fresh = pl.lit(last_ds).dt.offset_by(f"-{max_age}{unit}")
    joined = membership.select("unique_id", "class").join(
        previous.select("unique_id", prev_class="class", through="selected_through"),
        on="unique_id",
        how="left",
    )
    due = (pl.col("unique_id").hash(seed=0) % max_age) == _period_number(last_ds, freq) % max_age
    stale = joined.filter(
        pl.col("prev_class").is_null()
        | (pl.col("prev_class") != pl.col("class"))
        | (pl.col("through") <= oldest_fresh)
        | (due & (pl.col("through") < pl.lit(last_ds)))
    )
    return stale["unique_id"]


def _period_number(day: date, freq: str) -> int:
    """A running number of ``day``'s period: days, weeks or months since 1970."""
    if freq == "MS":
        return (day.year - 1970) * 12 + day.month - 1
    days = (day - date(1970, 1, 1)).days
    return days // 7 if freq == "W" else days
