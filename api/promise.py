"""The delivery promise: by when a part reaches a store from a warehouse, asked now.

Formula (seconds; documented in docs/CONTRACTS.md, "The HTTP API")::

    travel  = ride from the warehouse to the store at the current local hour
              (the nightly's travel model: optimization.routing.travel,
              bike profile, busy-hour speeds 07-09 and 17-19 Asia/Shanghai)
    trip    = 2 x travel + service             a rider's round trip to this store
    waves   = floor(load / (riders x orders_per_trip))
    promise = pick + waves x trip + travel + service

``load`` is the warehouse's current load: its orders still confirmed (not
dispatched) placed in the last ``load_window_min`` minutes, from the
operational store. ``riders`` and ``orders_per_trip`` are the fleet the
latest dispatch replay in the snapshot used at that warehouse (the rolling
dispatcher's), or ``default_riders`` and 1 when there is none. ``pick`` and
``service`` are the 30-minute promise's components
(:class:`optimization.delivery.dispatch.DeliveryTimes`: 120 s and 60 s). So an
idle warehouse promises pick + ride + handover at this hour, and every full
wave of orders ahead adds one round trip. ``deliver_by`` is now + promise,
rounded up to the minute (the hour is read in Asia/Shanghai; the answer is written in UTC).

Pure: the caller passes the clock, the load and the fleet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from optimization.delivery.coverage import CoverageRule
from optimization.delivery.day_replay import LOCAL_TZ
from optimization.routing.travel import HaversineProvider, Point, TravelTimeProvider

#: Stores and warehouses keep Asia/Shanghai hours; promises are given in that zone.
LOCAL = ZoneInfo(LOCAL_TZ)


@dataclass(frozen=True)
class Fleet:
    """A warehouse's riders on shift and how many orders a trip carries on average."""

    riders: int
    orders_per_trip: float = 1.0

    def __post_init__(self) -> None:
        if self.riders < 1 or not self.orders_per_trip >= 1:
            raise ValueError(
                f"a fleet needs riders >= 1 and orders_per_trip >= 1, got "
                f"{self.riders} and {self.orders_per_trip}"
            )

    @property
    def per_wave(self) -> int:
        """Orders the fleet takes out at once."""
        return max(1, math.floor(self.riders * self.orders_per_trip))


@dataclass(frozen=True)
class Promise:
    """When the part is at the store, and how many minutes from now that is."""

    deliver_by: datetime
    minutes: int


class TravelTimes:
    """Ride times by local hour between two points, computed once per (pair, hour).

    The travel model is the nightly's (a :class:`TravelTimeProvider`, by default
    haversine x circuity at the profile's speed for the hour), asked for the two
    points alone; answers are kept, since a store asks about the same
    warehouses all day.
    """

    def __init__(
        self, provider: TravelTimeProvider | None = None, rule: CoverageRule | None = None
    ):
        self._provider = provider or HaversineProvider()
        self.rule = rule or CoverageRule()
        self._seconds: dict[tuple[Point, Point, int], int] = {}

    def seconds(self, origin: Point, destination: Point, hour: int) -> int:
        """Seconds to ride from ``origin`` to ``destination`` leaving in local ``hour``."""
        key = (origin, destination, hour)
        found = self._seconds.get(key)
        if found is None:
            matrices = self._provider.matrices([origin, destination], self.rule.profile, hour)
            found = int(matrices.duration[0][1])
            self._seconds[key] = found  # a plain dict store: safe across request threads
        return found


def promise(
    now: datetime, travel_s: int, load: int, fleet: Fleet, rule: CoverageRule | None = None
) -> Promise:
    """The promise for one delivery (see the module's formula).

    Parameters
    ----------
    now
        The time of the question (aware).
    travel_s
        The ride at the current local hour.
    load
        The warehouse's orders in hand (>= 0).
    fleet
        Its riders and orders per trip.
    rule
        The promise's pick and service times (default: the 30-minute rule's).
    """
    if now.tzinfo is None:
        raise ValueError("now needs a time zone")
    if travel_s < 0 or load < 0:
        raise ValueError(f"travel and load must be >= 0, got {travel_s} and {load}")
    times = (rule or CoverageRule()).times
    trip_s = 2 * travel_s + times.service_s
    waves = load // fleet.per_wave
    total_s = times.pick_s + waves * trip_s + travel_s + times.service_s
    due = now.astimezone(LOCAL) + timedelta(seconds=total_s)
    deliver_by = due.replace(second=0, microsecond=0)
    if deliver_by < due:  # rounded up to the minute, never down
        deliver_by += timedelta(minutes=1)
    minutes = math.ceil((deliver_by - now).total_seconds() / 60)
    return Promise(deliver_by=deliver_by, minutes=minutes)


def local_hour(now: datetime) -> int:
    """The local (Asia/Shanghai) hour of ``now``: the travel model's clock."""
    return now.astimezone(LOCAL).hour
