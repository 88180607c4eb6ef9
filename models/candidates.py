"""Candidate statsforecast models per demand class, each with a stable alias.

The alias is what the ``model`` column of a forecast carries. Candidates per
class follow the literature on intermittent demand: smoothing and seasonal
models for ``smooth``/``erratic`` series (AutoETS only where the class warrants
its cost, ~0.15 s a series), Croston-family and temporal-aggregation models
(Croston, SBA, TSB, ADIDA, IMAPA) for ``intermittent``/``lumpy``/``dormant``
series, and cheap baselines everywhere so the backtest can prefer them when
nothing else helps. ``new`` series are too short to backtest: they take the
choice of their class × group peers (see :mod:`models.selection`).

The first candidate of a class is its *default*: the selection leaves it
for another candidate only when the backtest prefers that one in every
window (:mod:`models.selection`). For intermittent and lumpy demand the
default is the long-run mean (``HistoricAverage``): the good alternatives
(Croston-type rates, temporal aggregation, combinations) are within a
fraction of a percent of it and trade places from one year to the next; on
the RAF validation split (``bench/bench_forecast_raf.py --split
validation``) starting from any of them instead (CrostonOptimized, SBA,
IMAPA, ComboSlow, ComboRate) let the rule drift to ComboSlow for the
intermittent class, which scored worse on the next year (SPL 0.4960 against
0.4953).

Combinations
------------
A *combination* candidate (``COMBINATIONS``) forecasts the mean of its
members' forecasts. Averaging models with different biases (a level that
follows the last demands, a long-run mean, a Croston-type rate) is the most
reliable accuracy gain in the forecasting competitions (M4, M5), and it is
still chosen only if it wins the backtest like any other candidate: members
are fitted once and shared by every combination that uses them
(:func:`base_models`, :func:`add_combinations`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
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

#: Combination alias -> member aliases; the forecast is the mean of the members'.
COMBINATIONS: Mapping[str, tuple[str, ...]] = {
    "ComboLevel": ("HistoricAverage", "SES", "TSB"),
    "ComboIntermittent": ("HistoricAverage", "CrostonSBA", "TSB", "ADIDA", "IMAPA"),
    "ComboSlow": ("HistoricAverage", "ADIDA", "IMAPA"),
    "ComboRate": ("HistoricAverage", "CrostonSBA", "ADIDA", "IMAPA"),
}

#: Models whose fit costs far more than the rest (used only where the class warrants).
EXPENSIVE: frozenset[str] = frozenset({"AutoETS", "AutoTheta"})

_INTERMITTENT = (
    "HistoricAverage",
    "CrostonClassic",
    "CrostonOptimized",
    "CrostonSBA",
    "TSB",
    "ADIDA",
    "IMAPA",
    "SES",
    "WindowAverage",
    "ComboLevel",
    "ComboIntermittent",
    "ComboSlow",
    "ComboRate",
)

#: The default candidate aliases per demand class, each class's default first.
DEFAULT_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "smooth": ("SeasonalNaive", "SES", "WindowAverage", "AutoETS", "AutoTheta"),
    "erratic": ("SeasonalNaive", "SES", "WindowAverage", "TSB", "AutoETS", "ComboLevel"),
    "intermittent": _INTERMITTENT,
    "lumpy": _INTERMITTENT,
    "dormant": ("TSB", "SES", "HistoricAverage", "WindowAverage", "ComboLevel"),
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


def base_models(aliases: tuple[str, ...]) -> tuple[str, ...]:
    """The single models to fit for ``aliases``: combinations replaced by their members.

    Order is kept and duplicates dropped, so a member shared by several
    candidates is fitted once.

    Raises
    ------
    ValueError
        For an alias that is neither a model nor a combination.
    """
    out: list[str] = []
    for alias in aliases:
        members = COMBINATIONS.get(alias, (alias,))
        for member in members:
            if member not in MODEL_FACTORIES:
                raise ValueError(
                    f"unknown model {member!r}; known: {sorted([*MODEL_FACTORIES, *COMBINATIONS])}"
                )
            if member not in out:
                out.append(member)
    return tuple(out)


def add_combinations(frame: pl.DataFrame, aliases: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` (one column per base model) plus a column per combination of ``aliases``.

    A combination is the mean of its members' columns; where a member is
    missing (null) it is the mean of the others.
    """
    combos = [a for a in aliases if a in COMBINATIONS]
    return frame.with_columns(
        pl.mean_horizontal([pl.col(m) for m in COMBINATIONS[a]]).alias(a) for a in combos
    )


def validate_candidates(candidates: Mapping[str, tuple[str, ...]]) -> None:
    """Raise ``ValueError`` if a class has no candidate or names an unknown model."""
    for cls, aliases in candidates.items():
        if not aliases:
            raise ValueError(f"class {cls!r} has no candidate model")
        base_models(aliases)
