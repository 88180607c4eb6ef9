"""The city: one DC outside the centre, forward warehouses, stores within 5 km."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.generate.scales import ScaleSpec

CENTRE_LAT = 31.23
CENTRE_LON = 121.47
EARTH_RADIUS_KM = 6371.0088
# Stores stay within this radius of their warehouse: 0.2 km below the 5 km promise.
MAX_STORE_KM = 4.8
_KM_PER_DEG_LAT = 111.32

_DISTRICTS = (
    "黄浦", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "闵行",
    "宝山", "嘉定", "浦东", "金山", "松江", "青浦", "奉贤", "崇明",
)  # fmt: skip


@dataclass(frozen=True)
class Network:
    """Warehouses and stores, with the arrays the demand model indexes by position."""

    warehouses: pl.DataFrame  # without shelf capacity: that follows from demand
    stores: pl.DataFrame
    store_warehouse: np.ndarray  # forward warehouse index (0-based) of each store
    store_open_day: np.ndarray  # day offset from the history start; <= 0: open throughout
    store_size: np.ndarray  # relative fleet size of each store


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _offset(lat: np.ndarray, lon: np.ndarray, dx_km: np.ndarray, dy_km: np.ndarray) -> tuple:
    new_lat = lat + dy_km / _KM_PER_DEG_LAT
    new_lon = lon + dx_km / (_KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return new_lat, new_lon


def _place_forward(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward warehouses spread over a city disc, kept apart by a minimum spacing."""
    radius = max(8.0, 6.5 * np.sqrt(n))
    spacing = 1.1 * radius / np.sqrt(n)
    lats: list[float] = []
    lons: list[float] = []
    attempts = 0
    while len(lats) < n:
        r = radius * np.sqrt(rng.random())
        theta = rng.random() * 2 * np.pi
        lat, lon = _offset(
            np.array(CENTRE_LAT), np.array(CENTRE_LON), r * np.cos(theta), r * np.sin(theta)
        )
        attempts += 1
        if lats and haversine_km(lat, lon, np.array(lats), np.array(lons)).min() < spacing:
            if attempts % 200 == 0:
                spacing *= 0.9  # a crowded disc: relax rather than loop forever
            continue
        lats.append(float(lat))
        lons.append(float(lon))
    return np.array(lats), np.array(lons)


def build_network(spec: ScaleSpec, rng: np.random.Generator, start: date) -> Network:
    """Place the DC, the forward warehouses and the stores.

    Every store lies within :data:`MAX_STORE_KM` (haversine) of its serving
    forward warehouse, which is the nearest one: a store is dropped near a
    warehouse and then assigned to the nearest, which can only be closer.
    """
    n_fw, n_st = spec.n_forward, spec.n_stores
    fw_lat, fw_lon = _place_forward(rng, n_fw)

    theta = rng.random() * 2 * np.pi
    dc_km = rng.uniform(28.0, 36.0)
    dc_lat, dc_lon = _offset(
        np.array(CENTRE_LAT), np.array(CENTRE_LON), dc_km * np.cos(theta), dc_km * np.sin(theta)
    )

    # Stores: some warehouses are busier (denser neighbourhoods).
    weight = rng.lognormal(0.0, 0.35, n_fw)
    home = np.concatenate([np.arange(n_fw), rng.choice(n_fw, n_st - n_fw, p=weight / weight.sum())])
    st_lat = np.empty(n_st)
    st_lon = np.empty(n_st)
    todo = np.arange(n_st)
    while todo.size:
        r = (MAX_STORE_KM - 0.1) * np.sqrt(rng.random(todo.size))
        ang = rng.random(todo.size) * 2 * np.pi
        st_lat[todo], st_lon[todo] = _offset(
            fw_lat[home[todo]], fw_lon[home[todo]], r * np.cos(ang), r * np.sin(ang)
        )
        d = haversine_km(st_lat[todo], st_lon[todo], fw_lat[home[todo]], fw_lon[home[todo]])
        todo = todo[d > MAX_STORE_KM]
    dist = haversine_km(st_lat[:, None], st_lon[:, None], fw_lat[None, :], fw_lon[None, :])
    serving = dist.argmin(axis=1)

    fw_ids = [f"FW{i + 1:03d}" for i in range(n_fw)]
    fw_district = rng.choice(len(_DISTRICTS), n_fw)
    fw_opened = [date(2019, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1400, n_fw)]
    warehouses = pl.DataFrame(
        {
            "warehouse_id": ["DC01", *fw_ids],
            "name": [
                "上海区域配送中心 RDC",
                *[f"{_DISTRICTS[d]}前置仓 {i + 1:03d}" for i, d in enumerate(fw_district)],
            ],
            "kind": ["dc", *(["forward"] * n_fw)],
            "lat": [float(dc_lat), *fw_lat.round(6).tolist()],
            "lon": [float(dc_lon), *fw_lon.round(6).tolist()],
            "parent_warehouse_id": [None, *(["DC01"] * n_fw)],
            "opened_on": [date(2018, 3, 1), *fw_opened],
        },
        schema={
            "warehouse_id": pl.String,
            "name": pl.String,
            "kind": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "parent_warehouse_id": pl.String,
            "opened_on": pl.Date,
        },
    )

    # About 8% of stores open during the first half of the history: new series.
    open_day = np.where(
        rng.random(n_st) < 0.08,
        rng.integers(1, max(2, spec.days // 2), n_st),
        -rng.integers(30, 2500, n_st),
    )
    store_ids = pl.Series("store_id", np.arange(1, n_st + 1)).cast(pl.String).str.zfill(5)
    district = pl.Series(np.array(_DISTRICTS)[rng.choice(len(_DISTRICTS), n_st)])
    opened = pl.Series(np.array(start, dtype="datetime64[D]") + open_day.astype("timedelta64[D]"))
    stores = pl.DataFrame(
        {
            "store_id": "S" + store_ids,
            "name": "养车工场店 " + district + " " + store_ids,
            "lat": st_lat.round(6),
            "lon": st_lon.round(6),
            "warehouse_id": pl.Series(fw_ids).gather(serving),
            "opened_on": opened.cast(pl.Date),
            "is_franchise": rng.random(n_st) < 0.8,
        }
    )
    return Network(
        warehouses=warehouses,
        stores=stores,
        store_warehouse=serving,
        store_open_day=open_day,
        store_size=rng.lognormal(0.0, 0.45, n_st),
    )
