"""The vehicles each store serves, month by month (``store_vehicles``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

_NEV_START = np.datetime64("2024-11-01")
_ANNUAL_KM = {"ice": 12_000, "hev": 14_000, "phev": 15_000, "bev": 17_000}


@dataclass(frozen=True)
class Fleet:
    """(store, model) pairs and their vehicles per month of the history."""

    store_vehicles: pl.DataFrame
    pair_store: np.ndarray  # store index of each pair
    pair_model: np.ndarray  # model index of each pair
    vehicles: np.ndarray  # [pair, month]
    annual_km: np.ndarray  # [pair]
    months: np.ndarray  # datetime64[M], the months of the history


def nev_share(month: np.ndarray) -> np.ndarray:
    """The city-wide NEV (BEV + PHEV) share of the serviced fleet in a month.

    Rises linearly from 10% in November 2024 to 25% two years later.
    """
    years = (month.astype("datetime64[D]") - _NEV_START).astype(float) / 365.25
    return np.clip(0.10 + 0.075 * years, 0.03, 0.6)


def _top_k(rng: np.random.Generator, weight: np.ndarray, k: np.ndarray, n_rows: int) -> tuple:
    """Per row, ``k[row]`` distinct columns drawn with probability ~ ``weight``
    (Gumbel top-k), as (row, column) index arrays."""
    keys = np.log(weight)[None, :] + rng.gumbel(size=(n_rows, weight.size))
    rank = np.argsort(-keys, axis=1)
    take = np.arange(weight.size)[None, :] < np.minimum(k, weight.size)[:, None]
    rows = np.broadcast_to(np.arange(n_rows)[:, None], rank.shape)[take]
    return rows, rank[take]


def build_fleet(
    store_ids: pl.Series,
    store_size: np.ndarray,
    models: pl.DataFrame,
    popularity: np.ndarray,
    models_per_store: tuple[int, int],
    start: date,
    end: date,
    rng: np.random.Generator,
) -> Fleet:
    """Each store serves 20-80 models; NEVs are a growing share of its vehicles.

    The store keeps its set of models; vehicle counts follow its fleet size,
    a mild growth and the city's NEV share (times a store factor: some
    neighbourhoods adopt earlier). Older vehicles drive a little less.
    """
    n_st = store_ids.len()
    power = models["powertrain"].to_numpy()
    is_nev = np.isin(power, ("bev", "phev"))
    k = rng.integers(models_per_store[0], models_per_store[1] + 1, n_st)
    k_nev = np.maximum(2, np.round(k * 0.3)).astype(np.int64)
    nev_idx, old_idx = np.flatnonzero(is_nev), np.flatnonzero(~is_nev)
    r1, c1 = _top_k(rng, popularity[nev_idx], k_nev, n_st)
    r2, c2 = _top_k(rng, popularity[old_idx], k - k_nev, n_st)
    pair_store = np.concatenate([r1, r2])
    pair_model = np.concatenate([nev_idx[c1], old_idx[c2]])
    srt = np.lexsort((pair_model, pair_store))
    pair_store, pair_model = pair_store[srt], pair_model[srt]
    pair_nev = is_nev[pair_model]

    weight = popularity[pair_model] * rng.lognormal(0.0, 0.5, pair_store.size)
    group = pair_store * 2 + pair_nev
    group_total = np.bincount(group, weights=weight, minlength=2 * n_st)
    share_in_group = weight / group_total[group]

    months = np.arange(np.datetime64(start, "M"), np.datetime64(end, "M") + 1)
    years = (months.astype("datetime64[D]") - np.datetime64(start)).astype(float) / 365.25
    store_factor = rng.uniform(0.6, 1.4, n_st)
    total = 1_200 * store_size[:, None] * (1 + 0.03 * years)[None, :]
    share = np.clip(nev_share(months)[None, :] * store_factor[:, None], 0.02, 0.8)
    group_vehicles = np.where(
        pair_nev[:, None], (total * share)[pair_store], (total * (1 - share))[pair_store]
    )
    vehicles = np.round(group_vehicles * share_in_group[:, None]).astype(np.int32)

    base_km = np.vectorize(_ANNUAL_KM.__getitem__)(power)[pair_model]
    age = np.maximum(0, start.year - models["year_from"].to_numpy()[pair_model])
    annual_km = base_km * rng.lognormal(0.0, 0.2, pair_store.size) * (1 - 0.015 * age)
    annual_km = np.maximum(3_000, np.round(annual_km, -2)).astype(np.int32)

    n_months = months.size
    store_vehicles = pl.DataFrame(
        {
            "store_id": store_ids.gather(np.repeat(pair_store, n_months)),
            "vehicle_model_id": models["vehicle_model_id"].gather(np.repeat(pair_model, n_months)),
            "month": np.tile(months.astype("datetime64[D]"), pair_store.size),
            "vehicles": vehicles.ravel(),
            "annual_km": np.repeat(annual_km, n_months),
        }
    ).with_columns(pl.col("month").cast(pl.Date))
    return Fleet(store_vehicles, pair_store, pair_model, vehicles, annual_km, months)
