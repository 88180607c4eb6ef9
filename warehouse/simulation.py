"""The closed loop's reads and writes on its working copy of the database.

``partsflow simulate`` (``flows.simulate``) never opens the user's files: it works
on a copy, and this module is what it does to that copy, as the systems around
the nightly would:

* **The future** (:class:`Future`): the orders after the split day, with their
  lines, status history and returns, either taken out of the copy
  (:func:`detach_future`: a generated network's later days) or copied from its
  last weeks with dates moved forward (:func:`replay_future`). The counts after
  the split day are taken out with them: the loop writes its own.
* **The day** as the order system and the WMS report it: the day's orders go in
  (:func:`insert_day`), then end-of-day counts of every (warehouse, SKU) that
  moved (:func:`write_counts`; ``in_transit`` 0, since released orders are the
  record of what is on its way, ``warehouse.replenishment``).
* **The planner who signs everything** (:func:`release_run`): every order the
  night proposed is approved and released through the workflow of
  ``warehouse.transfers`` and ``warehouse.purchasing``; an order the workflow
  refuses is cancelled with its reason and counted.
* **Reads**: the latest stock, what is due in the morning (:func:`due`), what
  released transfers have spoken for at the DC (:func:`spoken_for`), the demand
  state of each series (:func:`demand_state`) and the network (:func:`network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from optimization.evaluation.closed_loop import (
    DEMAND_STATE,
    MOVES,
    PURCHASES,
    RETURNS,
    SITES,
    STOCK,
    TRANSFERS,
)
from warehouse import purchasing, transfers
from warehouse.frames import registered, transaction
from warehouse.workflow import WorkflowError

#: ``source_file`` of the counts the loop writes.
SOURCE = "partsflow simulate"


@dataclass(frozen=True)
class Future:
    """Rows of ``orders``, ``order_lines``, ``order_line_status_history`` and ``returns``
    still to come, with the tables' own columns."""

    orders: pl.DataFrame
    lines: pl.DataFrame
    history: pl.DataFrame
    returns: pl.DataFrame

    def days(self) -> list[date]:
        """The demand days to come, in order."""
        return sorted(set(self.lines["demand_date"].to_list()))


_FUTURE_ORDERS = "SELECT * FROM orders WHERE demand_date > $split"
_FUTURE_LINES = "SELECT * FROM order_lines WHERE demand_date > $split"
_FUTURE_HISTORY = """
    SELECT h.* FROM order_line_status_history h
    JOIN order_lines l USING (order_id, line_no) WHERE l.demand_date > $split
"""
_FUTURE_RETURNS = """
    SELECT r.* FROM returns r JOIN order_lines l USING (order_id, line_no)
    WHERE r.return_date > $split OR l.demand_date > $split
"""


def detach_future(con: duckdb.DuckDBPyConnection, split: date) -> Future:
    """Take everything after ``split`` out of the copy and return the orders to come.

    Orders with a demand day after ``split`` leave with their lines, status history
    and deliveries (not replayed: the loop does not dispatch riders); returns dated
    after ``split`` leave too (they come back on their day); so do the stock counts
    after ``split``.
    """
    params = {"split": split}
    future = Future(
        orders=con.sql(_FUTURE_ORDERS, params=params).pl(),
        lines=con.sql(_FUTURE_LINES, params=params).pl(),
        history=con.sql(_FUTURE_HISTORY, params=params).pl(),
        returns=con.sql(_FUTURE_RETURNS, params=params).pl(),
    )
    # One statement per transaction: DuckDB checks a foreign key against what was
    # committed before the statement, so the referencing rows must be gone first.
    for statement in (
        f"DELETE FROM returns WHERE return_id IN (SELECT return_id FROM ({_FUTURE_RETURNS}))",
        "DELETE FROM order_line_status_history h USING order_lines l "
        "WHERE h.order_id = l.order_id AND h.line_no = l.line_no AND l.demand_date > $split",
        "DELETE FROM deliveries WHERE order_id IN "
        "(SELECT order_id FROM orders WHERE demand_date > $split)",
        "DELETE FROM order_lines WHERE demand_date > $split",
        "DELETE FROM orders WHERE demand_date > $split",
        "DELETE FROM stock_levels WHERE as_of > $split",
    ):
        con.execute(statement, params)
    return future


