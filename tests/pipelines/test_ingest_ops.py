"""The operational store as a landing source (pipelines.ingest.ops_source).

The store's changes are built here as ``ops.exports`` frames (no store needed);
the warehouse holds tests/pipelines/ingest_support.py's small network (stores
S1 → FW1 and S2 → FW2, SKUs K1 and K2 at 35.50, model VM1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ops.exports import ORDER_LINES, RETURNS, StoreChanges
from pipelines.ingest import retry_quarantine
from pipelines.ingest.ops_source import (
    REREAD,
    StoreReport,
    ingest_store,
    order_line_rows,
    return_rows,
)
from pipelines.ingest.readers import ROW_NUMBER
from tests.pipelines.ingest_support import NOW, load_network, query
from warehouse.ops_intake import LINE_PRICES, line_prices
from warehouse.schema import connect

SOURCE = "ops:sqlite:///data/ops.sqlite3"
#: 01:30 in Shanghai on 1 March: the demand day is the 1st, not UTC's 28 February.
PLACED = datetime(2026, 2, 28, 17, 30, 0, 123456, tzinfo=UTC)


def _line(order_id: str = "ORD-1", line_no: int = 1, **values: Any) -> dict[str, Any]:
    """A line of ``ops.exports.ORDER_LINES``: 2 of K1 for S1, confirmed at ``PLACED``;
    ``store``, ``model`` and ``at`` name the store, vehicle model and time."""
    at = values.pop("at", PLACED)
    row = {
        "order_id": order_id,
        "line_no": line_no,
        "store_id": values.pop("store", "S1"),
        "status": "confirmed",
        "vehicle_model_id": values.pop("model", None),
        "created_at": at,
        "updated_at": at,
        "sku": "K1",
        "quantity": 2,
        "warehouse_id": "FW1",
    }
    return row | values


def _return(
    return_id: str,
    quantity: int,
    *,
    order_id: str = "ORD-1",
    sku: str = "K1",
    reason: str = "unused",
    store: str = "S1",
    at: datetime = PLACED + timedelta(hours=2),
) -> dict[str, Any]:
    return {
        "return_id": return_id,
        "order_id": order_id,
        "store_id": store,
        "sku": sku,
        "quantity": quantity,
        "reason": reason,
        "created_at": at,
    }


def _lines(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ORDER_LINES)


def _returns(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=RETURNS)


def _changes(
    lines: pl.DataFrame | None = None,
    returns: pl.DataFrame | None = None,
    returned_lines: pl.DataFrame | None = None,
) -> StoreChanges:
    empty = _lines()
    return StoreChanges(
        lines if lines is not None else empty,
        returns if returns is not None else _returns(),
        returned_lines if returned_lines is not None else empty,
    )


class FakeStore:
    """A store whose changes a test sets; it remembers the moments it was asked about."""

    def __init__(self, changes: StoreChanges) -> None:
        self.changes = changes
        self.asked: list[tuple[datetime | None, datetime | None]] = []

    def __call__(self, orders_since: datetime | None, returns_since: datetime | None) -> Any:
        self.asked.append((orders_since, returns_since))
        return self.changes


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse holding only the small network."""
    connection = connect(tmp_path / "w.duckdb")
    load_network(connection, tmp_path / "master")
    yield connection
    connection.close()


def _ingest(con: duckdb.DuckDBPyConnection, store: FakeStore, now: datetime = NOW) -> StoreReport:
    return ingest_store(con, SOURCE, store, now=now)


def _counts(report: StoreReport) -> dict[str, tuple[int, int, int, int]]:
    """Per kind: (read, loaded, updated, quarantined)."""
    return {k.kind: (k.rows_read, k.loaded, k.updated, k.quarantined) for k in report.kinds}


# --- the rows, without a database ---------------------------------------------


