"""What a published snapshot holds, copied from the working database.

:func:`copy_published` fills an attached, empty database with the tables the
read functions of :mod:`warehouse.published` need, for one run;
:func:`warehouse.plan.publish_snapshot` builds it aside and swaps it in.

* **Whole**: ``warehouses``, ``stores``, ``skus``, ``service_targets``,
  ``schema_version`` (master data the pages name things with), and the
  vehicle side of the catalogue: ``vehicle_models``, ``fitment`` (sorted by
  model) and ``maintenance_schedules`` (the API's fitment answers).
* **The run's rows**: ``runs``, ``forecasts``, ``replenishment_plan``,
  ``forecast_accuracy``, ``allocation_runs``, ``routes``, ``policy_replays``,
  ``store_coverage``.
* **Transfer orders**: the run's, and the released orders of any run that
  the destination's latest count cannot include yet (due after it:
  ``warehouse.transfers.RELEASED_AFTER_COUNT``) — the arrivals a store's
  availability adds; their lines and status history.
* **Purchase orders**: the run's, and the released orders of any run due at
  the DC after its latest count (``warehouse.purchasing.RELEASED_PO_AFTER_COUNT``),
  with their lines and status history; ``purchase_plan``, the run's plan per
  (DC, SKU).
* ``dispatch_kpis`` and ``dispatch_delivery_times`` of the latest succeeded
  dispatch replay (a run of its own). A snapshot published before the
  distribution was kept has no ``dispatch_delivery_times``; its reader says so
  (:func:`warehouse.published.network.dispatch_delivery_times`).
* ``demand_history``: daily demand per (warehouse, sku) over the run's
  history window, sparse (days with demand), as the forecast read it
  (``warehouse.demand.daily_demand``; ``y`` in units).
* ``stock_history``: the forward warehouses' counts that bear on that window
  (``warehouse.demand.stock_counts``), the input of the stock-out rule.
* ``stock_levels``: the latest count per (warehouse, sku) on or before the
  run's as-of day, not the whole history.
* ``run_history``, ``kpi_history``, ``accuracy_history``: the last
  ``HISTORY_NIGHTS`` nightly runs up to this one (every run of any kind since
  the oldest of them), their plan KPIs per (warehouse, category) and their
  accuracy at the network, warehouse and category scopes
  (:mod:`warehouse.published.history`: the planners' trends).
* ``snapshot_info``: one row — format, run, as-of, history window, when published.

Tables read by key are written sorted by it, so DuckDB's zone maps answer a
series or a warehouse's page without scanning the rest.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import duckdb

from warehouse.demand import daily_demand, stock_counts
from warehouse.frames import registered
from warehouse.published.history import HISTORY_NIGHTS, HISTORY_SCOPES, KPI_SQL
from warehouse.published.snapshot import SNAPSHOT_FORMAT
from warehouse.purchasing import RELEASED_PO_AFTER_COUNT
from warehouse.transfers import RELEASED_AFTER_COUNT

#: Tables copied whole, with the order they are written in.
_MASTER_TABLES = {
    "warehouses": "warehouse_id",
    "stores": "store_id",
    "skus": "sku",
    "service_targets": "1",
    "schema_version": "1",
    "vehicle_models": "vehicle_model_id",
    "fitment": "vehicle_model_id, sku, position",
    "maintenance_schedules": "vehicle_model_id, part_type",
}

#: Tables copied for the published run only, with the order they are written in.
_RUN_TABLES = {
    "runs": "run_id",
    "forecasts": "warehouse_id, sku, ds",
    "replenishment_plan": "warehouse_id, sku",
    "forecast_accuracy": "scope, key",
    "allocation_runs": "dc_id",
    "routes": "kind, route_id, seq",
    "policy_replays": "warehouse_id, policy, setting",
    "store_coverage": "store_id",
    "purchase_plan": "dc_id, sku",
}

#: The dispatch replay's tables (copied for its latest succeeded run), with their order.
_DISPATCH_TABLES = {
    "dispatch_kpis": "warehouse_id, dispatcher, day",
    "dispatch_delivery_times": "warehouse_id, dispatcher, day, hour, minutes",
}

#: The latest succeeded dispatch replay (``partsflow dispatch``: a routing run of its own).
_LATEST_REPLAY = (
    "SELECT run_id FROM main.runs WHERE kind = 'route' AND status = 'succeeded' "
    "ORDER BY finished_at DESC LIMIT 1"
)

#: Per order book: its orders' table and key, the released-but-not-counted SQL, and the
#: tables keyed by order (copied for the snapshot's orders).
_ORDER_BOOKS = (
    (
        "transfer_orders",
        "transfer_id",
        RELEASED_AFTER_COUNT.format(side="to"),
        {"transfer_order_lines": "line_no", "transfer_order_status_history": "seq"},
    ),
    (
        "purchase_orders",
        "po_id",
        RELEASED_PO_AFTER_COUNT,
        {"purchase_order_lines": "line_no", "purchase_order_status_history": "seq"},
    ),
)


def copy_published(
    con: duckdb.DuckDBPyConnection, into: str, run_id: str, history_days: int | None = None
) -> None:
    """Create the snapshot's tables for ``run_id`` in the attached, empty database ``into``.

    Parameters
    ----------
    con
        A connection to the working database with ``into`` attached.
    into
        The attached database's alias (a name this package chooses, never user input).
    run_id
        The run to publish.
    history_days
        Days of demand history to copy, ending on the run's as-of day; None takes
        the run's own ``history_days`` parameter (what its forecast read), or every
        day since the first order line when the run has none.

    Raises
    ------
    ValueError
        If ``run_id`` is not a run of the working database or has no as-of day.
    """
    as_of, start = _window(con, run_id, history_days)
    for table, order in _MASTER_TABLES.items():
        con.execute(f"CREATE TABLE {into}.{table} AS SELECT * FROM main.{table} ORDER BY {order}")
    for table, order in _RUN_TABLES.items():
        con.execute(
            f"CREATE TABLE {into}.{table} AS SELECT * FROM main.{table} "
            f"WHERE run_id = ? ORDER BY {order}",
            [run_id],
        )
    for orders, key, released, keyed in _ORDER_BOOKS:
        con.execute(
            f"CREATE TABLE {into}.{orders} AS SELECT * FROM main.{orders} "
            f"WHERE run_id = $run OR {key} IN (SELECT {key} FROM ({released})) "
            f"ORDER BY {key}",
            {"run": run_id, "as_of": as_of},
        )
        for table, order in keyed.items():
            con.execute(
                f"CREATE TABLE {into}.{table} AS SELECT * FROM main.{table} "
                f"WHERE {key} IN (SELECT {key} FROM {into}.{orders}) ORDER BY {key}, {order}"
            )
    for table, order in _DISPATCH_TABLES.items():
        con.execute(
            f"CREATE TABLE {into}.{table} AS SELECT * FROM main.{table} "
            f"WHERE run_id = ({_LATEST_REPLAY}) ORDER BY {order}"
        )
    _copy_history(con, into, start, as_of)
    _copy_nights(con, into, run_id)
    con.execute(
        f"""
        CREATE TABLE {into}.stock_levels AS
        SELECT warehouse_id, sku, as_of, on_hand, reserved, in_transit
        FROM main.stock_levels WHERE as_of <= ?
        QUALIFY row_number() OVER (PARTITION BY warehouse_id, sku ORDER BY as_of DESC) = 1
        ORDER BY warehouse_id, sku
        """,
        [as_of],
    )
    con.execute(
        f"CREATE TABLE {into}.snapshot_info AS SELECT ?::INTEGER AS format, ? AS run_id, "
        "?::DATE AS as_of, ?::DATE AS history_start, ?::TIMESTAMPTZ AS published_at",
        [SNAPSHOT_FORMAT, run_id, as_of, start, datetime.now(UTC)],
    )


def _window(
    con: duckdb.DuckDBPyConnection, run_id: str, history_days: int | None
) -> tuple[date, date]:
    """The run's as-of day and the first day of the demand history to copy."""
    rows = con.execute(
        "SELECT as_of, params, (SELECT min(demand_date) FROM main.order_lines) "
        "FROM main.runs WHERE run_id = ?",
        [run_id],
    ).fetchall()
    if not rows or rows[0][0] is None:
        raise ValueError(f"run {run_id!r} is unknown or has no as-of day: nothing to publish")
    as_of, params, first = rows[0]
    if history_days is None:
        history_days = json.loads(params or "{}").get("history_days")
    if history_days is None:  # not a nightly's run: all there is
        return as_of, min(first or as_of, as_of)
    if history_days < 1:
        raise ValueError(f"history_days must be at least 1, got {history_days}")
    return as_of, as_of - timedelta(days=history_days - 1)


