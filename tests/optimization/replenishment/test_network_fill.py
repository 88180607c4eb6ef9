"""One unit fill-rate target per warehouse: met at less stock value than one target per series."""

from __future__ import annotations

import numpy as np
import pytest

from optimization.evaluation.level_rules import network_fill_levels, policy_levels
from optimization.replenishment.service import ServiceTarget, fill_rate


def _mix(n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rate = rng.choice([0.05, 0.3, 2.0, 8.0], n)
    cost = rng.choice([5.0, 50.0, 500.0], n)
    return rate, np.full(n, 2.0), cost


def _unit_fill(s: np.ndarray, rate: np.ndarray, phi: np.ndarray) -> float:
    return float((fill_rate(s, rate, phi, 0.0) * rate).sum() / rate.sum())


@pytest.mark.parametrize("target", [0.85, 0.95])
def test_the_warehouse_target_is_met_at_less_stock_value(target: float) -> None:
    rate, phi, cost = _mix()
    lead, review = np.zeros((rate.size, 1)), rate[:, None]
    _, ours = network_fill_levels(lead, review, phi, cost, target)
    assert _unit_fill(ours[:, 0].astype(float), rate, phi) >= target - 1e-9
    # One target per series, raised until it reaches the same unit fill.
    for level in np.linspace(0.5, 0.999, 200):
        _, per_series = policy_levels(lead, review, phi, ServiceTarget("fill_rate", level))
        if _unit_fill(per_series[:, 0].astype(float), rate, phi) >= target:
            break
    assert (ours[:, 0] * cost).sum() < (per_series[:, 0] * cost).sum()


def test_cheap_fast_parts_get_more_cover_than_dear_slow_ones() -> None:
    rate = np.array([2.0, 2.0, 0.05, 0.05])
    cost = np.array([5.0, 500.0, 5.0, 500.0])
    _, s = network_fill_levels(
        np.zeros((4, 3)), np.repeat(rate[:, None], 3, 1), np.ones(4), cost, 0.9
    )
    assert s[0, 0] >= s[1, 0]  # same demand: the cheaper part is stocked deeper
    assert s[2, 0] >= s[3, 0]
    assert (s == s[:, :1]).all()  # a steady forecast gives steady levels
