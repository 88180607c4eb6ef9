"""What the nightly reads from the store (ops.exports): changed orders and returns, as frames."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ops import (
    advance_order,
    cancel_order,
    make_engine,
    place_order,
    place_return,
    reading,
    upgrade,
)
from ops.exports import (
    ORDER_LINES,
    RETURNS,
    StoreChanges,
    open_existing,
    read_changes,
    source_name,
)
from ops.returns import ReturnRequest
from tests.ops._store import STORE, order, stock


def _changes(
    engine: Engine, orders_since: datetime | None = None, returns_since: datetime | None = None
) -> StoreChanges:
    with reading(engine) as conn:
        return read_changes(conn, orders_since=orders_since, returns_since=returns_since)


def _place(engine: Engine, *lines: tuple[str, int]) -> str:
    with engine.begin() as conn:
        return place_order(conn, order(*lines), by="s").order_id


def _deliver(engine: Engine, order_id: str) -> None:
    with engine.begin() as conn:
        advance_order(conn, STORE, order_id, "dispatched", by="rider")
        advance_order(conn, STORE, order_id, "delivered", by="rider")


def test_every_line_of_every_order_comes_with_its_header(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10, ("FW01", "B"): 10})
    first = _place(engine, ("A", 2), ("B", 1))
    second = _place(engine, ("A", 1))
    changes = _changes(engine)
    assert changes.lines.schema == ORDER_LINES
    assert changes.returns.schema == RETURNS
    rows = changes.lines.select("order_id", "line_no", "store_id", "status", "sku", "quantity")
    assert sorted(rows.rows()) == sorted(
        [
            (first, 1, STORE, "confirmed", "A", 2),
            (first, 2, STORE, "confirmed", "B", 1),
            (second, 1, STORE, "confirmed", "A", 1),
        ]
    )
    assert changes.lines["warehouse_id"].unique().to_list() == ["FW01"]
    assert changes.returns.is_empty() and changes.returned_lines.is_empty()


def test_since_a_moment_only_orders_updated_after_it(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10})
    kept, cancelled = _place(engine, ("A", 1)), _place(engine, ("A", 2))
    moment = datetime.now(UTC)
    assert _changes(engine, orders_since=moment).lines.is_empty()
    with engine.begin() as conn:
        cancel_order(conn, STORE, cancelled, by="s")
    later = _changes(engine, orders_since=moment).lines
    assert later.select("order_id", "status").rows() == [(cancelled, "cancelled")]
    assert kept not in later["order_id"]


def test_a_new_return_brings_every_return_and_line_of_its_order(engine: Engine) -> None:
    stock(engine, {("FW01", "A"): 10, ("FW01", "B"): 10})
    order_id = _place(engine, ("A", 2), ("B", 1), ("A", 3))
    _deliver(engine, order_id)
    with engine.begin() as conn:
        earlier = place_return(conn, ReturnRequest(STORE, order_id, "A", 1, "unused"), by="s")
    moment = datetime.now(UTC)
    with engine.begin() as conn:
        newer = place_return(conn, ReturnRequest(STORE, order_id, "A", 3, "Defective"), by="s")
    changes = _changes(engine, orders_since=moment, returns_since=moment)
    assert changes.lines.is_empty()  # the order itself did not change
    assert sorted(changes.returns["return_id"]) == sorted([earlier.return_id, newer.return_id])
    assert changes.returned_lines.select("line_no", "sku", "quantity").rows() == [
        (1, "A", 2),
        (2, "B", 1),
        (3, "A", 3),
    ]
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert _changes(engine, returns_since=after).returns.is_empty()


def test_a_naive_moment_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="orders_since needs a time zone"):
        _changes(engine, orders_since=datetime(2026, 11, 20))


def test_a_store_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "ops.sqlite3"
    assert open_existing(f"sqlite:///{path}") is None
    assert not path.parent.exists()


def test_a_database_never_migrated_holds_no_orders(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    assert open_existing(f"sqlite:///{path}") is None


def test_an_existing_store_is_opened(store_url: str) -> None:
    created = make_engine(store_url)
    upgrade(created)
    created.dispose()
    engine = open_existing(store_url)
    assert engine is not None
    engine.dispose()


def test_the_source_name_hides_the_password() -> None:
    assert (
        source_name("postgresql://ann:secret@db.example:5432/ops")
        == "ops:postgresql://ann:***@db.example:5432/ops"
    )
    assert source_name("sqlite:///data/ops.sqlite3") == "ops:sqlite:///data/ops.sqlite3"
    with pytest.raises(ValueError, match="not a database URL"):
        source_name("not a url")
