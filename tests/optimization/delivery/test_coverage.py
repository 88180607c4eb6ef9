"""Coverage of stores by forward warehouses: the 5 km and 30-minute rules on hand-built points."""

from __future__ import annotations

import polars as pl
import pytest

from optimization.delivery.coverage import (
    ASSIGNMENT_CHECK,
    COVERAGE,
    CoverageRule,
    check_assignment,
    coverage_pairs,
)
from optimization.delivery.dispatch import DeliveryTimes
from optimization.routing.travel import HaversineProvider, SpeedProfile

KM_LAT = 1 / 111.195  # degrees of latitude per km on the haversine sphere
#: FW A at the origin, FW B 9.5 km east of it, the DC far away.
WAREHOUSES = pl.DataFrame(
    {
        "warehouse_id": ["A", "B", "DC"],
        "kind": ["forward", "forward", "dc"],
        "lat": [31.0, 31.0, 30.5],
        "lon": [121.0, 121.1, 121.0],
    }
)
#: Slow e-bikes at the busy hour: 4.9 km straight (6.37 km road) takes 1911 s.
SLOW = HaversineProvider({"bike": SpeedProfile("bike", 1.3, speed_kmh=18, busy_speed_kmh=12)})


def store(
    store_id: str, warehouse_id: str, north_km: float, lon: float = 121.0
) -> dict[str, object]:
    return {
        "store_id": store_id,
        "warehouse_id": warehouse_id,
        "lat": 31.0 + north_km * KM_LAT,
        "lon": lon,
    }


STORES = pl.DataFrame(
    [
        store("near", "A", 1.0),
        store("edge", "A", 4.9),  # within 5 km; too slow at the busy hour with SLOW
        store("far", "A", 5.5),
        store("by_b", "A", 0.0, lon=121.09),  # 1 km from B, 8.6 km from A
        store("dc_store", "DC", 2.0),
    ]
)


@pytest.fixture(scope="module")
def pairs() -> pl.DataFrame:
    return coverage_pairs(STORES, WAREHOUSES, CoverageRule(), SLOW)


def test_pairs_cover_every_forward_warehouse_and_store(pairs: pl.DataFrame) -> None:
    assert pairs.schema == COVERAGE
    assert pairs.height == 2 * STORES.height
    assert set(pairs["warehouse_id"]) == {"A", "B"}
    assert pairs.filter(pl.col("assigned"))["store_id"].sort().to_list() == [
        "by_b", "edge", "far", "near"
    ]  # fmt: skip


def test_reach_is_pick_plus_busy_hour_travel_plus_handover(pairs: pl.DataFrame) -> None:
    edge = pairs.filter(warehouse_id="A", store_id="edge").row(0, named=True)
    assert edge["distance_m"] == pytest.approx(4900, abs=5)
    assert edge["road_m"] == pytest.approx(1.3 * 4900, abs=10)
    assert edge["travel_s"] == pytest.approx(1.3 * 4900 / (12 / 3.6), abs=2)
    assert edge["reach_s"] == 120 + edge["travel_s"] + 60
    assert edge["within_distance"] and not edge["within_time"]


def test_an_off_peak_hour_brings_the_edge_store_within_30_minutes() -> None:
    rule = CoverageRule(busy_hour=11)
    pairs = coverage_pairs(STORES, WAREHOUSES, rule, SLOW)
    assert pairs.filter(warehouse_id="A", store_id="edge")["within_time"].item()


def test_the_assignment_check_flags_each_broken_rule(pairs: pl.DataFrame) -> None:
    check = check_assignment(STORES, pairs)
    assert check.schema == ASSIGNMENT_CHECK
    issues = dict(zip(check["store_id"], check["issues"], strict=True))
    assert issues == {
        "by_b": "beyond 5 km; beyond 30 min; nearer warehouse B",
        "dc_store": "assigned warehouse is not a forward warehouse",
        "edge": "beyond 30 min",
        "far": "beyond 5 km; beyond 30 min",
        "near": None,
    }
    row = check.filter(store_id="by_b").row(0, named=True)
    assert row["nearest_warehouse_id"] == "B" and row["covering_warehouses"] == 1
    assert check.filter(pl.col("ok"))["store_id"].to_list() == ["near"]


def test_the_default_profile_serves_a_4_9_km_store_within_30_minutes() -> None:
    pairs = coverage_pairs(STORES, WAREHOUSES)
    edge = pairs.filter(warehouse_id="A", store_id="edge").row(0, named=True)
    assert edge["within_time"] and edge["reach_s"] <= 1800


def test_a_longer_pick_time_shrinks_the_reach() -> None:
    rule = CoverageRule(times=DeliveryTimes(pick_s=600, service_s=60, promise_s=1800))
    pairs = coverage_pairs(STORES, WAREHOUSES, rule)
    assert not pairs.filter(warehouse_id="A", store_id="edge")["within_time"].item()
