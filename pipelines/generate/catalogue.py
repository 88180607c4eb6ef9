"""SKUs, fitment (sku <-> vehicle model) and maintenance schedules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.parts import ENGINE_OIL, PART_TYPES, TYRE

_OIL_GRADES = ("0W-20", "5W-30", "0W-30", "5W-40", "0W-40", "0W-16", "5W-20", "10W-40")
# Tyres are fitted in axle pairs or full sets: stores buy most sizes in 2s (an
# order is 2 or 4) and some (sold as sets of four) only in 4s.
_TYRES_IN_FOURS = 0.2


@dataclass(frozen=True)
class Catalogue:
    """Master data plus the arrays the demand model samples from.

    The ``fit_*`` arrays are the fitment rows sorted by (model, part type);
    ``fit_cumweight`` is the running sum of choice weights over that order, so
    a sku for a (model, part type) is drawn with one ``searchsorted``.
    """

    skus: pl.DataFrame
    fitment: pl.DataFrame
    schedules: pl.DataFrame
    sku_part: np.ndarray
    sku_price: np.ndarray
    sku_volume: np.ndarray
    interval_km: np.ndarray  # [model, part type], nan if none
    interval_days: np.ndarray  # [model, part type] the months interval in days, nan if none
    fit_start: np.ndarray  # [model * n_parts + part] first fitment row
    fit_end: np.ndarray
    fit_sku: np.ndarray
    fit_qty: np.ndarray
    fit_cumweight: np.ndarray
    fit_pair: np.ndarray  # (model * n_parts + part) * n_skus + sku of each row: sorted
    sku_sales_multiple: np.ndarray  # stores buy the sku in multiples of this
    sku_set: np.ndarray  # the most units one vehicle takes (tyres 4, wipers 2, ...)

    @property
    def n_skus(self) -> int:
        return int(self.sku_part.size)

    def fits(self, model: np.ndarray, sku: np.ndarray) -> np.ndarray:
        """Whether each ``sku`` fits the vehicle ``model`` (a fitment row exists)."""
        key = model * len(PART_TYPES) + self.sku_part[sku]
        pair = key * self.n_skus + sku
        row = np.minimum(np.searchsorted(self.fit_pair, pair), self.fit_pair.size - 1)
        return self.fit_pair[row] == pair


def _split(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers >= 1 summing to ``total``, proportional to ``shares``."""
    raw = shares / shares.sum() * total
    counts = np.maximum(1, np.floor(raw).astype(np.int64))
    order = np.argsort(-(raw - np.floor(raw)))
    diff = total - counts.sum()
    if diff > 0:
        counts[order[:diff]] += 1
    while counts.sum() > total:  # only when many shares round up to the minimum 1
        counts[np.argmax(counts)] -= 1
    return counts


