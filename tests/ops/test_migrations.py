"""The schema (ops.schema) and its migrations (ops/migrations): the same, upgraded once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, Table, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ops.engine import make_engine, upgrade
from ops.schema import (
    api_keys,
    metadata,
    part_orders,
    purchase_order_lines,
    purchase_orders,
    stock_reservations,
    transfer_orders,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_the_migrations_build_exactly_the_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert set(inspect(conn).get_table_names()) == {*metadata.tables, "alembic_version"}


def test_processes_upgrading_together_upgrade_once(store_url: str) -> None:
    """Every worker of `partsflow serve` upgrades at start: they queue, the later find it done."""
    engines = [make_engine(store_url) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            "0004"
        ]
    for engine in engines:
        engine.dispose()


@pytest.mark.parametrize(
    ("table", "row"),
    [
        (stock_reservations, {"base": 3, "reserved": -1}),
        (stock_reservations, {"base": -1, "reserved": 0}),
        (api_keys, {"role": "store", "store_id": None}),
        (api_keys, {"role": "planner", "store_id": "S1"}),
        (api_keys, {"role": "admin", "store_id": None}),
        (part_orders, {"status": "lost"}),
        (transfer_orders, {"status": "shipped"}),
    ],
)
def test_check_constraints_refuse_bad_rows(
    engine: Engine, table: Table, row: dict[str, object]
) -> None:
    defaults: dict[str, dict[str, object]] = {
        "stock_reservations": {
            "plan_run_id": "r",
            "warehouse_id": "FW01",
            "sku": "A",
            "counted_at": NOW,
            "updated_at": NOW,
        },
        "api_keys": {"key_id": "k", "name": "n", "token_hash": "h", "created_at": NOW},
        "part_orders": {
            "order_id": "o",
            "store_id": "S1",
            "plan_run_id": "r",
            "created_at": NOW,
            "updated_at": NOW,
        },
        "transfer_orders": {
            "transfer_id": "t",
            "from_warehouse_id": "DC01",
            "to_warehouse_id": "FW01",
            "created_at": NOW,
            "needed_by": date(2026, 11, 21),
        },
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(table).values(**defaults[table.name], **row))


def test_a_line_needs_its_order(engine: Engine) -> None:
    """Foreign keys are enforced on SQLite too (PRAGMA foreign_keys)."""
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(purchase_order_lines).values(
                po_id="missing",
                line_no=1,
                sku="A",
                proposed_quantity=1,
                quantity=1,
                unit_cost=Decimal("1.50"),
                reason="r",
            )
        )


def test_times_come_back_in_utc_and_money_exact(engine: Engine) -> None:
    shanghai = datetime.fromisoformat("2026-11-20T16:00:00+08:00")
    with engine.begin() as conn:
        conn.execute(
            insert(purchase_orders).values(
                po_id="P1",
                supplier_id="SUP1",
                dc_id="DC01",
                created_at=shanghai,
                expected_on=date(2026, 11, 27),
                status="proposed",
            )
        )
        conn.execute(
            insert(purchase_order_lines).values(
                po_id="P1",
                line_no=1,
                sku="A",
                proposed_quantity=4,
                quantity=4,
                unit_cost=Decimal("12.35"),
                reason="r",
            )
        )
    with engine.connect() as conn:
        created = conn.execute(select(purchase_orders.c.created_at)).scalar_one()
        cost = conn.execute(select(purchase_order_lines.c.unit_cost)).scalar_one()
    assert created == shanghai
    assert created.tzinfo is UTC
    assert cost == Decimal("12.35")


def test_the_lookups_of_orders_and_returns_are_indexed(engine: Engine) -> None:
    """Migration 0002: orders since a time, ordered units per pair, returned units per order."""
    with engine.connect() as conn:
        found = {
            table: {tuple(index["column_names"]) for index in inspect(conn).get_indexes(table)}
            for table in ("part_orders", "part_order_lines", "returns")
        }
    assert ("created_at",) in found["part_orders"]
    assert ("warehouse_id", "sku") in found["part_order_lines"]
    assert ("order_id", "sku") in found["returns"]
