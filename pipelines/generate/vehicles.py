"""Vehicle models sold in the city: makes, powertrains, generations."""

from __future__ import annotations

import numpy as np
import polars as pl

# make, model, powertrain, segment, relative popularity, first year on sale
_BASE_MODELS = (
    ("Volkswagen", "朗逸 Lavida", "ice", "compact", 10.0, 2008),
    ("Volkswagen", "速腾 Sagitar", "ice", "compact", 7.0, 2006),
    ("Volkswagen", "帕萨特 Passat", "ice", "midsize", 5.0, 2011),
    ("Volkswagen", "途观L Tiguan L", "ice", "suv", 5.0, 2017),
    ("Toyota", "卡罗拉 Corolla", "ice", "compact", 7.0, 2007),
    ("Toyota", "卡罗拉双擎 Corolla Hybrid", "hev", "compact", 4.0, 2015),
    ("Toyota", "凯美瑞 Camry", "hev", "midsize", 5.0, 2012),
    ("Toyota", "RAV4 荣放", "ice", "suv", 4.0, 2013),
    ("Honda", "思域 Civic", "ice", "compact", 5.0, 2012),
    ("Honda", "雅阁 Accord", "hev", "midsize", 5.0, 2013),
    ("Honda", "CR-V", "ice", "suv", 5.0, 2012),
    ("Nissan", "轩逸 Sylphy", "ice", "compact", 9.0, 2009),
    ("Buick", "英朗 Excelle GT", "ice", "compact", 6.0, 2010),
    ("Buick", "GL8", "ice", "mpv", 3.0, 2011),
    ("Haval", "H6", "ice", "suv", 6.0, 2011),
    ("Geely", "帝豪 Emgrand", "ice", "compact", 5.0, 2009),
    ("Geely", "博越 Boyue", "ice", "suv", 3.0, 2016),
    ("Changan", "CS75 PLUS", "ice", "suv", 4.0, 2014),
    ("Mercedes-Benz", "C级 C-Class", "ice", "premium", 3.0, 2008),
    ("Mercedes-Benz", "E级 E-Class", "ice", "premium", 2.0, 2010),
    ("BMW", "3系 3 Series", "ice", "premium", 3.0, 2009),
    ("BMW", "5系 5 Series", "ice", "premium", 2.0, 2010),
    ("Audi", "A4L", "ice", "premium", 2.5, 2009),
    ("Audi", "A6L", "ice", "premium", 2.0, 2009),
    ("BYD", "秦PLUS DM-i Qin PLUS", "phev", "compact", 6.0, 2021),
    ("BYD", "宋PLUS DM-i Song PLUS", "phev", "suv", 5.0, 2021),
    ("BYD", "汉EV Han", "bev", "midsize", 3.0, 2020),
    ("BYD", "海豚 Dolphin", "bev", "small", 4.0, 2021),
    ("BYD", "元PLUS Atto 3", "bev", "suv", 3.0, 2022),
    ("BYD", "海豹 Seal", "bev", "midsize", 2.0, 2022),
    ("Tesla", "Model 3", "bev", "midsize", 4.0, 2019),
    ("Tesla", "Model Y", "bev", "suv", 5.0, 2021),
    ("Wuling", "宏光MINIEV", "bev", "mini", 4.0, 2020),
    ("Li Auto", "理想L7", "phev", "suv", 2.5, 2023),
    ("AITO", "问界M7", "phev", "suv", 2.0, 2022),
    ("NIO", "ES6", "bev", "suv", 1.5, 2019),
    ("XPeng", "P7", "bev", "midsize", 1.5, 2020),
    ("Aion", "Aion S", "bev", "compact", 2.5, 2019),
    ("Xiaomi", "SU7", "bev", "midsize", 1.5, 2024),
    ("Leapmotor", "C11", "bev", "suv", 1.0, 2021),
)
_ICE_VARIANTS = ("1.5L", "1.4T", "1.5T", "2.0L", "2.0T", "1.6L", "1.2T", "2.5L")
_EV_VARIANTS = ("标准续航", "长续航", "四驱高性能", "后驱版", "增程版")
LAST_MODEL_YEAR = 2025


def build_vehicle_models(
    n_models: int, rng: np.random.Generator
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """``n_models`` vehicle models, their popularity and their engine-oil fill.

    Every base model appears once before any gets a second generation or
    variant, so a small catalogue still has every powertrain.

    Returns
    -------
    models : pl.DataFrame
        The ``vehicle_models`` master data.
    popularity : np.ndarray
        Relative share of each model in the city's fleet.
    oil_bottles : np.ndarray
        4 L bottles of engine oil a service takes (1 or 2).
    """
    n_base = len(_BASE_MODELS)
    base = np.concatenate([rng.permutation(n_base) for _ in range(n_models // n_base + 1)])
    base = base[:n_models]
    generation = np.zeros(n_models, dtype=np.int64)
    for b in range(n_base):  # a loop over the ~40 base models, not over rows
        idx = np.flatnonzero(base == b)
        generation[idx] = np.arange(idx.size)

    make = np.array([m[0] for m in _BASE_MODELS])[base]
    name = np.array([m[1] for m in _BASE_MODELS])[base]
    power = np.array([m[2] for m in _BASE_MODELS])[base]
    segment = np.array([m[3] for m in _BASE_MODELS])[base]
    base_pop = np.array([m[4] for m in _BASE_MODELS])[base]
    first_year = np.array([m[5] for m in _BASE_MODELS])[base]

    # Generations alternate between model years and engine variants of one year.
    year_from = np.minimum(first_year + 3 * (generation // 2), LAST_MODEL_YEAR)
    is_ev = np.isin(power, ("bev", "phev"))
    variant = np.where(
        is_ev,
        np.array(_EV_VARIANTS)[generation % len(_EV_VARIANTS)],
        np.array(_ICE_VARIANTS)[generation % len(_ICE_VARIANTS)],
    )
    year_to = np.where(
        year_from + 6 <= LAST_MODEL_YEAR, year_from + rng.integers(4, 7, n_models), -1
    )
    popularity = base_pop * rng.lognormal(0.0, 0.6, n_models) / (1.0 + 0.5 * generation)
    oil_bottles = np.where(np.isin(segment, ("suv", "mpv", "premium")) & (power != "bev"), 2, 1)

    ids = pl.Series(np.arange(1, n_models + 1)).cast(pl.String).str.zfill(4)
    models = pl.DataFrame(
        {
            "vehicle_model_id": "VM" + ids,
            "make": make,
            "model": pl.Series(name) + " " + pl.Series(year_from).cast(pl.String) + "款 " + variant,
            "segment": segment,
            "powertrain": power,
            "year_from": year_from.astype(np.int32),
            "year_to": pl.Series(year_to.astype(np.int32)).replace(-1, None),
        }
    )
    return models, popularity, oil_bottles
