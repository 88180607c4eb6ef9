"""Replenishment: service measures under NB1 demand, the order-up-to policy, group unit fill,
DC allocation and tonight's network plan.

``service`` (what a level serves) → ``policy`` / ``unit_fill`` (the levels that meet a
target) → ``allocation`` (+ its MIP in ``allocation_mip``) → ``planning`` (the night's
plan and its transfer orders).
"""

from optimization.replenishment.allocation import AllocationParams, AllocationResult, allocate
from optimization.replenishment.planning import (
    NetworkPlan,
    demand_distribution,
    plan_network,
    transfer_orders,
)
from optimization.replenishment.policy import PolicyParams, plan_replenishment
from optimization.replenishment.service import TARGET_KINDS, ServiceTarget, TargetKind
from optimization.replenishment.unit_fill import UnitFillLevels, unit_fill_levels

__all__ = [
    "TARGET_KINDS",
    "AllocationParams",
    "AllocationResult",
    "NetworkPlan",
    "PolicyParams",
    "ServiceTarget",
    "TargetKind",
    "UnitFillLevels",
    "allocate",
    "demand_distribution",
    "plan_network",
    "plan_replenishment",
    "transfer_orders",
    "unit_fill_levels",
]
