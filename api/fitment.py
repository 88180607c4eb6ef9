"""Which maintenance is due for a vehicle at a mileage and an age: the rule, pure.

A workshop sees a car at a visit and does not know its service history, so
the rule looks at the schedule alone: a part type every ``interval_km`` (or
``interval_months``) has service points at k × interval, k ≥ 1. It is
**due** when the vehicle is within :data:`DUE_WINDOW` (10 %) of an interval
of its nearest service point, before or after it, by kilometres or by months
(whichever the schedule has and the caller gave). A car at 9,500 km is due
its 10,000 km oil change; at 15,000 km it is not; at 500 km nothing is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

#: How near a service point counts as due, as a share of the interval.
DUE_WINDOW = 0.1

Measure = Literal["km", "months"]


@dataclass(frozen=True)
class Due:
    """A part type due, the service point(s) it is near and by which measure."""

    part_type: str
    interval_km: int | None
    interval_months: int | None
    service_km: int | None
    service_months: int | None
    due_by: tuple[Measure, ...]


def service_point(value: int, interval: int) -> int:
    """The service point (k × interval, k ≥ 1) nearest to ``value``."""
    return max(1, (2 * value + interval) // (2 * interval)) * interval


def due_services(
    schedule: pl.DataFrame, mileage_km: int | None, age_months: int | None
) -> list[Due]:
    """The part types of ``schedule`` (``warehouse.published.MAINTENANCE_SCHEDULE``) due now.

    Parameters
    ----------
    schedule
        One vehicle model's schedule.
    mileage_km, age_months
        What the workshop read off the car; None: not known (that measure is not used).

    Returns
    -------
    list[Due]
        In the schedule's order (by part type).
    """
    found = []
    for part_type, interval_km, interval_months in schedule.select(
        "part_type", "interval_km", "interval_months"
    ).iter_rows():
        points: dict[Measure, int | None] = {"km": None, "months": None}
        due_by: list[Measure] = []
        measures: tuple[tuple[Measure, int | None, int | None], ...] = (
            ("km", mileage_km, interval_km),
            ("months", age_months, interval_months),
        )
        for measure, value, interval in measures:
            if value is None or not interval:
                continue
            point = service_point(value, interval)
            points[measure] = point
            if abs(value - point) <= DUE_WINDOW * interval:
                due_by.append(measure)
        if due_by:
            found.append(
                Due(
                    part_type,
                    interval_km,
                    interval_months,
                    points["km"],
                    points["months"],
                    tuple(due_by),
                )
            )
    return found
