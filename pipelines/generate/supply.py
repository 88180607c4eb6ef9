"""The DC's suppliers and how each SKU is bought (``suppliers``, ``sku_supply``).

Brands map to suppliers. A supplier starts as one brand's sales company
carrying all of that brand's part types; a small network buys through fewer
suppliers, so the smallest are merged into multi-brand distributors (of the
same category where possible); a large one buys more directly, so the
biggest split by category and part type until the scale's count is reached.
The mapping is deterministic given the catalogue; lead times, order cycles
and MOQs are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.generate.catalogue import Catalogue
from pipelines.generate.parts import PART_TYPES

_CATEGORY_LABEL = {
    "tyres": "轮胎", "engine_oil": "机油", "filters": "滤清器", "batteries": "蓄电池",
    "brake_pads": "刹车片", "wipers": "雨刮", "bulbs": "车灯", "nev_parts": "新能源配件",
    "service_packages": "保养套餐",
}  # fmt: skip
# "A few days to three weeks", most around a week (order to receipt at the DC).
_LEAD_MEDIAN_DAYS, _LEAD_RANGE = 6.0, (2, 21)
# The DC orders from most suppliers weekly; a few twice a week, daily or fortnightly.
_CYCLES, _CYCLE_P = np.array([7, 3, 14, 1]), np.array([0.7, 0.15, 0.1, 0.05])
# The supplier's MOQ in cases: one case for half the skus, a few for the rest.
_MOQ_CASES, _MOQ_P = np.array([1, 2, 3, 5]), np.array([0.5, 0.25, 0.15, 0.1])

# A brand line: (brand, part type index) and its number of skus.
_Line = tuple[str, int]


@dataclass(frozen=True)
class Supply:
    """The supply master data and the arrays the stock simulation indexes.

    ``supplier`` is each sku's supplier (index into ``suppliers``);
    ``lead_days``, ``cycle_days`` and ``phase`` are per supplier (``phase``:
    the first day, modulo the cycle, on which the DC orders from it).
    """

    suppliers: pl.DataFrame
    sku_supply: pl.DataFrame
    supplier: np.ndarray
    case_pack: np.ndarray
    moq: np.ndarray
    lead_days: np.ndarray
    cycle_days: np.ndarray
    phase: np.ndarray


def _main_category(group: list[_Line], sizes: dict[_Line, int]) -> str:
    by_category: dict[str, int] = {}
    for line in group:
        category = PART_TYPES[line[1]].category
        by_category[category] = by_category.get(category, 0) + sizes[line]
    return max(sorted(by_category), key=lambda c: by_category[c])


def _merge_smallest(groups: list[list[_Line]], sizes: dict[_Line, int]) -> None:
    """Merge the smallest group into the smallest other one of its main category
    (any other one if none shares it): a distributor takes over the brand."""
    total = [sum(sizes[line] for line in g) for g in groups]
    smallest = min(range(len(groups)), key=lambda i: (total[i], groups[i]))
    category = _main_category(groups[smallest], sizes)
    others = [i for i in range(len(groups)) if i != smallest]
    same = [i for i in others if _main_category(groups[i], sizes) == category]
    into = min(same or others, key=lambda i: (total[i], groups[i]))
    groups[into] = sorted(groups[into] + groups[smallest])
    del groups[smallest]


def _split_largest(groups: list[list[_Line]], sizes: dict[_Line, int]) -> bool:
    """Split the largest group of several brand lines in two along category and
    part type (the brand's divisions sell separately); False if none can split."""
    splittable = [i for i, g in enumerate(groups) if len(g) > 1]
    if not splittable:
        return False
    largest = max(splittable, key=lambda i: (sum(sizes[line] for line in groups[i]), groups[i]))
    lines = sorted(groups[largest], key=lambda line: (PART_TYPES[line[1]].category, line))
    half = len(lines) // 2
    groups[largest : largest + 1] = [lines[:half], lines[half:]]
    return True


def _group_lines(sizes: dict[_Line, int], n_suppliers: int) -> list[list[_Line]]:
    """Brand lines grouped into (at most) ``n_suppliers`` suppliers, one brand each to start."""
    brands = sorted({brand for brand, _ in sizes})
    groups = [sorted(line for line in sizes if line[0] == brand) for brand in brands]
    while len(groups) > n_suppliers:
        _merge_smallest(groups, sizes)
    while len(groups) < n_suppliers and _split_largest(groups, sizes):
        pass
    return sorted(groups)


def _division(group: list[_Line], sizes: dict[_Line, int]) -> str:
    """What a division of one brand sells: whole categories by their label, the
    part types of a category split between divisions by theirs."""
    brand = group[0][0]
    words: list[str] = []
    for category in sorted({PART_TYPES[p].category for _, p in group}):
        mine = sorted(p for _, p in group if PART_TYPES[p].category == category)
        every = [p for b, p in sizes if b == brand and PART_TYPES[p].category == category]
        whole = len(mine) == len(every)
        words += [_CATEGORY_LABEL[category]] if whole else [PART_TYPES[p].label for p in mine]
    return "、".join(words)


def _name(group: list[_Line], sizes: dict[_Line, int]) -> str:
    """A supplier's name: the brand's sales company, a division of it, or a distributor."""
    brands = sorted({brand for brand, _ in group})
    if len(brands) == 1:
        whole = len(group) == sum(1 for b, _ in sizes if b == brands[0])
        division = "" if whole else f" {_division(group, sizes)}事业部"
        return f"{brands[0]}（中国）销售公司{division}"
    categories = sorted({PART_TYPES[p].category for _, p in group})
    labels = "、".join(_CATEGORY_LABEL[c] for c in categories)
    return f"{labels}分销商（{', '.join(brands)}）"


def build_supply(catalogue: Catalogue, n_suppliers: int, rng: np.random.Generator) -> Supply:
    """Suppliers for the catalogue's brands and a ``sku_supply`` row for every sku.

    ``case_pack`` is the part type's pack (``skus.pack_size``), ``moq`` one
    or a few cases, ``sales_multiple`` the catalogue's (tyres 2 or 4, else 1).
    """
    brand = catalogue.skus["brand"].to_numpy()
    part = catalogue.sku_part
    sizes: dict[_Line, int] = {}
    for b, p in zip(brand.tolist(), part.tolist(), strict=True):
        sizes[(b, p)] = sizes.get((b, p), 0) + 1
    groups = _group_lines(sizes, n_suppliers)
    supplier_of = {line: i for i, group in enumerate(groups) for line in group}
    supplier = np.array(
        [supplier_of[(b, p)] for b, p in zip(brand.tolist(), part.tolist(), strict=True)]
    )

    n = len(groups)
    low, high = _LEAD_RANGE
    lead = np.clip(np.round(rng.lognormal(np.log(_LEAD_MEDIAN_DAYS), 0.5, n)), low, high)
    cycle = rng.choice(_CYCLES, n, p=_CYCLE_P)
    phase = rng.integers(0, cycle)
    case_pack = catalogue.skus["pack_size"].to_numpy().astype(np.int64)
    moq = case_pack * rng.choice(_MOQ_CASES, part.size, p=_MOQ_P)
    ids = "SUP" + pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(3)
    suppliers = pl.DataFrame(
        {
            "supplier_id": ids,
            "name": [_name(group, sizes) for group in groups],
            "lead_time_days": lead.astype(np.int32),
            "order_cycle_days": cycle.astype(np.int32),
        }
    )
    sku_supply = pl.DataFrame(
        {
            "sku": catalogue.skus["sku"],
            "supplier_id": ids.gather(supplier),
            "case_pack": case_pack.astype(np.int32),
            "moq": moq.astype(np.int32),
            "sales_multiple": catalogue.sku_sales_multiple.astype(np.int32),
        }
    )
    return Supply(
        suppliers=suppliers,
        sku_supply=sku_supply,
        supplier=supplier,
        case_pack=case_pack,
        moq=moq,
        lead_days=lead.astype(np.int64),
        cycle_days=cycle.astype(np.int64),
        phase=phase.astype(np.int64),
    )
