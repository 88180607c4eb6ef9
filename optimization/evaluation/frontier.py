"""Service-vs-inventory frontiers, and the inventory each policy needs for a given achieved service.

Planners set targets, but targets are promises: two policies are compared
fairly only at equal *achieved* service. Each policy is run over a range of
settings (targets, or the min/max cover); each run gives a point (achieved
service, average inventory value). The efficient points — none cheaper with
at least as much service — form the policy's frontier, and the inventory a
policy needs for a service level is read off it by linear interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

#: One simulation run per row: the policy, its setting and what it achieved.
FRONTIER_POINTS = pl.Schema(
    {
        "policy": pl.String,
        "setting": pl.Float64,
        "fill_rate": pl.Float64,
        "cycle_service": pl.Float64,
        "avg_inventory_value": pl.Float64,
    }
)

#: Inventory value a policy needs for a given achieved service (null: outside its range).
INVENTORY_AT_SERVICE = pl.Schema(
    {"policy": pl.String, "service": pl.Float64, "avg_inventory_value": pl.Float64}
)


def frontier(points: pl.DataFrame, service: str = "fill_rate") -> pl.DataFrame:
    """The efficient points of each policy, by increasing inventory.

    Parameters
    ----------
    points
        ``FRONTIER_POINTS``.
    service
        ``fill_rate`` or ``cycle_service``.

    Returns
    -------
    pl.DataFrame
        The rows of ``points`` whose service is above that of every cheaper
        run of the same policy.
    """
    ordered = points.sort("policy", "avg_inventory_value", service)
    best_before = pl.col(service).cum_max().shift(1).over("policy").fill_null(-np.inf)
    return ordered.filter(pl.col(service) > best_before)


def inventory_at_service(
    points: pl.DataFrame, levels: Sequence[float], service: str = "fill_rate"
) -> pl.DataFrame:
    """Inventory value each policy needs to achieve each service level.

    Linear interpolation between neighbouring efficient points; a level
    outside a policy's achieved range gives null (no extrapolation).

    Returns
    -------
    pl.DataFrame
        ``INVENTORY_AT_SERVICE``, one row per policy and level.
    """
    rows: list[tuple[str, float, float | None]] = []
    for (policy,), part in frontier(points, service).group_by("policy", maintain_order=True):
        x = part[service].to_numpy()
        y = part["avg_inventory_value"].to_numpy()
        for level in levels:
            inside = x.size > 0 and x[0] - 1e-12 <= level <= x[-1] + 1e-12
            rows.append(
                (str(policy), float(level), float(np.interp(level, x, y)) if inside else None)
            )
    return pl.DataFrame(rows, schema=INVENTORY_AT_SERVICE, orient="row")