def test_order_lines_become_landing_rows_of_strings() -> None:
    lines = _lines(
        _line("ORD-2", 1, status="dispatched", model="VM9"),
        _line("ORD-1", 2, status="cancelled", sku="K2", quantity=1, model="VM1"),
        _line("ORD-1", 1, status="delivered", model="VM1"),
    )
    prices = pl.DataFrame(
        {"order_id": ["ORD-1", "ORD-1"], "line_no": [1, 2], "unit_price": ["35.50", "12.00"]},
        schema_overrides={"unit_price": pl.Decimal(12, 2)},
    )
    rows = order_line_rows(lines, prices, pl.Series(["VM1"]))
    expected = pl.DataFrame(
        {
            ROW_NUMBER: [1, 2, 3],
            "order_id": ["ORD-1", "ORD-1", "ORD-2"],
            "line_no": ["1", "2", "1"],
            "ordered_at": ["2026-02-28T17:30:00.123456+00:00"] * 3,
            "store_id": ["S1"] * 3,
            "sku": ["K1", "K2", "K1"],
            "quantity": ["2", "1", "2"],
            "unit_price": ["35.50", "12.00", None],  # no price known: quarantined
            "channel": ["store"] * 3,
            "status": ["completed", "cancelled", "completed"],
            "warehouse_id": [None, None, None],
            "vehicle_model_id": ["VM1", "VM1", None],  # VM9 is not in the catalogue
        },
        schema_overrides={ROW_NUMBER: pl.Int64, "warehouse_id": pl.String},
    )
    assert_frame_equal(rows, expected)


def test_a_return_fills_its_skus_lines_in_line_order() -> None:
    lines = _lines(_line(quantity=2), _line(line_no=2, sku="K2"), _line(line_no=3, quantity=3))
    returns = _returns(
        _return("RET-A", 1, reason=" Wrong_Fitment "),
        _return("RET-B", 3, reason="the box was damaged", at=PLACED + timedelta(hours=3)),
        _return("RET-C", 2, sku="K2", at=PLACED + timedelta(hours=4)),
    )
    rows = return_rows(returns, lines)
    assert rows.select("return_id", "line_no", "sku", "quantity", "reason").rows() == [
        ("RET-A", "1", "K1", "1", "wrong_fitment"),
        ("RET-B", "1", "K1", "1", "other"),  # the rest of line 1 ...
        ("RET-B#2", "3", "K1", "2", "other"),  # ... then line 3
        ("RET-C", "2", "K2", "2", "unused"),  # more than line 2 had: ingestion refuses it
    ]
    assert rows["returned_at"][0] == "2026-02-28T19:30:00.123456+00:00"
    assert rows[ROW_NUMBER].to_list() == [1, 2, 3, 4]


def test_a_return_without_a_line_of_its_sku_keeps_no_line() -> None:
    rows = return_rows(_returns(_return("RET-A", 1, sku="K2")), _lines(_line()))
    assert rows.select("return_id", "line_no", "quantity").rows() == [("RET-A", None, "1")]


# --- loading --------------------------------------------------------------------