def _group_label(part: str, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if part == "tyre":
        width = rng.choice(np.arange(175, 286, 10), group.max() + 1)
        ratio = rng.choice(np.arange(35, 66, 5), group.max() + 1)
        rim = rng.integers(15, 22, group.max() + 1)
        labels = np.array([f"{w}/{a}R{r}" for w, a, r in zip(width, ratio, rim, strict=True)])
        return labels[group]
    if part in ("engine_oil", "small_maintenance"):
        labels = np.array(
            [f"{_OIL_GRADES[g % len(_OIL_GRADES)]} SP-{g // len(_OIL_GRADES) + 1}" for g in
             range(group.max() + 1)]
        )  # fmt: skip
        return labels[group]
    return np.char.add("G", np.char.zfill((group + 1).astype(str), 3))


def build_catalogue(
    n_skus: int,
    models: pl.DataFrame,
    popularity: np.ndarray,
    oil_bottles: np.ndarray,
    rng: np.random.Generator,
) -> Catalogue:
    """SKUs for every part type, their fitment and the maintenance schedules.

    For each part type the eligible models are split into fitment groups
    (sizes, grades, shapes) of very unequal size; each group has at least one
    SKU and every SKU fits all models of its group. Most groups are small, so
    most SKUs fit few models (the long tail).
    """
    n_models = models.height
    n_parts = len(PART_TYPES)
    power = models["powertrain"].to_numpy()
    year_from = models["year_from"].to_numpy()
    counts = _split(n_skus, np.array([pt.sku_share for pt in PART_TYPES]))

    sku_parts: list[np.ndarray] = []
    sku_brand: list[np.ndarray] = []
    sku_label: list[np.ndarray] = []
    sku_weight: list[np.ndarray] = []
    fit_model: list[np.ndarray] = []
    fit_sku: list[np.ndarray] = []
    fit_part: list[np.ndarray] = []
    fit_qty: list[np.ndarray] = []
    offset = 0
    for p, pt in enumerate(PART_TYPES):  # a loop over the 15 part types
        eligible = np.flatnonzero(np.isin(power, pt.powertrains))
        n_sku = int(counts[p])
        n_groups = int(np.clip(round(eligible.size * pt.groups_per_model), 1, pt.max_groups))
        # Enough groups that no group lists hundreds of near-identical skus.
        n_groups = min(max(n_groups, -(-n_sku // 60)), n_sku, eligible.size)
        order = rng.permutation(eligible)
        zipf = 1.0 / np.arange(1, n_groups + 1) ** 0.9
        model_group = np.concatenate(
            [np.arange(n_groups), rng.choice(n_groups, order.size - n_groups, p=zipf / zipf.sum())]
        )
        group_size = np.bincount(model_group, minlength=n_groups)
        extra = rng.multinomial(n_sku - n_groups, group_size**0.8 / (group_size**0.8).sum())
        group_of_sku = np.repeat(np.arange(n_groups), 1 + extra)
        brands = np.array([b for b, _ in pt.brands])
        brand_w = np.array([w for _, w in pt.brands])
        brand = rng.choice(brands.size, n_sku, p=brand_w / brand_w.sum())
        sku_parts.append(np.full(n_sku, p))
        sku_brand.append(brands[brand])
        sku_label.append(_group_label(pt.name, group_of_sku, rng))
        sku_weight.append(brand_w[brand] * rng.lognormal(0.0, 1.0, n_sku))

        # Fitment rows: each sku x each model of its group (a join, not a loop).
        by_group = np.argsort(model_group, kind="stable")
        g_start = np.concatenate([[0], np.cumsum(group_size)[:-1]])
        per_sku = group_size[group_of_sku]
        rows_sku = np.repeat(np.arange(n_sku), per_sku)
        within = np.arange(rows_sku.size) - np.repeat(np.cumsum(per_sku) - per_sku, per_sku)
        rows_model = order[by_group[g_start[group_of_sku[rows_sku]] + within]]
        qty = (
            oil_bottles[rows_model] if p == ENGINE_OIL else np.full(rows_sku.size, pt.fit_quantity)
        )
        fit_model.append(rows_model)
        fit_sku.append(rows_sku + offset)
        fit_part.append(np.full(rows_sku.size, p))
        fit_qty.append(qty)
        offset += n_sku

    part = np.concatenate(sku_parts)
    lo = np.array([pt.price[0] for pt in PART_TYPES])[part]
    hi = np.array([pt.price[1] for pt in PART_TYPES])[part]
    price = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 0)
    cost = np.round(price * rng.uniform(0.55, 0.85, part.size), 2)
    vlo = np.array([pt.volume_l[0] for pt in PART_TYPES])[part]
    vhi = np.array([pt.volume_l[1] for pt in PART_TYPES])[part]
    volume = np.round(rng.uniform(vlo, vhi), 2)
    category = np.array([pt.category for pt in PART_TYPES])[part]
    part_name = np.array([pt.name for pt in PART_TYPES])[part]
    brand_all = np.concatenate(sku_brand)
    ids = "K" + pl.Series(np.arange(1, part.size + 1)).cast(pl.String).str.zfill(6)
    skus = pl.DataFrame(
        {
            "sku": ids,
            "name": pl.Series(brand_all)
            + " "
            + pl.Series(np.array([pt.label for pt in PART_TYPES])[part])
            + " "
            + pl.Series(np.concatenate(sku_label)),
            "category": category,
            "part_type": part_name,
            "brand": brand_all,
            "pack_size": np.array([pt.pack_size for pt in PART_TYPES], dtype=np.int32)[part],
            "unit_volume_l": volume,
            "unit_cost": pl.Series(cost).cast(pl.Decimal(12, 2)),
            "unit_price": pl.Series(price).cast(pl.Decimal(12, 2)),
            # The supplier's delay is in suppliers: the DC -> warehouse hop is overnight.
            "lead_time_days": np.zeros(part.size, dtype=np.int32),
            "is_nev": (category == "nev_parts") | (part_name == "nev_maintenance"),
            "do_not_stock": rng.random(part.size) < 0.01,
        }
    )

    f_model = np.concatenate(fit_model)
    f_part = np.concatenate(fit_part)
    f_sku = np.concatenate(fit_sku)
    f_qty = np.concatenate(fit_qty).astype(np.int32)
    key = f_model * n_parts + f_part
    srt = np.lexsort((f_sku, key))
    key, f_sku, f_qty, f_part = key[srt], f_sku[srt], f_qty[srt], f_part[srt]
    weight = np.concatenate(sku_weight)[f_sku] * 1.0
    model_ids = models["vehicle_model_id"]
    fitment = pl.DataFrame(
        {
            "sku": ids.gather(f_sku),
            "vehicle_model_id": model_ids.gather(key // n_parts),
            "position": np.array([pt.position for pt in PART_TYPES])[f_part],
            "quantity": f_qty,
        }
    ).sort("sku", "vehicle_model_id")
    n_keys = n_models * n_parts
    fit_start = np.searchsorted(key, np.arange(n_keys), side="left")
    fit_end = np.searchsorted(key, np.arange(n_keys), side="right")

    schedules, km, months = _schedules(models, power, year_from)
    multiple = np.where(part == TYRE, np.where(rng.random(part.size) < _TYRES_IN_FOURS, 4, 2), 1)
    sku_set = np.ones(part.size, dtype=np.int64)
    np.maximum.at(sku_set, f_sku, f_qty)
    return Catalogue(
        skus=skus,
        fitment=fitment,
        schedules=schedules,
        sku_part=part,
        sku_price=price,
        sku_volume=volume,
        interval_km=km,
        interval_days=months,
        fit_start=fit_start,
        fit_end=fit_end,
        fit_sku=f_sku,
        fit_qty=f_qty,
        fit_cumweight=np.cumsum(weight),
        fit_pair=key.astype(np.int64) * part.size + f_sku,
        sku_sales_multiple=multiple.astype(np.int64),
        sku_set=sku_set,
    )


def _schedules(
    models: pl.DataFrame, power: np.ndarray, year_from: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Intervals per (model, part type): newer engines run longer oil intervals,
    regenerative braking makes BEV brake pads last half as long again."""
    n_models, n_parts = models.height, len(PART_TYPES)
    km = np.full((n_models, n_parts), np.nan)
    months = np.full((n_models, n_parts), np.nan)
    for p, pt in enumerate(PART_TYPES):  # a loop over the 15 part types
        ok = np.isin(power, pt.powertrains)
        if pt.interval_km is not None:
            km[ok, p] = pt.interval_km
        if pt.interval_months is not None:
            months[ok, p] = pt.interval_months
    old_engine = year_from < 2015
    for p in (ENGINE_OIL, *[i for i, pt in enumerate(PART_TYPES) if pt.interval_km == 7_500]):
        km[:, p] = np.where(np.isnan(km[:, p]), np.nan, np.where(old_engine, 5_000, 10_000))
        months[:, p] = np.where(np.isnan(months[:, p]), np.nan, np.where(old_engine, 6, 12))
    bev = power == "bev"
    for p, pt in enumerate(PART_TYPES):
        if pt.category == "brake_pads":
            km[bev, p] *= 1.5
    m_idx, p_idx = np.nonzero(~(np.isnan(km) & np.isnan(months)))
    schedules = pl.DataFrame(
        {
            "vehicle_model_id": models["vehicle_model_id"].gather(m_idx),
            "part_type": np.array([pt.name for pt in PART_TYPES])[p_idx],
            "interval_km": pl.Series(km[m_idx, p_idx]).fill_nan(None).cast(pl.Int32),
            "interval_months": pl.Series(months[m_idx, p_idx]).fill_nan(None).cast(pl.Int32),
        }
    )
    return schedules, km, months * 30.44
