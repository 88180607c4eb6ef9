"""Candidates: defaults per class; combinations fit members once and average them."""

from __future__ import annotations

import polars as pl
import pytest

from models.candidates import (
    COMBINATIONS,
    DEFAULT_CANDIDATES,
    add_combinations,
    base_models,
    validate_candidates,
)


def test_base_models_expand_combinations_once() -> None:
    members = COMBINATIONS["ComboLevel"]
    assert base_models(("SES", "ComboLevel")) == ("SES", *[m for m in members if m != "SES"])
    assert base_models(("HistoricAverage",)) == ("HistoricAverage",)


def test_combination_is_the_mean_of_its_members() -> None:
    members = COMBINATIONS["ComboLevel"]
    frame = pl.DataFrame({m: [float(i + 1)] for i, m in enumerate(members)})
    out = add_combinations(frame, ("ComboLevel",))
    assert out["ComboLevel"][0] == pytest.approx(sum(range(1, len(members) + 1)) / len(members))


def test_unknown_candidate_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        validate_candidates({"smooth": ("NoSuchModel",)})


def test_intermittent_classes_default_to_the_long_run_mean() -> None:
    # The selection leaves a class's first candidate only on consistent backtest evidence.
    for cls in ("intermittent", "lumpy"):
        assert DEFAULT_CANDIDATES[cls][0] == "HistoricAverage"
    validate_candidates(DEFAULT_CANDIDATES)


def test_rate_combination_averages_the_mean_and_the_intermittent_rates() -> None:
    assert base_models(("ComboRate",)) == ("HistoricAverage", "CrostonSBA", "ADIDA", "IMAPA")
