"""The part types the network sells, with what drives their demand.

Constants only: the catalogue and demand modules read these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = (
    "tyres", "engine_oil", "filters", "batteries", "brake_pads",
    "wipers", "bulbs", "nev_parts", "service_packages",
)  # fmt: skip
POWERTRAINS = ("ice", "hev", "phev", "bev")
COMBUSTION = ("ice", "hev", "phev")
ALL = POWERTRAINS


@dataclass(frozen=True)
class PartType:
    """One part type: its catalogue shape and the service that consumes it.

    ``interval_km``/``interval_months`` form the maintenance schedule (``None``
    when the part has no such interval); ``breakdown_per_year`` adds unplanned
    replacements per vehicle. ``groups_per_model`` sets how many distinct
    fitment groups (sizes, grades, shapes) there are per eligible model.
    """

    name: str
    category: str
    sku_share: float
    powertrains: tuple[str, ...]
    interval_km: int | None
    interval_months: int | None
    breakdown_per_year: float
    online_share: float
    position: str
    fit_quantity: int
    price: tuple[float, float]
    volume_l: tuple[float, float]
    pack_size: int
    groups_per_model: float
    max_groups: int
    label: str
    brands: tuple[tuple[str, float], ...]
    uptake: float = 1.0

    @property
    def is_service(self) -> bool:
        """Whether a maintenance or breakdown event is drawn for this part type.

        Oil filters and small-maintenance packages come with the engine-oil
        service (as two lines or as one package line), not on their own.
        """
        return self.name not in ("oil_filter", "small_maintenance")


_TYRE_BRANDS = (
    ("Michelin", 3.0), ("Bridgestone", 2.0), ("Continental", 2.0), ("Goodyear", 1.5),
    ("Pirelli", 0.8), ("Hankook", 1.2), ("Giti", 1.5), ("Linglong", 1.2), ("Chaoyang", 0.8),
)  # fmt: skip
_OIL_BRANDS = (
    ("Mobil", 3.0), ("Shell", 2.5), ("Castrol", 2.0), ("Sinopec Great Wall", 1.5),
    ("Kunlun", 0.8), ("Total", 0.6),
)  # fmt: skip
_FILTER_BRANDS = (("Bosch", 2.5), ("Mann", 2.0), ("Mahle", 1.5), ("3M", 0.8), ("OEM", 1.0))
_BATTERY_BRANDS = (("Varta", 2.5), ("Camel", 2.0), ("Sail", 1.2), ("Bosch", 1.0), ("ACDelco", 0.6))
_BRAKE_BRANDS = (("Bosch", 2.5), ("TRW", 1.5), ("Brembo", 1.0), ("Akebono", 0.8), ("Ferodo", 0.6))
_WIPER_BRANDS = (("Bosch", 2.5), ("Valeo", 1.5), ("3M", 1.0), ("Denso", 0.8), ("OEM", 0.7))
_BULB_BRANDS = (("Philips", 2.5), ("Osram", 2.0), ("Cnlight", 0.8), ("Koito", 0.5))
_NEV_BRANDS = (("BYD OEM", 2.0), ("Tesla OEM", 1.0), ("Tongyi", 1.0), ("Shell", 0.8))
_PACKAGE_BRANDS = (("Partsflow Select", 3.0), ("Mobil", 1.0), ("Shell", 1.0), ("Castrol", 0.7))

PART_TYPES: tuple[PartType, ...] = (
    PartType("tyre", "tyres", 0.22, ALL, 50_000, 48, 0.03, 0.2, "any", 4,
             (380, 1600), (38, 60), 1, 0.25, 400, "轮胎", _TYRE_BRANDS, 2.5),
    PartType("engine_oil", "engine_oil", 0.08, COMBUSTION, 7_500, 12, 0.0, 0.22, "engine", 1,
             (180, 620), (4.4, 4.8), 4, 0.12, 10, "全合成机油 4L", _OIL_BRANDS),
    PartType("oil_filter", "filters", 0.07, COMBUSTION, 7_500, 12, 0.0, 0.0, "engine", 1,
             (28, 95), (0.4, 0.9), 20, 0.3, 300, "机油滤清器", _FILTER_BRANDS),
    PartType("air_filter", "filters", 0.06, COMBUSTION, 20_000, 24, 0.0, 0.08, "engine", 1,
             (40, 130), (1.2, 3.0), 10, 0.45, 400, "空气滤清器", _FILTER_BRANDS, 0.6),
    PartType("cabin_filter", "filters", 0.06, ALL, 20_000, 12, 0.0, 0.10, "cabin", 1,
             (50, 160), (0.8, 2.0), 10, 0.4, 400, "空调滤清器", _FILTER_BRANDS, 0.6),
    PartType("battery_12v", "batteries", 0.05, ALL, None, 36, 0.05, 0.10, "engine", 1,
             (380, 1300), (7.0, 14.0), 1, 0.12, 16, "蓄电池", _BATTERY_BRANDS, 1.3),
    PartType("brake_pads_front", "brake_pads", 0.07, ALL, 40_000, None, 0.02, 0.08, "front", 1,
             (160, 650), (1.2, 2.2), 5, 0.6, 600, "前刹车片", _BRAKE_BRANDS),
    PartType("brake_pads_rear", "brake_pads", 0.05, ALL, 60_000, None, 0.01, 0.08, "rear", 1,
             (140, 520), (1.0, 1.8), 5, 0.6, 600, "后刹车片", _BRAKE_BRANDS),
    PartType("wiper_blade", "wipers", 0.06, ALL, None, 12, 0.05, 0.12, "front", 2,
             (40, 160), (0.4, 0.8), 20, 0.2, 40, "雨刮片", _WIPER_BRANDS, 0.35),
    PartType("bulb_headlight", "bulbs", 0.05, ALL, None, 48, 0.08, 0.05, "front", 2,
             (30, 320), (0.05, 0.15), 20, 0.12, 12, "大灯灯泡", _BULB_BRANDS, 0.5),
    PartType("bulb_brake", "bulbs", 0.03, ALL, None, 48, 0.05, 0.05, "rear", 2,
             (15, 90), (0.03, 0.08), 50, 0.1, 8, "刹车灯泡", _BULB_BRANDS, 0.5),
    PartType("nev_coolant", "nev_parts", 0.03, ("phev", "bev"), 40_000, 48, 0.01, 0.10, "any", 1,
             (80, 220), (4.2, 4.6), 4, 0.15, 8, "电池冷却液", _NEV_BRANDS),
    PartType("nev_reducer_oil", "nev_parts", 0.02, ("bev",), 60_000, 48, 0.0, 0.05, "any", 1,
             (110, 260), (1.1, 1.4), 12, 0.2, 10, "减速器油", _NEV_BRANDS),
    PartType("small_maintenance", "service_packages", 0.03, COMBUSTION, 7_500, 12, 0.0, 0.0,
             "engine", 1, (199, 699), (5.5, 6.5), 1, 0.12, 10, "小保养套餐", _PACKAGE_BRANDS),
    PartType("nev_maintenance", "service_packages", 0.02, ("bev",), 20_000, 12, 0.0, 0.50,
             "any", 1, (199, 399), (1.0, 2.0), 1, 0.15, 30, "新能源保养套餐", _PACKAGE_BRANDS),
)  # fmt: skip

PART_INDEX = {pt.name: i for i, pt in enumerate(PART_TYPES)}
ENGINE_OIL = PART_INDEX["engine_oil"]
OIL_FILTER = PART_INDEX["oil_filter"]
SMALL_MAINTENANCE = PART_INDEX["small_maintenance"]
TYRE = PART_INDEX["tyre"]
# Share of engine-oil services sold as a package rather than oil + filter lines.
PACKAGE_SHARE = {"store": 0.25, "online": 0.8}
