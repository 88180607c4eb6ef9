"""The dispatch queries: a day's orders with store coordinates, stores, warehouses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from optimization.delivery.coverage import STORE_POINTS, WAREHOUSE_POINTS
from optimization.delivery.day_replay import DAY_ORDERS
from warehouse.dispatch import busiest_day, day_orders, store_points, warehouse_points
from warehouse.schema import connect

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 1)


def _order(
    con: duckdb.DuckDBPyConnection,
    order_id: str,
    store: str,
    warehouse: str,
    local: datetime,
    channel: str,
    lines: list[tuple[str, int, str]],
) -> None:
    ordered_at = local.replace(tzinfo=SHANGHAI)
    demand_date = ordered_at.date()
    con.execute(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, NULL)",
        [order_id, store, warehouse, channel, ordered_at, demand_date],
    )
    for line_no, (sku, quantity, status) in enumerate(lines, start=1):
        con.execute(
            "INSERT INTO order_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, 10, ?, ?, NULL, 'f', now())",
            [order_id, line_no, ordered_at, demand_date, store, warehouse, sku, quantity,
             channel, status],
        )  # fmt: skip


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """DC1, two forward warehouses, three stores, two SKUs (2.5 L and 40 L), five orders.

    On 2026-03-01 (Asia/Shanghai): FW1 has a two-line store order, a store
    order cancelled in full, an online order and one at 23:30 local (15:30
    UTC, still that day); FW2 has one store order. One more order on 03-02.
    """
    connection = connect(tmp_path / "w.duckdb")
    connection.execute(
        "INSERT INTO warehouses VALUES "
        "('DC1', 'dc', 'dc', 30.9, 121.1, 1000, NULL, '2020-01-01'), "
        "('FW1', 'fw1', 'forward', 31.2, 121.4, 100, 'DC1', '2020-01-01'), "
        "('FW2', 'fw2', 'forward', 31.3, 121.5, 100, 'DC1', '2020-01-01')"
    )
    connection.execute(
        "INSERT INTO stores VALUES "
        "('S1', 's1', 31.21, 121.41, 'FW1', '2020-01-01', true), "
        "('S2', 's2', 31.22, 121.42, 'FW1', '2020-01-01', false), "
        "('S3', 's3', 31.31, 121.51, 'FW2', '2020-01-01', true)"
    )
    connection.execute(
        "INSERT INTO skus VALUES "
        "('OIL', 'oil', 'engine_oil', 'engine_oil', 'b', 1, 2.5, 1, 2, 0, false, false), "
        "('TYRE', 'tyre', 'tyres', 'tyre', 'b', 1, 40, 1, 2, 0, false, false)"
    )
    _order(
        connection,
        "O1",
        "S1",
        "FW1",
        datetime(2026, 3, 1, 9, 30),
        "store",
        [("OIL", 2, "completed"), ("TYRE", 4, "completed"), ("OIL", 9, "cancelled")],
    )
    _order(
        connection,
        "O2",
        "S2",
        "FW1",
        datetime(2026, 3, 1, 10, 0),
        "store",
        [("OIL", 1, "cancelled")],
    )
    _order(
        connection,
        "O3",
        "S2",
        "FW1",
        datetime(2026, 3, 1, 11, 0),
        "online",
        [("OIL", 1, "completed")],
    )
    _order(
        connection,
        "O4",
        "S1",
        "FW1",
        datetime(2026, 3, 1, 23, 30),
        "store",
        [("OIL", 1, "completed")],
    )
    _order(
        connection,
        "O5",
        "S3",
        "FW2",
        datetime(2026, 3, 1, 12, 0),
        "store",
        [("TYRE", 2, "completed")],
    )
    _order(connection, "O6", "S3", "FW2", datetime(2026, 3, 2, 12, 0), "store",
           [("TYRE", 2, "completed")])  # fmt: skip
    yield connection
    connection.close()


def test_day_orders_returns_exactly_the_declared_schema(con: duckdb.DuckDBPyConnection) -> None:
    frame = day_orders(con, DAY)
    assert frame.schema == DAY_ORDERS


def test_day_orders_sums_completed_lines_of_store_orders(con: duckdb.DuckDBPyConnection) -> None:
    frame = day_orders(con, DAY)
    assert frame["order_id"].to_list() == ["O1", "O4", "O5"]
    o1 = frame.row(0, named=True)
    assert (o1["units"], o1["volume_l"]) == (6, pytest.approx(2 * 2.5 + 4 * 40))
    assert (o1["store_id"], o1["lat"], o1["lon"]) == ("S1", 31.21, 121.41)


def test_day_orders_are_in_local_time(con: duckdb.DuckDBPyConnection) -> None:
    frame = day_orders(con, DAY, warehouse_id="FW1")
    assert frame["ordered_at"].dt.hour().to_list() == [9, 23]
    assert frame["ordered_at"].dt.date().to_list() == [DAY, DAY]


def test_day_orders_filters_warehouse_and_channels(con: duckdb.DuckDBPyConnection) -> None:
    assert day_orders(con, DAY, warehouse_id="FW2")["order_id"].to_list() == ["O5"]
    both = day_orders(con, DAY, "FW1", channels=("store", "online"))
    assert both["order_id"].to_list() == ["O1", "O3", "O4"]
    assert day_orders(con, date(2026, 3, 3)).is_empty()


def test_busiest_day_counts_orders_of_the_channels(con: duckdb.DuckDBPyConnection) -> None:
    assert busiest_day(con) == DAY
    assert busiest_day(con, channels=("online",)) == DAY
    con.execute("DELETE FROM order_lines")
    con.execute("DELETE FROM orders")
    assert busiest_day(con) is None


def test_points_return_their_declared_schemas(con: duckdb.DuckDBPyConnection) -> None:
    stores = store_points(con)
    warehouses = warehouse_points(con)
    assert stores.schema == STORE_POINTS and warehouses.schema == WAREHOUSE_POINTS
    assert stores["store_id"].to_list() == ["S1", "S2", "S3"]
    assert warehouses.filter(pl.col("kind") == "forward")["warehouse_id"].to_list() == [
        "FW1",
        "FW2",
    ]
