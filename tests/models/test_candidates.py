"""Combination candidates: members fitted once, the forecast is their mean."""

from __future__ import annotations

import polars as pl
import pytest

from models.candidates import COMBINATIONS, add_combinations, base_models, validate_candidates


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
