"""Delivery from the forward warehouses to the stores: the 30-minute dispatcher, a day of
orders replayed through it, and which warehouse covers which store within 5 km / 30 minutes.
"""

from optimization.delivery.coverage import CoverageRule, check_assignment, coverage_pairs
from optimization.delivery.day_replay import SimParams, day_instances, simulate_day, size_fleet
from optimization.delivery.dispatch import DeliveryTimes, DispatchParams, dispatch_rolling

__all__ = [
    "CoverageRule",
    "DeliveryTimes",
    "DispatchParams",
    "SimParams",
    "check_assignment",
    "coverage_pairs",
    "day_instances",
    "dispatch_rolling",
    "simulate_day",
    "size_fleet",
]