def _copy_nights(con: duckdb.DuckDBPyConnection, into: str, run_id: str) -> None:
    """``run_history``, ``kpi_history`` and ``accuracy_history`` (see the module)."""
    nights = (
        "SELECT run_id FROM main.runs WHERE kind = 'nightly' AND started_at <= "
        "(SELECT started_at FROM main.runs WHERE run_id = $run) "
        f"ORDER BY started_at DESC LIMIT {HISTORY_NIGHTS}"
    )
    con.execute(
        f"CREATE TABLE {into}.run_history AS SELECT * FROM main.runs WHERE started_at >= "
        f"(SELECT min(started_at) FROM main.runs WHERE run_id IN ({nights}) OR run_id = $run) "
        "ORDER BY started_at, run_id",
        {"run": run_id},
    )
    plan = f"(SELECT * FROM main.replenishment_plan WHERE run_id IN ({nights}))"
    con.execute(
        f"CREATE TABLE {into}.kpi_history AS SELECT * FROM ({KPI_SQL.format(plan=plan)}) "
        "ORDER BY as_of, warehouse_id, category",
        {"run": run_id},
    )
    con.execute(
        f"CREATE TABLE {into}.accuracy_history AS SELECT a.*, r.as_of "
        "FROM main.forecast_accuracy a JOIN main.runs r ON a.run_id = r.run_id "
        f"WHERE a.run_id IN ({nights}) AND a.scope IN {HISTORY_SCOPES!r} "
        "ORDER BY a.scope, a.key, r.as_of",
        {"run": run_id},
    )


def _copy_history(con: duckdb.DuckDBPyConnection, into: str, start: date, as_of: date) -> None:
    """``demand_history`` and ``stock_history`` over ``start .. as_of``.

    Read through ``warehouse.demand`` so that the snapshot shows the demand and
    counts the forecast was built from, defined in one place. Both come sorted by
    series and day, and DuckDB keeps that order: no second sort.
    """
    days = (as_of - start).days + 1
    with (
        registered(con, daily_demand(con, as_of, days)) as demand,
        registered(con, stock_counts(con, start, as_of)) as counts,
    ):
        con.execute(
            f"CREATE TABLE {into}.demand_history AS "
            f"SELECT warehouse_id, sku, ds, y::BIGINT AS y FROM {demand}"
        )
        con.execute(f"CREATE TABLE {into}.stock_history AS SELECT * FROM {counts}")
