"""The published replenishment plan, one forward warehouse at a time."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from optimization.replenishment.policy import ACTIONS
from warehouse.published._sql import Page, frame, keyset_page

#: One plan line: every ``replenishment_plan`` column but ``run_id`` (the snapshot has one run).
PLAN_LINES = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "as_of": pl.Date,
        "category": pl.String,
        "action": pl.String,  # replenish, pull_back, hold, do_not_stock
        "on_hand": pl.Int64,
        "reserved": pl.Int64,
        "in_transit": pl.Int64,
        "committed": pl.Int64,
        "inventory_position": pl.Int64,
        "lead_time_days": pl.Int64,
        "protection_days": pl.Int64,
        "rate": pl.Float64,
        "dispersion": pl.Float64,
        "forecast_mean": pl.Float64,
        "target_kind": pl.String,
        "service_target": pl.Float64,
        "order_up_to": pl.Int64,  # S
        "expected_fill_rate": pl.Float64,
        "expected_cycle_service": pl.Float64,
        "raw_need": pl.Int64,
        "pack_size": pl.Int64,
        "moq": pl.Int64,
        "proposed_quantity": pl.Int64,
        "rounding": pl.String,
        "idle_days": pl.Int64,
        "pull_back_quantity": pl.Int64,
        "unit_volume_l": pl.Float64,
        "unit_cost": pl.Float64,
        "weight": pl.Float64,
        "allocated_quantity": pl.Int64,
        "cut_by": pl.String,  # none, or causes joined by "+"
        "decision": pl.String,
        "solver_status": pl.String,
        "reason": pl.String,
    }
)


@dataclass(frozen=True)
class PlanFilter:
    """Which of a warehouse's plan lines to list (None or False: any).

    ``action``: ``replenish``, ``pull_back``, ``hold`` or ``do_not_stock``.
    ``category``: the SKU category. ``cut_by``: lines the allocation cut for this
    cause (``dc_stock``, ``shelf``, ``budget``, ``value``; a line cut for several
    matches each), or ``any`` for every cut line. ``proposed_only``: lines
    proposing a quantity.
    """

    action: str | None = None
    category: str | None = None
    cut_by: str | None = None
    proposed_only: bool = False

    def __post_init__(self) -> None:
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")


def plan_lines(
    con: duckdb.DuckDBPyConnection,
    warehouse_id: str,
    where: PlanFilter | None = None,
    *,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of one forward warehouse's plan lines, by SKU.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id
        The forward warehouse.
    where
        Which lines (:class:`PlanFilter`); None for all.
    after
        The ``next_after`` of the previous page (a SKU); None for the first page.
    limit
        Lines per page, at least 1.

    Returns
    -------
    Page
        ``rows`` are ``PLAN_LINES`` sorted by SKU; an unknown warehouse, category
        or cause matches nothing.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    where = where or PlanFilter()
    return keyset_page(
        con,
        """
        SELECT * FROM replenishment_plan
        WHERE warehouse_id = $warehouse
          AND ($action IS NULL OR action = $action)
          AND ($category IS NULL OR category = $category)
          AND ($cut_by IS NULL OR ($cut_by = 'any' AND cut_by <> 'none')
               OR list_contains(string_split(cut_by, '+'), $cut_by))
          AND (NOT $proposed_only OR proposed_quantity > 0)
          AND ($after IS NULL OR sku > $after)
        ORDER BY sku
        """,
        {
            "warehouse": warehouse_id,
            "action": where.action,
            "category": where.category,
            "cut_by": where.cut_by,
            "proposed_only": where.proposed_only,
            "after": after,
        },
        PLAN_LINES,
        "sku",
        limit,
    )


def plan_line(con: duckdb.DuckDBPyConnection, warehouse_id: str, sku: str) -> pl.DataFrame:
    """The plan line of one series: ``PLAN_LINES``, one row, or none if it was not planned."""
    return frame(
        con,
        "SELECT * FROM replenishment_plan WHERE warehouse_id = $warehouse AND sku = $sku",
        {"warehouse": warehouse_id, "sku": sku},
        PLAN_LINES,
    )