def replay_future(con: duckdb.DuckDBPyConnection, last: date, nights: int, shift: int) -> Future:
    """The ``nights`` days after ``last``, each the demand of the day ``shift`` days before.

    Ids get the suffix ``+{shift}d`` and timestamps and days move forward by ``shift``
    days (a multiple of 7 keeps the weekdays); returns of those lines that fall
    within the ``nights`` days come back too. Nothing in the database changes.
    """
    if shift < nights:
        raise ValueError(f"shift ({shift} days) must cover the {nights} nights")
    params = {"split": last - timedelta(days=shift), "end": last - timedelta(days=shift - nights)}
    window = " AND demand_date <= $end"
    lines = con.sql(_FUTURE_LINES + window, params=params).pl()
    orders = con.sql(_FUTURE_ORDERS + window, params=params).pl()
    history = con.sql(_FUTURE_HISTORY + " AND l.demand_date <= $end", params=params).pl()
    returns = con.sql(
        "SELECT r.* FROM returns r JOIN order_lines l USING (order_id, line_no) "
        "WHERE l.demand_date > $split AND l.demand_date <= $end AND r.return_date <= $end",
        params=params,
    ).pl()
    later = pl.duration(days=shift)
    suffix = pl.concat_str(pl.col("order_id"), pl.lit(f"+{shift}d"))
    moved = {
        "orders": orders.with_columns(
            suffix, pl.col("ordered_at") + later, pl.col("demand_date") + later
        ),
        "lines": lines.with_columns(
            suffix, pl.col("ordered_at") + later, pl.col("demand_date") + later
        ),
        "history": history.with_columns(suffix, pl.col("recorded_at") + later),
        "returns": returns.with_columns(
            suffix,
            pl.concat_str(pl.col("return_id"), pl.lit(f"+{shift}d")),
            pl.col("returned_at") + later,
            pl.col("return_date") + later,
        ),
    }
    return Future(**moved)


def insert_day(con: duckdb.DuckDBPyConnection, future: Future, day: date) -> None:
    """Load the day's orders, lines, status history and returns, as the nightly ingest would."""
    lines = future.lines.filter(pl.col("demand_date") == day)
    parts = [
        ("orders", future.orders.filter(pl.col("demand_date") == day)),
        ("order_lines", lines),
        (
            "order_line_status_history",
            future.history.join(lines.select("order_id", "line_no"), on=["order_id", "line_no"]),
        ),
        ("returns", future.returns.filter(pl.col("return_date") == day)),
    ]
    with transaction(con):
        for table, frame in parts:
            if frame.is_empty():
                continue
            with registered(con, frame) as rows:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {rows}")


