"""Which stores each forward warehouse can serve within 5 km and 30 minutes.

Reach of a store from a warehouse at the busy hour (default 08:00 local,
e-bike profile of :mod:`optimization.routing.travel`) is the promise's
components, each counted once:

    reach_s = pick_s (order -> parts packed at the counter)
            + travel_s (warehouse -> store, haversine x circuity at busy speed)
            + service_s (handover at the store)

A pair is *within 5 km* when the straight-line (haversine) distance is at most
``max_km`` (the generator places stores by that distance) and *within 30
minutes* when ``reach_s <= promise_s``. The road distance (x circuity) is
reported beside it.

:func:`coverage_pairs` scores every (forward warehouse, store) pair;
:func:`check_assignment` checks each store's own warehouse against them:
out of 5 km, out of 30 minutes, or another warehouse nearer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from optimization.delivery.dispatch import DeliveryTimes
from optimization.routing.travel import HaversineProvider, TravelTimeProvider, haversine_m

#: Store locations and their serving forward warehouse.
STORE_POINTS = pl.Schema(
    {"store_id": pl.String, "warehouse_id": pl.String, "lat": pl.Float64, "lon": pl.Float64}
)

#: Warehouse locations (``kind``: ``dc`` or ``forward``).
WAREHOUSE_POINTS = pl.Schema(
    {"warehouse_id": pl.String, "kind": pl.String, "lat": pl.Float64, "lon": pl.Float64}
)

#: One row per (forward warehouse, store): distances, busy-hour reach and the two rules.
COVERAGE = pl.Schema(
    {
        "warehouse_id": pl.String,
        "store_id": pl.String,
        "assigned": pl.Boolean,  # the store's own warehouse
        "distance_m": pl.Int64,  # haversine
        "road_m": pl.Int64,  # haversine x circuity
        "travel_s": pl.Int64,  # at the busy hour
        "reach_s": pl.Int64,  # pick + travel + handover
        "within_distance": pl.Boolean,  # distance_m <= max_km
        "within_time": pl.Boolean,  # reach_s <= promise
    }
)

#: One row per store: its own warehouse checked against every forward warehouse.
ASSIGNMENT_CHECK = pl.Schema(
    {
        "store_id": pl.String,
        "warehouse_id": pl.String,
        "distance_m": pl.Int64,
        "reach_s": pl.Int64,
        "within_distance": pl.Boolean,
        "within_time": pl.Boolean,
        "nearest_warehouse_id": pl.String,
        "nearest_distance_m": pl.Int64,
        "covering_warehouses": pl.Int64,  # forward warehouses within both rules
        "ok": pl.Boolean,
        "issues": pl.String,  # "; "-joined, null when ok
    }
)


@dataclass(frozen=True)
class CoverageRule:
    """The promise being checked: straight-line radius, busy hour, vehicle profile, times."""

    max_km: float = 5.0
    busy_hour: int = 8
    profile: str = "bike"
    times: DeliveryTimes = field(default_factory=DeliveryTimes)
    #: A warehouse counts as nearer only by more than this (metres): rounding noise.
    nearer_by_m: int = 50

    def __post_init__(self) -> None:
        if not self.max_km > 0:
            raise ValueError(f"max_km must be > 0, got {self.max_km}")
        if not 0 <= self.busy_hour <= 23:
            raise ValueError(f"busy_hour must be in 0..23, got {self.busy_hour}")
        if self.nearer_by_m < 0:
            raise ValueError(f"nearer_by_m must be >= 0, got {self.nearer_by_m}")


def coverage_pairs(
    stores: pl.DataFrame,
    warehouses: pl.DataFrame,
    rule: CoverageRule | None = None,
    provider: TravelTimeProvider | None = None,
) -> pl.DataFrame:
    """Score every (forward warehouse, store) pair against the 5 km / 30 minute promise.

    Parameters
    ----------
    stores
        :data:`STORE_POINTS`.
    warehouses
        :data:`WAREHOUSE_POINTS`; only ``kind == 'forward'`` rows serve stores.
    rule
        Radius, busy hour, profile and delivery times.
    provider
        Travel times (default: :class:`HaversineProvider`); its distances are
        the road distances, the straight line is always haversine.

    Returns
    -------
    pl.DataFrame
        :data:`COVERAGE`, sorted by warehouse and store.
    """
    rule = rule or CoverageRule()
    provider = provider or HaversineProvider()
    stores = stores.cast(STORE_POINTS).select(STORE_POINTS.names()).sort("store_id")
    forward = (
        warehouses.cast(WAREHOUSE_POINTS).filter(pl.col("kind") == "forward").sort("warehouse_id")
    )
    n_fw = forward.height
    points = list(zip(forward["lat"], forward["lon"], strict=True)) + list(
        zip(stores["lat"], stores["lon"], strict=True)
    )
    if n_fw == 0 or stores.is_empty():
        return pl.DataFrame(schema=COVERAGE)
    matrices = provider.matrices(points, rule.profile, rule.busy_hour)
    straight = haversine_m(points)[:n_fw, n_fw:]
    road = matrices.distance[:n_fw, n_fw:]
    travel = matrices.duration[:n_fw, n_fw:]
    reach = rule.times.pick_s + travel + rule.times.service_s
    fw_ids = np.repeat(np.asarray(forward["warehouse_id"].to_list(), dtype=object), stores.height)
    st_ids = np.tile(np.asarray(stores["store_id"].to_list(), dtype=object), n_fw)
    own = np.tile(np.asarray(stores["warehouse_id"].to_list(), dtype=object), n_fw)
    distance = np.rint(straight).astype(np.int64).ravel()
    frame = pl.DataFrame(
        {
            "warehouse_id": fw_ids.tolist(),
            "store_id": st_ids.tolist(),
            "assigned": (own == fw_ids).tolist(),
            "distance_m": distance,
            "road_m": np.asarray(road, dtype=np.int64).ravel(),
            "travel_s": np.asarray(travel, dtype=np.int64).ravel(),
            "reach_s": np.asarray(reach, dtype=np.int64).ravel(),
            "within_distance": distance <= rule.max_km * 1000,
            "within_time": np.asarray(reach).ravel() <= rule.times.promise_s,
        }
    )
    return frame.cast(COVERAGE).select(COVERAGE.names())


def check_assignment(
    stores: pl.DataFrame, pairs: pl.DataFrame, rule: CoverageRule | None = None
) -> pl.DataFrame:
    """Check every store's own warehouse: within 5 km, within 30 minutes, the nearest.

    Parameters
    ----------
    stores
        :data:`STORE_POINTS` (the assignment being checked).
    pairs
        :data:`COVERAGE` from :func:`coverage_pairs` on the same stores.
    rule
        ``nearer_by_m`` and the names of the limits in ``issues``.

    Returns
    -------
    pl.DataFrame
        :data:`ASSIGNMENT_CHECK`, one row per store. ``issues`` lists
        ``beyond 5 km``, ``beyond 30 min``, ``nearer warehouse FWxxx`` and
        ``assigned warehouse is not a forward warehouse``.
    """
    rule = rule or CoverageRule()
    stores = stores.cast(STORE_POINTS).select("store_id", "warehouse_id")
    nearest = (
        pairs.sort("distance_m", "warehouse_id")
        .group_by("store_id", maintain_order=True)
        .agg(
            nearest_warehouse_id=pl.col("warehouse_id").first(),
            nearest_distance_m=pl.col("distance_m").first(),
            covering_warehouses=(pl.col("within_distance") & pl.col("within_time")).sum(),
        )
    )
    own = pairs.filter(pl.col("assigned")).select(
        "store_id", "distance_m", "reach_s", "within_distance", "within_time"
    )
    frame = stores.join(own, on="store_id", how="left").join(nearest, on="store_id", how="left")
    nearer = (pl.col("distance_m") - pl.col("nearest_distance_m")) > rule.nearer_by_m
    issues = pl.concat_list(
        pl.when(pl.col("distance_m").is_null()).then(
            pl.lit("assigned warehouse is not a forward warehouse")
        ),
        pl.when(~pl.col("within_distance")).then(pl.lit(f"beyond {rule.max_km:g} km")),
        pl.when(~pl.col("within_time")).then(pl.lit(f"beyond {rule.times.promise_s / 60:g} min")),
        pl.when(nearer).then(pl.lit("nearer warehouse ") + pl.col("nearest_warehouse_id")),
    ).list.drop_nulls()
    frame = frame.with_columns(
        covering_warehouses=pl.col("covering_warehouses").fill_null(0),
        issues=pl.when(issues.list.len() > 0).then(issues.list.join("; ")),
    ).with_columns(ok=pl.col("issues").is_null())
    return frame.cast(ASSIGNMENT_CHECK).select(ASSIGNMENT_CHECK.names()).sort("store_id")
