"""Earlier nights in the snapshot: the runs, the plan's KPIs and the accuracy, night by night.

The snapshot publishes one run, but a planner reads today's figures against
the nights before. :func:`warehouse.published.build.copy_published` copies
the last :data:`HISTORY_NIGHTS` nightly runs' bookkeeping (``run_history``:
every run of those days, failed ones included), their plan KPIs per
(warehouse, category) (``kpi_history``, additive sums: any filter rolls
them up) and their accuracy at the network, warehouse and category scopes
(``accuracy_history``).

A snapshot published before these tables existed still reads: the KPIs and
accuracy of its one run come from its own plan and accuracy tables, the run
history is its one run (no format change was needed).
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse.forecasting import ACCURACY
from warehouse.published._sql import frame

#: Nights of history a snapshot carries.
HISTORY_NIGHTS = 30

#: One run of the working database (any kind), newest first; ``summary`` is its JSON.
RUN_HISTORY = pl.Schema(
    {
        "run_id": pl.String(),
        "kind": pl.String(),
        "status": pl.String(),
        "as_of": pl.Date(),
        "started_at": pl.Datetime("us", "UTC"),
        "finished_at": pl.Datetime("us", "UTC"),
        "summary": pl.String(),
        "error": pl.String(),
    }
)

#: A night's plan per (warehouse, category) as additive sums (see :data:`KPI_SQL`).
KPI_HISTORY = pl.Schema(
    {
        "run_id": pl.String(),
        "as_of": pl.Date(),
        "warehouse_id": pl.String(),
        "category": pl.String(),
        "series": pl.Int64(),
        "stocked": pl.Int64(),
        "demand_rate": pl.Float64(),
        "fill_weighted": pl.Float64(),
        "risk_weighted": pl.Float64(),
        "out_now": pl.Int64(),
        "on_hand_units": pl.Int64(),
        "on_hand_value": pl.Float64(),
        "demand_value": pl.Float64(),
        "excess_value": pl.Float64(),
        "ageing_value": pl.Float64(),
        "dead_value": pl.Float64(),
        "lines_proposed": pl.Int64(),
        "units_proposed": pl.Int64(),
        "lines_cut": pl.Int64(),
        "units_cut": pl.Int64(),
        "pull_back_lines": pl.Int64(),
    }
)

#: A night's KPIs rolled up over the filter: one row per night, oldest first.
PLAN_KPIS = pl.Schema(
    {
        "run_id": pl.String(),
        "as_of": pl.Date(),
        "series": pl.Int64(),
        "stocked": pl.Int64(),
        "expected_fill_rate": pl.Float64(),
        "stock_out_risk": pl.Float64(),
        "out_now": pl.Int64(),
        "on_hand_units": pl.Int64(),
        "inventory_value": pl.Float64(),
        "cover_days": pl.Float64(),
        "excess_value": pl.Float64(),
        "ageing_value": pl.Float64(),
        "dead_value": pl.Float64(),
        "lines_proposed": pl.Int64(),
        "units_proposed": pl.Int64(),
        "lines_cut": pl.Int64(),
        "units_cut": pl.Int64(),
        "pull_back_lines": pl.Int64(),
    }
)

#: Accuracy of a night at one scope and key (``ACCURACY`` with the night).
ACCURACY_HISTORY = pl.Schema([("run_id", pl.String()), ("as_of", pl.Date()), *ACCURACY.items()])

#: The plan's KPIs per (run, warehouse, category) over a relation of plan lines
#: (``{plan}``: the working database's ``replenishment_plan``, or the snapshot's).
#: Expected fill and stock-out risk are demand-weighted over the series held at the
#: warehouse (risk: the chance a replenishment cycle runs out at tonight's level,
#: 1 − expected cycle service); ``out_now``: held series with nothing free at the
#: count. Excess: the value above tonight's order-up-to level; ageing and dead: the
#: value on hand with no movement for 60-89 and 90+ days (the 90-day return rule).
KPI_SQL = """
SELECT run_id, as_of, warehouse_id, category,
    count(*)::BIGINT AS series,
    count(*) FILTER (stocked)::BIGINT AS stocked,
    coalesce(sum(rate) FILTER (stocked), 0)::DOUBLE AS demand_rate,
    coalesce(sum(rate * expected_fill_rate) FILTER (stocked), 0)::DOUBLE AS fill_weighted,
    coalesce(sum(rate * (1 - expected_cycle_service)) FILTER (stocked), 0)::DOUBLE
        AS risk_weighted,
    count(*) FILTER (stocked AND on_hand - reserved <= 0)::BIGINT AS out_now,
    coalesce(sum(on_hand), 0)::BIGINT AS on_hand_units,
    coalesce(sum(on_hand * unit_cost), 0)::DOUBLE AS on_hand_value,
    coalesce(sum(rate * unit_cost) FILTER (stocked), 0)::DOUBLE AS demand_value,
    coalesce(sum(greatest(inventory_position - order_up_to, 0) * unit_cost), 0)::DOUBLE
        AS excess_value,
    coalesce(sum(on_hand * unit_cost) FILTER (idle_days >= 60 AND idle_days < 90), 0)::DOUBLE
        AS ageing_value,
    coalesce(sum(on_hand * unit_cost) FILTER (idle_days >= 90), 0)::DOUBLE AS dead_value,
    count(*) FILTER (proposed_quantity > 0)::BIGINT AS lines_proposed,
    coalesce(sum(proposed_quantity), 0)::BIGINT AS units_proposed,
    count(*) FILTER (allocated_quantity < proposed_quantity)::BIGINT AS lines_cut,
    coalesce(sum(proposed_quantity - allocated_quantity)
        FILTER (allocated_quantity < proposed_quantity), 0)::BIGINT AS units_cut,
    count(*) FILTER (pull_back_quantity > 0)::BIGINT AS pull_back_lines
