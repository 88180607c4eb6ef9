"""Model choice per series from the backtest, and the rule for reusing a previous choice.

Scoring
-------
Each candidate's backtest forecasts get quantiles from the calibrated
distribution layer (:mod:`models.distributions`); a candidate's score for a
series and backtest window is its mean pinball loss over the requested
levels and the window's periods, divided by the series' scale (scaled
pinball loss, SPL) — the metric the forecasts are judged on.

Choice
------
A series' backtest is short (e.g. 2 × 12 months, mostly zeros), so its own
scores are noisy, and so are the differences between the good candidates of
a class even when averaged over thousands of series: the backtest windows
share their months, and which model wins a year depends on that year
(measured on the RAF data: the candidate with the lowest mean SPL over two
windows was worse than the class's long-run mean on the next year). The
choice is therefore made per peer group — the series' class × the optional
``group`` column (e.g. category) — and it leaves the group's *default*, the
first candidate of the class (:data:`models.candidates.DEFAULT_CANDIDATES`
lists a robust one first), only on consistent evidence: a candidate replaces
the default if its paired mean SPL over the group's series is lower than the
default's **in every backtest window**, by at least one standard error of
that paired mean (a small sampled group needs a clear gain); among those,
the lowest mean SPL wins. One window that disagrees keeps the default. On
the RAF validation split this rule scores SPL 0.4953, against 0.4960 for
the previous rule on the same candidates (per-series SPL plus 100 × the
class mean: in effect the lowest two-window mean) and 0.4964 for the
default alone (with the dispersion prior of four demands of the time; with
today's one demand the rule keeps the default everywhere and scores 0.4931).
Per-series preferences between the good candidates do not persist from one
year to the next on that data (rank correlation < 0.1 between backtest
windows), which is why the choice is made per group.

A series leaves its group's choice only on strong evidence of its own: a
candidate whose SPL is lower in every window and whose mean SPL is at most
``1 / (1 + shrinkage)`` of the group choice's on that series. ``shrinkage``
0 is per-series choice among consistent winners; the default 100 (the
engine's too) makes it very rare: on a validation split inside the RAF
training data (train months 1–60, score 61–72; ``bench/bench_forecast_raf.py
--split validation``) every per-series switch tried (a loss 10 %, 30 %, 50 %
lower in every window) lost accuracy to the group choice.

Series too short to backtest (class ``new``, or shorter than the backtest
needs) and series left out of a sampled selection take the group choice
(same rule, among the candidates allowed for their class) of the backtested
series of, in turn, their class × group, their class, their group, all
series; else the fallback model.

Sampled selection (bounded cold start)
--------------------------------------
Backtesting every candidate for every series costs far more than the nightly
fit (AutoETS ~0.4 s a series with a 3-window backtest). With
``ForecastParams.selection_sample = n`` only ``n`` series per class × group
are backtested (:func:`selection_sample`: the ``n`` smallest hashes of
``unique_id``, so the sample is stable from run to run and needs no random
state); the rest take the class × group choice above. Because the choice is
made per class × group anyway, the sample loses little: it estimates the
group's per-window means. This bounds a cold first night and the weekly refresh
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

#: Standard errors by which a window's paired mean SPL must beat the default's.
_EVIDENCE_SE = 1.0

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

#: Backtest score per (series, backtest window, candidate).
SCORES = pl.Schema(
    {
        "unique_id": pl.String,
        "class": pl.String,
        "group": pl.String,
        "cutoff": pl.Date,
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
    """Scaled pinball loss of every (series, backtest window, candidate).

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
        .group_by("unique_id", "class", "group", "cutoff", "model")
        .agg(pl.col("loss").mean())
        .join(scales.select("unique_id", "scale_mae"), on="unique_id", how="left")
    )
    scale = pl.when(pl.col("scale_mae") > 0).then(pl.col("scale_mae")).otherwise(1.0)
    return per.select(
        "unique_id", "class", "group", "cutoff", "model", spl=pl.col("loss") / scale
    ).cast(SCORES)


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
        Candidate aliases per class; the first is the class's default.
    selected_through
        Last ``ds`` of the history the scores came from.
    shrinkage
        How much stronger than its group's a series' own evidence must be
        to leave the group's choice (≥ 0; see the module docstring).

    Returns
    -------
    pl.DataFrame
        ``SELECTION_SCHEMA``, one row per series of ``membership``;
        ``score`` is the chosen model's mean SPL on the series (null if the
        series was not backtested).
    """
    if shrinkage < 0:
        raise ValueError(f"shrinkage must be >= 0, got {shrinkage}")
    means = scores.group_by("unique_id", "model").agg(score=pl.col("spl").mean())
    peers = _peer_models(membership, scores, candidates)
    own = _own_models(scores, means, peers, shrinkage)
    chosen = (
        peers.join(own, on="unique_id", how="left", suffix="_own")
        .with_columns(model=pl.coalesce("model_own", "model"))
        .join(means, on=["unique_id", "model"], how="left")
    )
    return (
        chosen.with_columns(selected_through=pl.lit(selected_through, dtype=pl.Date))
        .select(SELECTION_SCHEMA.names())
        .cast(SELECTION_SCHEMA)
        .sort("unique_id")
    )


def _group_choices(scores: pl.DataFrame, keys: Sequence[str], ranks: pl.DataFrame) -> pl.DataFrame:
    """The choice of each peer group of ``scores`` (grouped by ``keys``) for each target class.

    ``ranks`` (``target, model, rank``) lists the candidates allowed per
    target class, the default first. Per (``keys``, target): the default
    is the best-ranked allowed model with scores; another model replaces it
    only if its mean SPL, paired with the default's over the series scored
    by both, is lower in every backtest window by at least one standard
    error of that paired mean; the lowest mean of those wins.

    Returns ``*keys, target, model``.
    """
    key = [*keys, "target"]
    on = ["model", "class"] if "class" in keys else ["model"]
    right = ranks.with_columns(pl.col("target").alias("class")) if "class" in keys else ranks
    rows = scores.join(right, on=on)
    default = rows.group_by(key).agg(default=pl.col("model").sort_by("rank").first())
    base = rows.join(default, on=key).filter(pl.col("model") == pl.col("default"))
    paired = rows.join(
        base.select(*key, "unique_id", "cutoff", "default", base="spl"),
        on=[*key, "unique_id", "cutoff"],
    )
    diff = pl.col("spl") - pl.col("base")
    summary = (
        paired.group_by(*key, "default", "model", "cutoff")
        .agg(diff=diff.mean(), se=(diff.std() / pl.len().sqrt()).fill_null(0.0))
        .group_by(*key, "default", "model")
        .agg(
            worst=(pl.col("diff") + _EVIDENCE_SE * pl.col("se")).max(),
            mean=pl.col("diff").mean(),
        )
    )
    return (
        summary.filter((pl.col("worst") < 0) | (pl.col("model") == pl.col("default")))
        .sort("mean", "model")
        .group_by(key, maintain_order=True)
        .first()
        .select(*key, "model")
    )


def _peer_models(
    membership: pl.DataFrame, scores: pl.DataFrame, candidates: Mapping[str, tuple[str, ...]]
) -> pl.DataFrame:
    """``unique_id, class, group, model``: the group choice for every series of ``membership``.

    The peers are the scored series of, in turn, the series' class × group,
    its class, its group and all series; the first level with scores for a
    model allowed in the series' class decides; else the fallback model.
    """
    classes = membership["class"].unique().to_list()
    ranks = pl.DataFrame(
        [
            (str(cls), alias, rank)
            for cls in classes
            for rank, alias in enumerate(candidates.get(str(cls), (FALLBACK_MODEL,)))
        ],
        schema={"target": pl.String, "model": pl.String, "rank": pl.Int64},
        orient="row",
    )
    pending = membership.select("class", "group").unique()
    decided: list[pl.DataFrame] = []
    for keys in (("class", "group"), ("class",), ("group",), ()):
        if pending.is_empty():
            break
        # Only the peers and target classes still undecided: the coarser levels are rare.
        peers = scores.join(pending.select(keys).unique(), on=list(keys)) if keys else scores
        allowed = ranks.join(pending.select(target="class").unique(), on="target", how="semi")
        choice = _group_choices(peers, keys, allowed).drop("class", strict=False)
        on = [*(k for k in keys if k != "class"), "class"]
        found = pending.join(choice.rename({"target": "class"}), on=on, how="inner")
        decided.append(found.select("class", "group", "model"))
        pending = pending.join(found, on=["class", "group"], how="anti")
    decided.append(pending.with_columns(model=pl.lit(FALLBACK_MODEL)))
    return membership.select("unique_id", "class", "group").join(
        pl.concat(decided), on=["class", "group"], how="left"
    )


def _own_models(
    scores: pl.DataFrame, means: pl.DataFrame, peers: pl.DataFrame, shrinkage: float
) -> pl.DataFrame:
    """``unique_id, model`` for the series whose own evidence overrides the group choice."""
    base = means.join(peers.select("unique_id", "model"), on=["unique_id", "model"]).select(
        "unique_id", base="score"
    )
    # The mean condition first: it leaves few (series, model) pairs to check window by window.
    strong = means.join(base, on="unique_id").filter(
        pl.col("score") * (1 + shrinkage) <= pl.col("base")
    )
    if strong.is_empty():
        return pl.DataFrame(schema={"unique_id": pl.String, "model": pl.String})
    windows = scores.join(strong.select("unique_id", "model"), on=["unique_id", "model"])
    chosen_windows = scores.join(
        peers.select("unique_id", "model"), on=["unique_id", "model"]
    ).select("unique_id", "cutoff", base="spl")
    consistent = (
        windows.join(chosen_windows, on=["unique_id", "cutoff"])
        .group_by("unique_id", "model")
        .agg(consistent=(pl.col("spl") < pl.col("base")).all())
        .filter("consistent")
    )
    return (
        strong.join(consistent, on=["unique_id", "model"], how="semi")
        .sort("score", "model")
        .group_by("unique_id", maintain_order=True)
        .first()
        .select("unique_id", "model")
    )


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
