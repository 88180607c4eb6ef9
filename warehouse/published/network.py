"""The published run's network-wide results: routes, coverage, dispatch, accuracy, replays.

Each frame has the schema the night wrote it with (the pure code's), named here
for the readers, so a reader gets exactly what was computed.
"""

from __future__ import annotations

import duckdb
import polars as pl

from optimization.delivery.coverage import ASSIGNMENT_CHECK
from optimization.delivery.day_replay import DAY_KPIS, DELIVERY_TIMES
from optimization.evaluation.replay import REPLAY_RESULTS
from optimization.replenishment.planning import ALLOCATION_STATS
from optimization.routing.linehaul import ROUTE_ROWS
from warehouse.forecasting import ACCURACY
from warehouse.published._sql import Page, frame, keyset_page

#: One stop of a route (``routes`` less ``run_id``; CONTRACTS.md "routes").
ROUTES = ROUTE_ROWS

#: One store: its own warehouse checked against the 5 km / 30 minute rules.
STORE_COVERAGE = ASSIGNMENT_CHECK

#: A day of store deliveries replayed per warehouse and dispatcher. ``run_id`` is the
#: dispatch replay's own run (``partsflow dispatch``), the latest one to succeed.
DISPATCH_KPIS = pl.Schema(
    [("run_id", pl.String()), *DAY_KPIS.items(), ("fleet_sized", pl.Boolean())]
)

#: The same replay's delivery times: orders per warehouse, dispatcher, day, local hour
#: placed and minute bucket (rounded up; ``DELIVERY_CAP_MIN`` holds the slowest).
DISPATCH_DELIVERY_TIMES = pl.Schema([("run_id", pl.String()), *DELIVERY_TIMES.items()])

#: Backtest accuracy at one scope (``series``, ``warehouse``, ``category``, ``class``,
#: ``network``) and key.
ACCURACY_ROWS = ACCURACY

#: One point of a warehouse's service-vs-inventory frontier: a policy at a setting.
POLICY_REPLAYS = REPLAY_RESULTS

#: The DC allocation per DC: its status, problem size and units.
ALLOCATIONS = ALLOCATION_STATS


def routes(con: duckdb.DuckDBPyConnection, kind: str = "linehaul") -> pl.DataFrame:
    """The run's routes of ``kind`` (``linehaul`` or ``dispatch``), by route and stop.

    Returns
    -------
    pl.DataFrame
        ``ROUTES``.
    """
    return frame(
        con,
        "SELECT * FROM routes WHERE kind = $kind ORDER BY route_id, seq",
        {"kind": kind},
        ROUTES,
    )


def store_coverage(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    flagged_only: bool = False,
) -> pl.DataFrame:
    """Tonight's coverage check of every store (or a warehouse's), by store.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id
        Only the stores this warehouse serves.
    flagged_only
        Only the stores outside 5 km or 30 minutes, or with a nearer warehouse.

    Returns
    -------
    pl.DataFrame
        ``STORE_COVERAGE``.
    """
    return frame(
        con,
        """
        SELECT * FROM store_coverage
        WHERE ($warehouse IS NULL OR warehouse_id = $warehouse)
          AND (NOT $flagged_only OR NOT ok)
        ORDER BY store_id
        """,
        {"warehouse": warehouse_id, "flagged_only": flagged_only},
        STORE_COVERAGE,
    )


def dispatch_kpis(con: duckdb.DuckDBPyConnection, warehouse_id: str | None = None) -> pl.DataFrame:
    """The latest dispatch replay's KPIs (none before the first ``partsflow dispatch``).

    Returns
    -------
    pl.DataFrame
        ``DISPATCH_KPIS`` by warehouse, dispatcher and day.
    """
    return frame(
        con,
        "SELECT * FROM dispatch_kpis WHERE $warehouse IS NULL OR warehouse_id = $warehouse "
        "ORDER BY warehouse_id, dispatcher, day",
        {"warehouse": warehouse_id},
        DISPATCH_KPIS,
    )


def dispatch_delivery_times(
    con: duckdb.DuckDBPyConnection, warehouse_id: str | None = None
) -> pl.DataFrame | None:
    """The latest dispatch replay's delivery-time distribution (the rows of :func:`dispatch_kpis`).

    Returns
    -------
    pl.DataFrame or None
        ``DISPATCH_DELIVERY_TIMES`` by warehouse, dispatcher, day, hour and minutes
        (empty before the first ``partsflow dispatch``, or for a replay made before
        the distribution was kept); None when the snapshot was published before the
        table existed (its format is otherwise the same, so it stays readable).
    """
    held = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND table_name = 'dispatch_delivery_times'"
    ).fetchall()[0][0]
    if not held:
        return None
    return frame(
        con,
        "SELECT * FROM dispatch_delivery_times "
        "WHERE $warehouse IS NULL OR warehouse_id = $warehouse "
        "ORDER BY warehouse_id, dispatcher, day, hour, minutes",
        {"warehouse": warehouse_id},
        DISPATCH_DELIVERY_TIMES,
    )


def forecast_accuracy(
    con: duckdb.DuckDBPyConnection,
    scope: str,
    *,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of the run's backtest accuracy at ``scope``, by key.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    scope
        ``network``, ``warehouse``, ``category``, ``class`` or ``series`` (key: the
        series' ``unique_id``; one row per series backtested, thousands a night).
    after
        The ``next_after`` of the previous page; None for the first.
    limit
        Rows per page, at least 1.

    Returns
    -------
    Page
        ``rows`` are ``ACCURACY_ROWS``.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    """
    return keyset_page(
        con,
        "SELECT * FROM forecast_accuracy WHERE scope = $scope "
        "AND ($after IS NULL OR key > $after) ORDER BY key",
        {"scope": scope, "after": after},
        ACCURACY_ROWS,
        "key",
        limit,
    )


def policy_replays(con: duckdb.DuckDBPyConnection, warehouse_id: str | None = None) -> pl.DataFrame:
    """The frontier: the last weeks replayed per warehouse under each policy and setting.

    Returns
    -------
    pl.DataFrame
        ``POLICY_REPLAYS`` by warehouse, policy and setting.
    """
    return frame(
        con,
        "SELECT * FROM policy_replays WHERE $warehouse IS NULL OR warehouse_id = $warehouse "
        "ORDER BY warehouse_id, policy, setting",
        {"warehouse": warehouse_id},
        POLICY_REPLAYS,
    )


def allocations(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """How the DC allocation ended per DC: ``ALLOCATIONS``, by DC."""
    return frame(con, "SELECT * FROM allocation_runs ORDER BY dc_id", {}, ALLOCATIONS)