FROM {plan}
GROUP BY run_id, as_of, warehouse_id, category
"""

#: The accuracy scopes kept night by night (``series`` rows are thousands a night).
HISTORY_SCOPES = ("network", "warehouse", "category")


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database() AND table_name = ?",
        [table],
    ).fetchall()
    return bool(found[0][0])


def run_history(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> pl.DataFrame:
    """The runs of the last nights (of ``kind``, or all), newest first.

    Returns
    -------
    pl.DataFrame
        ``RUN_HISTORY``; an older snapshot answers its own run.
    """
    table = "run_history" if _has(con, "run_history") else "runs"
    return frame(
        con,
        f"SELECT run_id, kind, status, as_of, started_at, finished_at, summary::VARCHAR "
        f"AS summary, error FROM {table} WHERE $kind IS NULL OR kind = $kind "
        "ORDER BY started_at DESC, run_id DESC",
        {"kind": kind},
        RUN_HISTORY,
    )


def plan_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    warehouse_id: str | None = None,
    category: str | None = None,
) -> pl.DataFrame:
    """The plan's KPIs night by night, over one warehouse and category or all of them.

    Parameters
    ----------
    con
        A connection from :func:`warehouse.published.open_snapshot`.
    warehouse_id, category
        Only this forward warehouse, this SKU category (None: all).

    Returns
    -------
    pl.DataFrame
        ``PLAN_KPIS``, one row per night, oldest first; the last row is the
        published night. Days of cover: inventory value over a day's demand at
        cost (held series); fill and risk as in :data:`KPI_SQL`.
    """
    source = (
        "kpi_history"
        if _has(con, "kpi_history")
        else f"({KPI_SQL.format(plan='replenishment_plan')})"
    )
    return frame(
        con,
        f"""
        SELECT run_id, as_of,
            sum(series) AS series, sum(stocked) AS stocked,
            sum(fill_weighted) / nullif(sum(demand_rate), 0) AS expected_fill_rate,
            sum(risk_weighted) / nullif(sum(demand_rate), 0) AS stock_out_risk,
            sum(out_now) AS out_now, sum(on_hand_units) AS on_hand_units,
            sum(on_hand_value) AS inventory_value,
            sum(on_hand_value) / nullif(sum(demand_value), 0) AS cover_days,
            sum(excess_value) AS excess_value, sum(ageing_value) AS ageing_value,
            sum(dead_value) AS dead_value, sum(lines_proposed) AS lines_proposed,
            sum(units_proposed) AS units_proposed, sum(lines_cut) AS lines_cut,
            sum(units_cut) AS units_cut, sum(pull_back_lines) AS pull_back_lines
        FROM {source}
        WHERE ($warehouse IS NULL OR warehouse_id = $warehouse)
          AND ($category IS NULL OR category = $category)
        GROUP BY run_id, as_of
        ORDER BY as_of, run_id
        """,
        {"warehouse": warehouse_id, "category": category},
        PLAN_KPIS,
    )


def accuracy_history(con: duckdb.DuckDBPyConnection, scope: str, key: str) -> pl.DataFrame:
    """The backtest accuracy at ``scope`` and ``key`` night by night, oldest first.

    Parameters
    ----------
    scope
        ``network`` (key ``all``), ``warehouse`` or ``category``.

    Returns
    -------
    pl.DataFrame
        ``ACCURACY_HISTORY``; an older snapshot answers its own night.

    Raises
    ------
    ValueError
        If ``scope`` is not one of :data:`HISTORY_SCOPES`.
    """
    if scope not in HISTORY_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(HISTORY_SCOPES)}, got {scope!r}")
    if _has(con, "accuracy_history"):
        sql = "SELECT * FROM accuracy_history WHERE scope = $scope AND key = $key ORDER BY as_of"
    else:
        sql = (
            "SELECT a.*, i.as_of FROM forecast_accuracy a, snapshot_info i "
            "WHERE scope = $scope AND key = $key"
        )
    return frame(con, sql, {"scope": scope, "key": key}, ACCURACY_HISTORY)
