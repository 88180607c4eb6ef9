"""Candidate statsforecast models per demand class, each with a stable alias.

The alias is what the ``model`` column of a forecast carries. Candidates per
class follow the literature on intermittent demand: smoothing and seasonal
models for ``smooth``/``erratic`` series (AutoETS only where the class warrants
its cost, ~0.15 s a series), Croston-family and temporal-aggregation models
(Croston, SBA, TSB, ADIDA, IMAPA) for ``intermittent``/``lumpy``/``dormant``
series, and cheap baselines everywhere so the backtest can prefer them when
nothing else helps. ``new`` series are too short to backtest: they take the
best model of their class × group peers (see :mod:`models.selection`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    AutoTheta,
    CrostonClassic,
    CrostonOptimized,
    CrostonSBA,
    HistoricAverage,
    Naive,
    SeasonalNaive,
    SimpleExponentialSmoothingOptimized,
    WindowAverage,
)

#: alias -> factory(season_length) of a statsforecast model carrying that alias.
MODEL_FACTORIES: Mapping[str, Callable[[int], Any]] = {
    "Naive": lambda m: Naive(alias="Naive"),
    "SeasonalNaive": lambda m: SeasonalNaive(season_length=m, alias="SeasonalNaive"),
    "HistoricAverage": lambda m: HistoricAverage(alias="HistoricAverage"),
    "WindowAverage": lambda m: WindowAverage(window_size=m, alias="WindowAverage"),
    "SES": lambda m: SimpleExponentialSmoothingOptimized(alias="SES"),
    "AutoETS": lambda m: AutoETS(season_length=m, alias="AutoETS"),
    "AutoTheta": lambda m: AutoTheta(season_length=m, alias="AutoTheta"),
    "CrostonClassic": lambda m: CrostonClassic(alias="CrostonClassic"),
    "CrostonOptimized": lambda m: CrostonOptimized(alias="CrostonOptimized"),
    "CrostonSBA": lambda m: CrostonSBA(alias="CrostonSBA"),
    "TSB": lambda m: TSB(alpha_d=0.1, alpha_p=0.1, alias="TSB"),
    "ADIDA": lambda m: ADIDA(alias="ADIDA"),
    "IMAPA": lambda m: IMAPA(alias="IMAPA"),
}

#: Models whose fit costs far more than the rest (used only where the class warrants).
EXPENSIVE: frozenset[str] = frozenset({"AutoETS", "AutoTheta"})

_INTERMITTENT = (
    "CrostonClassic",
    "CrostonSBA",
    "TSB",
    "ADIDA",
    "IMAPA",
    "SES",
    "WindowAverage",
    "HistoricAverage",
)

#: The default candidate aliases per demand class.
DEFAULT_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "smooth": ("SeasonalNaive", "SES", "WindowAverage", "AutoETS", "AutoTheta"),
    "erratic": ("SeasonalNaive", "SES", "WindowAverage", "TSB", "AutoETS"),
    "intermittent": _INTERMITTENT,
    "lumpy": _INTERMITTENT,
    "dormant": ("TSB", "SES", "HistoricAverage", "WindowAverage"),
    "new": ("HistoricAverage", "SES", "TSB", "CrostonSBA"),
}

#: The model of last resort: any series it cannot fit gets the mean of its history.
FALLBACK_MODEL = "HistoricAverage"


def build_models(aliases: tuple[str, ...], season_length: int) -> list[Any]:
    """Instantiate the statsforecast models of ``aliases``.

    Parameters
    ----------
    aliases
        Keys of ``MODEL_FACTORIES``.
    season_length
        Season length in periods (1 = none).

    Returns
    -------
    list
        statsforecast model objects whose ``alias`` is the given alias.

    Raises
    ------
    ValueError
        For an unknown alias.
    """
    unknown = [a for a in aliases if a not in MODEL_FACTORIES]
    if unknown:
        raise ValueError(f"unknown models {unknown}; known: {sorted(MODEL_FACTORIES)}")
    return [MODEL_FACTORIES[a](season_length) for a in aliases]


def validate_candidates(candidates: Mapping[str, tuple[str, ...]]) -> None:
    """Raise ``ValueError`` if a class has no candidate or names an unknown model."""
    for cls, aliases in candidates.items():
        if not aliases:
            raise ValueError(f"class {cls!r} has no candidate model")
        build_models(aliases, 1)
