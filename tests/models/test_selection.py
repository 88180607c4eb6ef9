"""Model choice follows the backtest: different data, different choice; defaults need evidence."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.engine import forecast
from models.params import ForecastParams
from models.selection import (
    SCORES,
    SELECTION_SCHEMA,
    choose_models,
    selection_sample,
    stale_series,
)

PAIR = {
    cls: ("Naive", "HistoricAverage")
    for cls in ("smooth", "erratic", "intermittent", "lumpy", "dormant", "new")
}


def _series(values: np.ndarray) -> pl.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(values.size)]
    return pl.DataFrame({"unique_id": ["s"] * values.size, "ds": days, "y": values.astype(float)})


@pytest.mark.parametrize(
    ("shape", "expected"),
    [("random_walk", "Naive"), ("white_noise", "HistoricAverage")],
)
def test_backtest_data_decides_the_model(shape: str, expected: str) -> None:
    rng = np.random.default_rng(11)
    if shape == "random_walk":
        values = 200 + np.cumsum(rng.normal(0, 8, 150)).round()
    else:
        values = rng.poisson(50, 150).astype(float)
    params = ForecastParams(freq="D", horizon=7, candidates=PAIR, shrinkage=0.0)
    result = forecast(_series(np.clip(values, 0, None)), params)
    assert result.selection.models["model"].to_list() == [expected]


def test_stale_series_rule() -> None:
    previous = pl.DataFrame(
        {
            "unique_id": ["fresh", "old", "moved"],
            "class": ["smooth", "smooth", "smooth"],
            "group": ["all"] * 3,
            "model": ["SES"] * 3,
            "score": [1.0] * 3,
            # "fresh" was chosen on the current last day: neither old nor due.
            "selected_through": [date(2024, 3, 10), date(2024, 3, 1), date(2024, 3, 8)],
        },
        schema=SELECTION_SCHEMA,
    )
    current = pl.DataFrame(
        {
            "unique_id": ["fresh", "old", "moved", "new"],
            "class": ["smooth", "smooth", "lumpy", "smooth"],
        }
    )
    stale = stale_series(previous, current, date(2024, 3, 10), 7, "D")
    assert sorted(stale.to_list()) == ["moved", "new", "old"]


def test_a_network_chosen_in_one_night_is_refreshed_a_seventh_at_a_time() -> None:
    ids = [f"FW1/K{i:04d}" for i in range(700)]
    chosen = pl.DataFrame(
        {
            "unique_id": ids,
            "class": ["lumpy"] * 700,
            "group": ["all"] * 700,
            "model": ["TSB"] * 700,
            "score": [1.0] * 700,
            "selected_through": [date(2024, 3, 1)] * 700,
        },
        schema=SELECTION_SCHEMA,
    )
    current = chosen.select("unique_id", "class")
    refreshed: list[str] = []
    for day in range(2, 9):  # the seven nights after the cold one
        last = date(2024, 3, day)
        stale = stale_series(chosen, current, last, 7, "D").to_list()
        assert 50 < len(stale) < 150, (last, len(stale))
        refreshed += stale
        chosen = chosen.with_columns(
            selected_through=pl.when(pl.col("unique_id").is_in(stale))
            .then(pl.lit(last))
            .otherwise(pl.col("selected_through"))
        )
    assert sorted(refreshed) == sorted(ids)  # each series exactly once in the week


def test_selection_sample_is_bounded_per_class_and_group_and_stable() -> None:
    membership = pl.DataFrame(
        {
            "unique_id": [f"s{i}" for i in range(30)],
            "class": ["lumpy"] * 20 + ["smooth"] * 10,
            "group": ["brakes", "filters"] * 15,
        }
    )
    sample = selection_sample(membership, 3)
    sizes = sample.group_by("class", "group").len()["len"].to_list()
    assert sorted(sizes) == [3, 3, 3, 3]
    again = selection_sample(membership.reverse(), 3)
    assert sorted(again["unique_id"].to_list()) == sorted(sample["unique_id"].to_list())
    assert selection_sample(membership, None).height == 30


def test_sampled_selection_gives_every_series_its_peers_choice() -> None:
    rng = np.random.default_rng(3)
    history = pl.concat(
        _series(rng.poisson(50, 120)).with_columns(unique_id=pl.lit(f"s{i}")) for i in range(8)
    )
    params = ForecastParams(freq="D", horizon=7, candidates=PAIR, selection_sample=2)
    chosen = forecast(history, params).selection.models
    assert chosen.height == 8
    assert chosen["score"].is_not_null().sum() == 2
    # Two sampled series are weak evidence against the default (Naive, listed first); either
    # way the unsampled series take exactly the choice the sampled ones made as a group.
    sampled = set(chosen.filter(pl.col("score").is_not_null())["model"])
    assert len(sampled) == 1
    assert set(chosen.filter(pl.col("score").is_null())["model"]) == sampled


def _scores(rows: list[tuple[str, str, int, float]], cls: str = "lumpy") -> pl.DataFrame:
    """``SCORES`` from (series, model, window, spl) rows, one class and group."""
    return pl.DataFrame(
        [
            (uid, cls, "all", date(2024, 1, 1) + timedelta(days=30 * w), model, spl)
            for uid, model, w, spl in rows
        ],
        schema=SCORES,
        orient="row",
    )


def _two_window_scores(gain: tuple[float, float], n: int = 40) -> pl.DataFrame:
    """``n`` series; "B" beats the default "A" by ``gain`` per window, with small noise."""
    rng = np.random.default_rng(5)
    rows: list[tuple[str, str, int, float]] = []
    for i in range(n):
        for w, g in enumerate(gain):
            a = 1.0 + rng.normal(0, 0.02)
            rows += [(f"s{i}", "A", w, a), (f"s{i}", "B", w, a - g + rng.normal(0, 0.05))]
    return _scores(rows)


@pytest.mark.parametrize(
    ("gain", "expected"),
    [
        ((0.10, 0.10), "B"),  # better in every window: leaves the default
        ((0.30, -0.05), "A"),  # better on average, worse in one window: keeps the default
        ((0.002, 0.002), "A"),  # better in every window but within noise: keeps the default
    ],
)
def test_group_leaves_the_default_only_on_consistent_evidence(
    gain: tuple[float, float], expected: str
) -> None:
    scores = _two_window_scores(gain)
    membership = scores.select("unique_id", "class", "group").unique()
    chosen = choose_models(scores, membership, {"lumpy": ("A", "B")}, date(2024, 3, 1))
    assert set(chosen["model"]) == {expected}


def test_a_series_leaves_its_group_only_on_strong_own_evidence() -> None:
    scores = pl.concat(
        [
            _two_window_scores((-0.1, -0.1)),  # the group keeps "A"
            # One series where "B" has half the loss of "A" in both windows.
            _scores([("odd", m, w, spl) for w in (0, 1) for m, spl in (("A", 1.0), ("B", 0.5))]),
        ]
    )
    membership = scores.select("unique_id", "class", "group").unique()
    cands = {"lumpy": ("A", "B")}
    default = choose_models(scores, membership, cands, date(2024, 3, 1))
    assert set(default["model"]) == {"A"}
    loose = choose_models(scores, membership, cands, date(2024, 3, 1), shrinkage=0.5)
    assert loose.filter(pl.col("model") == "B")["unique_id"].to_list() == ["odd"]


def test_unscored_series_take_their_peers_choice_among_their_candidates() -> None:
    scores = _two_window_scores((0.1, 0.1))
    membership = pl.concat(
        [
            scores.select("unique_id", "class", "group").unique(),
            pl.DataFrame({"unique_id": ["fresh"], "class": ["new"], "group": ["all"]}),
        ]
    )
    cands = {"lumpy": ("A", "B"), "new": ("A", "B")}
    chosen = choose_models(scores, membership, cands, date(2024, 3, 1))
    fresh = chosen.filter(pl.col("unique_id") == "fresh")
    assert fresh["model"].to_list() == ["B"]
    assert fresh["score"].to_list() == [None]
    only_a = choose_models(
        scores, membership, {"lumpy": ("A", "B"), "new": ("A",)}, date(2024, 3, 1)
    )
    assert only_a.filter(pl.col("unique_id") == "fresh")["model"].to_list() == ["A"]
