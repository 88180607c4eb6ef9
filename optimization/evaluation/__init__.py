"""Evaluation of replenishment policies on demand history: the period-by-period simulation,
the order-up-to rules it compares (``level_rules``), the nightly what-if replay and the
service-vs-inventory frontier.
"""

from optimization.evaluation.frontier import frontier, inventory_at_service
from optimization.evaluation.replay import POLICIES, ReplayParams, replay_policies
from optimization.evaluation.simulation import SimulationParams, SimulationResult, simulate

__all__ = [
    "POLICIES",
    "ReplayParams",
    "SimulationParams",
    "SimulationResult",
    "frontier",
    "inventory_at_service",
    "replay_policies",
    "simulate",
]