def returns_on(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """``RETURNS`` of ``day``, at the forward warehouse that served each line."""
    frame = con.sql(
        """
        SELECT l.warehouse_id, r.sku, r.quantity, r.reason
        FROM returns r JOIN order_lines l USING (order_id, line_no)
        WHERE r.return_date = ? ORDER BY ALL
        """,
        params=[day],
    ).pl()
    return frame.cast(RETURNS)


def stock_state(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """``STOCK``: the latest count of every (warehouse, SKU) on or before ``day``."""
    frame = con.sql(
        """
        SELECT warehouse_id, sku, on_hand, reserved FROM stock_levels WHERE as_of <= ?
        QUALIFY row_number() OVER (PARTITION BY warehouse_id, sku ORDER BY as_of DESC) = 1
        ORDER BY warehouse_id, sku
        """,
        params=[day],
    ).pl()
    return frame.cast(STOCK)


def write_counts(con: duckdb.DuckDBPyConnection, day: date, counts: pl.DataFrame) -> None:
    """Insert ``STOCK`` rows as the end-of-day counts of ``day``."""
    with registered(con, counts.select(STOCK.names())) as rows:
        con.execute(
            f"""
            INSERT INTO stock_levels (warehouse_id, sku, as_of, on_hand, reserved, in_transit,
                                      source_file, loaded_at)
            SELECT warehouse_id, sku, $day, on_hand, reserved, 0, $source, $now FROM {rows}
            """,
            {"day": day, "source": SOURCE, "now": datetime.now(UTC)},
        )


def seed_open_purchases(con: duckdb.DuckDBPyConnection, split: date) -> int:
    """Record the DC's open supplier orders at ``split`` as released purchase orders.

    A count's ``in_transit`` at a DC is what its suppliers are bringing, but the
    nightly reads what is coming only from released purchase orders (the count's
    figure would count them twice). A generated network has none, so its DCs'
    ``in_transit`` at the split becomes one released order per (supplier, DC), due
    halfway through the supplier's lead time (an order open at a random moment has
    that much left on average). Nothing is seeded when released orders are already
    due after ``split``. Returns the lines recorded.
    """
    pending = con.execute(
        "SELECT count(*) FROM purchase_orders WHERE status = 'released' AND expected_on > ?",
        [split],
    ).fetchall()[0][0]
    if pending:
        return 0
    lines = con.sql(
        """
        WITH counts AS (
            SELECT s.warehouse_id AS dc_id, s.sku, s.in_transit
            FROM stock_levels s JOIN warehouses w USING (warehouse_id)
            WHERE w.kind = 'dc' AND s.as_of <= $split
            QUALIFY row_number() OVER (PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1
        )
        SELECT 'SEED/' || t.supplier_id || '>' || c.dc_id AS po_id, t.supplier_id, c.dc_id,
               $split::DATE + greatest((p.lead_time_days + 1) // 2, 1) AS expected_on,
               c.sku, c.in_transit AS quantity, k.unit_cost
        FROM counts c JOIN sku_supply t USING (sku) JOIN suppliers p USING (supplier_id)
        JOIN skus k USING (sku)
        WHERE c.in_transit > 0
        ORDER BY po_id, c.sku
        """,
        params={"split": split},
    ).pl()
    if lines.is_empty():
        return 0
    now = datetime.now(UTC)
    headers = lines.group_by("po_id", "supplier_id", "dc_id").agg(
        pl.col("expected_on").first().cast(pl.Date)
    )
    numbered = lines.with_columns(line_no=pl.int_range(1, pl.len() + 1).over("po_id"))
    with transaction(con), registered(con, headers) as head, registered(con, numbered) as rows:
        con.execute(
            f"INSERT INTO purchase_orders BY NAME SELECT *, NULL AS run_id, $now AS created_at, "
            f"'released' AS status, 'open at the split day' AS status_reason FROM {head}",
            {"now": now},
        )
        con.execute(
            "INSERT INTO purchase_order_lines BY NAME SELECT po_id, line_no, sku, "
            "quantity AS proposed_quantity, quantity, unit_cost, "
            "'open supplier order at the split day (its count''s in transit)' AS reason "
            f"FROM {rows}"
        )
        con.execute(
            "INSERT INTO purchase_order_status_history SELECT po_id, 1, 'released', "
            f"'open at the split day', $by, $now FROM {head}",
            {"by": SOURCE, "now": now},
        )
    return numbered.height


def due(con: duckdb.DuckDBPyConnection, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Released ``TRANSFERS`` and ``PURCHASES`` lines that arrive on the morning of ``day``."""
    moving = con.sql(
        """
        SELECT o.from_warehouse_id, o.to_warehouse_id, l.sku, l.quantity, o.needed_by
        FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
        WHERE o.status = 'released' AND l.quantity > 0 AND o.needed_by = ?
        ORDER BY ALL
        """,
        params=[day],
    ).pl()
    bought = con.sql(
        """
        SELECT o.dc_id, l.sku, l.quantity, l.unit_cost::DOUBLE AS unit_cost, o.expected_on
        FROM purchase_orders o JOIN purchase_order_lines l USING (po_id)
        WHERE o.status = 'released' AND l.quantity > 0 AND o.expected_on = ?
        ORDER BY ALL
        """,
        params=[day],
    ).pl()
    return moving.cast(TRANSFERS), bought.cast(PURCHASES)


def spoken_for(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """``MOVES``: units of released transfers out of each site due after ``day``."""
    frame = con.sql(
        """
        SELECT o.from_warehouse_id AS warehouse_id, l.sku, sum(l.quantity) AS delta
        FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
        WHERE o.status = 'released' AND l.quantity > 0 AND o.needed_by > ?
        GROUP BY ALL ORDER BY ALL
        """,
        params=[day],
    ).pl()
    return frame.cast(MOVES)


@dataclass(frozen=True)
class Released:
    """What a run's orders became: the released lines and the orders refused."""

    transfers: pl.DataFrame  # TRANSFERS
    purchases: pl.DataFrame  # PURCHASES
    refused: tuple[str, ...]  # "{order id}: {why}"


def release_run(con: duckdb.DuckDBPyConnection, run_id: str, by: str = SOURCE) -> Released:
    """Approve and release every order the run proposed; cancel the ones the workflow refuses."""
    refused: list[str] = []
    for book, table, key in (
        (transfers, "transfer_orders", "transfer_id"),
        (purchasing, "purchase_orders", "po_id"),
    ):
        proposed = con.execute(
            f"SELECT {key} FROM {table} WHERE run_id = ? AND status = 'proposed' ORDER BY ALL",
            [run_id],
        ).fetchall()
        for (order_id,) in proposed:
            try:
                book.approve(con, order_id, by)
                book.release(con, order_id, by)
            except WorkflowError as error:
                refused.append(f"{order_id}: {error}")
                book.cancel(con, order_id, f"refused at release: {error}", by)
    moving = con.sql(
        """
        SELECT o.from_warehouse_id, o.to_warehouse_id, l.sku, l.quantity, o.needed_by
        FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
        WHERE o.run_id = ? AND o.status = 'released' ORDER BY ALL
        """,
        params=[run_id],
    ).pl()
    bought = con.sql(
        """
        SELECT o.dc_id, l.sku, l.quantity, l.unit_cost::DOUBLE AS unit_cost, o.expected_on
        FROM purchase_orders o JOIN purchase_order_lines l USING (po_id)
        WHERE o.run_id = ? AND o.status = 'released' ORDER BY ALL
        """,
        params=[run_id],
    ).pl()
    return Released(moving.cast(TRANSFERS), bought.cast(PURCHASES), tuple(refused))


def demand_state(con: duckdb.DuckDBPyConnection, day: date, window_days: int) -> pl.DataFrame:
    """``DEMAND_STATE`` of each series sold by ``day``: units in the window and the last sale."""
    frame = con.sql(
        """
        SELECT warehouse_id, sku,
               coalesce(sum(quantity) FILTER (WHERE demand_date > $start), 0) AS recent_units,
               max(demand_date) AS last_sale
        FROM order_lines WHERE status = 'completed' AND demand_date <= $day
        GROUP BY ALL ORDER BY ALL
        """,
        params={"day": day, "start": day - timedelta(days=window_days)},
    ).pl()
    return frame.cast(DEMAND_STATE)


def network(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame, date | None]:
    """``SITES``, each SKU's ``unit_cost`` and the first day of order history."""
    sites = con.sql(
        "SELECT warehouse_id, kind, coalesce(parent_warehouse_id, warehouse_id) AS dc_id "
        "FROM warehouses ORDER BY warehouse_id"
    ).pl()
    costs = con.sql("SELECT sku, unit_cost::DOUBLE AS unit_cost FROM skus ORDER BY sku").pl()
    first = con.execute("SELECT min(demand_date) FROM order_lines").fetchall()[0][0]
    return sites.cast(SITES), costs, first if isinstance(first, date) else None


def forget_model_choice(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the stored model choice and calibration, so the next night chooses afresh."""
    with transaction(con):
        con.execute("DELETE FROM forecast_selection")
        con.execute("DELETE FROM forecast_calibration")
