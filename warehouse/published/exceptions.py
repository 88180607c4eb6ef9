"""The plan's exceptions: the lines a planner should look at before releasing the night.

A plan line is an exception of one or more kinds (:data:`EXCEPTION_KINDS`):

* ``cut``: the DC allocation gave less than the policy proposed (``cut_by``
  names why: DC stock, shelf volume, budget, value).
* ``stock_out``: a stocked series with nothing free on the shelf at its
  latest count (on hand less reserved ≤ 0): stores are being told "not here".
* ``cover_cap``: the proposal was held down to the cover cap (``rounding``):
  the forecast asked for more days of cover than the policy allows.
* ``pull_back``: stock sent back to the DC (too many days of cover, or dead).

Listed by series id (``warehouse_id/sku``), keyset-paged like every list.
"""

from __future__ import annotations

import duckdb
import polars as pl

from models.schemas import SERIES_ID_SEPARATOR
from warehouse.published._sql import Page, keyset_page

EXCEPTION_KINDS = ("cut", "stock_out", "cover_cap", "pull_back")

#: One exception: the plan line's key figures and every kind it is.
EXCEPTIONS = pl.Schema(
    {
        "series_id": pl.String(),
        "warehouse_id": pl.String(),
        "sku": pl.String(),
        "category": pl.String(),
        "kinds": pl.List(pl.String()),
        "action": pl.String(),
        "on_hand": pl.Int64(),
        "reserved": pl.Int64(),
        "inventory_position": pl.Int64(),
        "order_up_to": pl.Int64(),
        "proposed_quantity": pl.Int64(),
        "allocated_quantity": pl.Int64(),
        "pull_back_quantity": pl.Int64(),
        "cover_days": pl.Float64(),
        "cut_by": pl.String(),
        "reason": pl.String(),
    }
)


def plan_exceptions(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of the published plan's exceptions (see the module), by series id.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id, category
        Only lines of this forward warehouse, of this SKU category.
    kind
        Only exceptions of this kind (one of :data:`EXCEPTION_KINDS`).
    after
        The ``next_after`` of the previous page (a series id); None for the first.
    limit
        Lines per page, at least 1.

    Returns
    -------
    Page
        ``rows`` are ``EXCEPTIONS``.

    Raises
    ------
    ValueError
        If ``kind`` is not a kind, or ``limit`` is below 1.
    """
    if kind is not None and kind not in EXCEPTION_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EXCEPTION_KINDS)}, got {kind!r}")
    return keyset_page(
        con,
        """
        SELECT * FROM (
            SELECT warehouse_id || $sep || sku AS series_id, *,
                   list_filter([
                       CASE WHEN cut_by <> 'none' THEN 'cut' END,
                       CASE WHEN stocked AND on_hand - reserved <= 0 THEN 'stock_out' END,
                       CASE WHEN rounding = 'cover_cap' THEN 'cover_cap' END,
                       CASE WHEN action = 'pull_back' THEN 'pull_back' END
                   ], lambda k: k IS NOT NULL) AS kinds
            FROM replenishment_plan
            WHERE ($warehouse IS NULL OR warehouse_id = $warehouse)
              AND ($category IS NULL OR category = $category)
        )
        WHERE len(kinds) > 0
          AND ($kind IS NULL OR list_contains(kinds, $kind))
          AND ($after IS NULL OR series_id > $after)
        ORDER BY series_id
        """,
        {
            "sep": SERIES_ID_SEPARATOR,
            "warehouse": warehouse_id,
            "category": category,
            "kind": kind,
            "after": after,
        },
        EXCEPTIONS,
        "series_id",
        limit,
    )
