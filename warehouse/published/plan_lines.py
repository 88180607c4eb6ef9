"""The published replenishment plan, one forward warehouse at a time."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from optimization.replenishment.planning import NETWORK_PLAN
from optimization.replenishment.policy import ACTIONS
from warehouse.published._sql import Page, frame, keyset_page

#: One plan line: every ``replenishment_plan`` column but ``run_id`` (the snapshot has one
#: run): the night's plan (``optimization.replenishment.planning.NETWORK_PLAN``) less the
#: DC, with the target's level stored as ``service_target``.
PLAN_LINES = pl.Schema(
    ("service_target" if name == "target_level" else name, dtype)
    for name, dtype in NETWORK_PLAN.items()
    if name != "dc_id"
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
