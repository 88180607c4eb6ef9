"""Daily intensity profiles: seasons, the week, Spring Festival, 11 November."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.generate.parts import PART_TYPES

_SPRING_FESTIVAL = {
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}  # fmt: skip
# Monday .. Sunday: mechanics are busiest when owners are free.
STORE_WEEK = np.array([0.85, 0.85, 0.9, 0.9, 1.0, 1.35, 1.3])
ONLINE_WEEK = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1])
# Share of store orders by hour (stores open 08:00-20:00) and of online orders.
STORE_HOURS = np.array([0] * 8 + [3, 8, 10, 9, 6, 6, 9, 10, 9, 7, 5, 3] + [0] * 4, dtype=float)
ONLINE_HOURS = np.array(
    [2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 5, 6, 6, 5, 5, 5, 6, 7, 9, 11, 12, 10, 5],
    dtype=float,
)


@dataclass(frozen=True)
class Profiles:
    """Relative demand intensity per part type and day, for each channel.

    Both profiles average about 1 over a normal year, so a base daily rate
    times the profile is the expected count on that day.
    """

    dates: np.ndarray  # datetime64[D], one per day of the history
    store: np.ndarray  # [part type, day]
    online: np.ndarray  # [part type, day]


def _bump(doy: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A Gaussian bump around a day of the year, wrapping over New Year."""
    d = np.abs(doy - centre)
    d = np.minimum(d, 365.25 - d)
    return np.exp(-0.5 * (d / width) ** 2)


def _days_to(dates: np.ndarray, anchors: dict[int, date]) -> np.ndarray:
    """Signed days from each date to the anchor of its year (or of the next)."""
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    out = np.full(dates.size, 999.0)
    for year in np.unique(years):  # a loop over the years of the history
        for y in (year - 1, year, year + 1):
            anchor = anchors.get(int(y), date(int(y), 2, 1))
            delta = (dates - np.datetime64(anchor)).astype(float)
            closer = np.abs(delta) < np.abs(out)
            out = np.where(closer & (years == year), delta, out)
    return out


def _season(category: str, doy: np.ndarray, to_festival: np.ndarray) -> np.ndarray:
    pre_festival = np.exp(-0.5 * ((to_festival + 12) / 6) ** 2)
    if category == "batteries":  # cold starts in Dec-Feb, heat in Jul-Aug
        return 1 + 0.8 * _bump(doy, 15, 28) + 0.6 * _bump(doy, 210, 20)
    if category == "wipers":  # plum rains, mid-June to mid-July
        return 1 + 2.2 * _bump(doy, 180, 16)
    if category == "tyres":  # before winter and before the Spring Festival trip
        return 1 + 0.7 * _bump(doy, 298, 18) + 0.8 * pre_festival
    if category == "bulbs":  # long nights
        return 1 + 0.35 * _bump(doy, 355, 30)
    if category == "nev_parts":  # coolant checks before summer
        return 1 + 0.3 * _bump(doy, 160, 25)
    if category in ("engine_oil", "filters", "service_packages"):
        return 1 + 0.5 * pre_festival + 0.2 * _bump(doy, 268, 6)  # and before National Day
    return 1 + 0.1 * _bump(doy, 100, 30)


def build_profiles(start: date, days: int) -> Profiles:
    """Daily profiles for the ``days`` days from ``start``."""
    dates = np.datetime64(start) + np.arange(days).astype("timedelta64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(float) + 1
    dow = (dates.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    to_festival = _days_to(dates, _SPRING_FESTIVAL)
    closed = (to_festival >= -1) & (to_festival <= 5)
    to_double11 = _days_to(dates, {y: date(y, 11, 11) for y in range(2000, 2101)})
    promo = (
        1
        + 0.6 * ((to_double11 >= -18) & (to_double11 < -3))  # pre-sales from late October
        + 4.5 * np.exp(-0.5 * (to_double11 / 2.5) ** 2)
        + 1.2 * _bump(doy, 169, 2.0)  # 18 June, the mid-year sale
    )
    trend = 1 + 0.05 * np.arange(days) / 365.25
    store = np.empty((len(PART_TYPES), days))
    online = np.empty((len(PART_TYPES), days))
    for p, pt in enumerate(PART_TYPES):  # a loop over the 15 part types
        season = _season(pt.category, doy, to_festival)
        store[p] = season * STORE_WEEK[dow] * trend * np.where(closed, 0.35, 1.0)
        online[p] = season * ONLINE_WEEK[dow] * trend * promo * np.where(closed, 0.6, 1.0)
    return Profiles(dates=dates, store=store, online=online)