def test_orders_load_as_order_lines_of_their_stores_warehouse(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store = FakeStore(
        _changes(_lines(_line(model="VM1"), _line(line_no=2, sku="K2", quantity=1, model="VM1")))
    )
    report = _ingest(con, store)
    assert _counts(report) == {"order_lines": (2, 2, 0, 0), "returns": (0, 0, 0, 0)}
    assert store.asked == [(None, None)]  # never read before: everything
    assert query(
        con,
        "SELECT order_id, line_no, demand_date, store_id, warehouse_id, sku, quantity, "
        "unit_price, channel, status, vehicle_model_id, source_file FROM order_lines "
        "ORDER BY line_no",
    ) == [
        ("ORD-1", 1, date(2026, 3, 1), "S1", "FW1", "K1", 2, Decimal("35.50"), "store",
         "completed", "VM1", SOURCE),
        ("ORD-1", 2, date(2026, 3, 1), "S1", "FW1", "K2", 1, Decimal("35.50"), "store",
         "completed", "VM1", SOURCE),
    ]  # fmt: skip
    assert query(con, "SELECT order_id, warehouse_id, channel FROM orders") == [
        ("ORD-1", "FW1", "store")
    ]
    assert query(
        con,
        "SELECT kind, source_file, rows_read, loaded FROM ingested_files WHERE kind "
        "IN ('order_lines', 'returns') ORDER BY kind",
    ) == [("order_lines", SOURCE, 2, 2), ("returns", SOURCE, 0, 0)]


def test_reading_again_loads_nothing_twice_and_starts_from_the_last_read(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store = FakeStore(_changes(_lines(_line())))
    _ingest(con, store)
    again = _ingest(con, store, NOW + timedelta(hours=20))
    assert _counts(again)["order_lines"] == (1, 0, 0, 0)
    assert store.asked[1] == (NOW - REREAD, NOW - REREAD)
    assert query(con, "SELECT count(*) FROM order_line_status_history") == [(1,)]


def test_a_cancellation_since_is_a_status_change_at_the_price_first_recorded(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _ingest(con, FakeStore(_changes(_lines(_line()))))
    # The list price changes in the master data before the cancellation is read.
    con.execute("UPDATE skus SET unit_price = 40 WHERE sku = 'K1'")
    report = _ingest(con, FakeStore(_changes(_lines(_line(status="cancelled")))))
    assert _counts(report)["order_lines"] == (1, 1, 1, 0)
    assert query(con, "SELECT status, unit_price FROM order_lines") == [
        ("cancelled", Decimal("35.50"))
    ]
    assert query(
        con, "SELECT seq, status, source_file FROM order_line_status_history ORDER BY seq"
    ) == [(1, "completed", SOURCE), (2, "cancelled", SOURCE)]


def test_returns_load_after_the_lines_they_return(con: duckdb.DuckDBPyConnection) -> None:
    lines = _lines(_line(status="delivered", quantity=2), _line(line_no=2, quantity=1))
    returns = _returns(_return("RET-A", 3, reason="defective"))
    report = _ingest(con, FakeStore(_changes(lines, returns, lines)))
    assert _counts(report) == {"order_lines": (2, 2, 0, 0), "returns": (2, 2, 0, 0)}
    assert query(
        con, "SELECT return_id, line_no, quantity, return_date, reason FROM returns ORDER BY 1"
    ) == [
        ("RET-A", 1, 2, date(2026, 3, 1), "defective"),
        ("RET-A#2", 2, 1, date(2026, 3, 1), "defective"),
    ]
    # Read again (the margin re-reads it): the same split, unchanged.
    again = _ingest(con, FakeStore(_changes(returns=returns, returned_lines=lines)))
    assert _counts(again)["returns"] == (2, 0, 0, 0)


def test_what_the_warehouse_refuses_is_quarantined_under_the_store(
    con: duckdb.DuckDBPyConnection,
) -> None:
    lines = _lines(_line(store="S9"))
    report = _ingest(con, FakeStore(_changes(lines, _returns(_return("RET-A", 1)), lines)))
    assert _counts(report) == {"order_lines": (1, 0, 0, 1), "returns": (1, 0, 0, 1)}
    assert query(con, "SELECT kind, source_file, reason FROM quarantine ORDER BY kind") == [
        ("order_lines", SOURCE, "store_id: unknown store 'S9'"),
        ("returns", SOURCE, "order line (ORD-1, 1) is not loaded"),
    ]


def test_line_prices_keep_a_loaded_price_and_take_the_list_price_otherwise(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _ingest(con, FakeStore(_changes(_lines(_line()))))
    con.execute("UPDATE skus SET unit_price = 40 WHERE sku = 'K1'")
    asked = _lines(_line(), _line(line_no=2), _line(line_no=3, sku="K9"))
    prices = line_prices(con, asked.select("order_id", "line_no", "sku")).sort("line_no")
    assert prices.schema == LINE_PRICES
    assert prices["unit_price"].to_list() == [Decimal("35.50"), Decimal("40.00"), None]


def test_a_quarantined_order_and_its_return_load_once_cured(
    con: duckdb.DuckDBPyConnection,
) -> None:
    lines = _lines(_line(store="S3", status="delivered"))
    _ingest(con, FakeStore(_changes(lines, _returns(_return("RET-A", 1, store="S3")), lines)))
    con.execute(
        "INSERT INTO stores VALUES ('S3', 'Store three', 31.3, 121.5, 'FW1', '2021-02-01', false)"
    )
    retried = retry_quarantine(con, now=NOW)
    assert (retried.retried, retried.loaded) == (2, 2)
    assert query(con, "SELECT order_id, store_id, source_file FROM order_lines") == [
        ("ORD-1", "S3", SOURCE)
    ]
    assert query(con, "SELECT return_id FROM returns") == [("RET-A",)]
