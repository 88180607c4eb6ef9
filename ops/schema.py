"""The operational store's tables, as SQLAlchemy Core metadata.

This is the shape the code reads and writes; ``ops/migrations`` creates it
(hand-written revisions, checked against this metadata by the tests). Types
are the portable ones (String, Integer, JSON, Numeric, timestamps with a time
zone) so one schema serves SQLite and PostgreSQL, and every rule a row must
keep is an explicit CHECK, so a bug elsewhere cannot store a negative
reservation or an unknown status on either engine.

Times are stored in UTC through :class:`UtcDateTime`: SQLite has no time zone
type, and a timestamp that comes back naive is a bug waiting to happen.
Quantities are integers everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.schema import SchemaItem

#: Constraint names follow one convention so a later migration can drop them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ROLES = ("store", "planner")
ORDER_STATUSES = ("confirmed", "cancelled", "dispatched", "delivered")
#: The planner workflow's statuses (warehouse/workflow.py), shared by transfer and purchase orders.
WORKFLOW_STATUSES = ("proposed", "approved", "overridden", "released", "cancelled")

ID = 64  # length of every id column: store, warehouse, SKU, order, run
TEXT = 2000  # length of free-text reasons and references


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp with a time zone, stored in UTC and always read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a timestamp needs a time zone, got {value.isoformat()}")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:  # SQLite: stored in UTC without an offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    """A CHECK's SQL for ``column IN (values)``; the values are this module's constants."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("store_id", String(ID)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    CheckConstraint(_in("role", ROLES), name="role"),
    # A store key belongs to one store; a planner key to none.
    CheckConstraint(
        "(role = 'store' AND store_id IS NOT NULL) OR (role = 'planner' AND store_id IS NULL)",
        name="store_key_has_store",
    ),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("key_id", String(32), ForeignKey("api_keys.key_id"), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(TEXT), nullable=False),
    Column("body_hash", String(64), nullable=False),
    # NULL only inside the transaction that claimed the key (ops/idempotency.py): it is
    # filled before that transaction commits, so no other reader ever sees it empty.
    Column("status_code", Integer),
    Column("response_body", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("key_id", "idempotency_key"),
    CheckConstraint("status_code BETWEEN 100 AND 599", name="status_code"),
)

part_orders = Table(
    "part_orders",
    metadata,
    Column("order_id", String(ID), primary_key=True),
    Column("store_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),
    Column("vehicle_model_id", String(ID)),
    Column("reference", String(TEXT)),
    Column("plan_run_id", String(ID), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
    # A store's orders, newest first (GET /v1/stores/{store_id}/orders).
    Index("ix_part_orders_store_id_created_at", "store_id", "created_at"),
    # Orders placed since a time, any store: a warehouse's load, reservations recounted.
    Index("ix_part_orders_created_at", "created_at"),
)

part_order_lines = Table(
    "part_order_lines",
    metadata,
    Column("order_id", String(ID), ForeignKey("part_orders.order_id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(ID), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("warehouse_id", String(ID), nullable=False),
    Column("deliver_by", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "line_no"),
    CheckConstraint("line_no > 0", name="line_no"),
    CheckConstraint("quantity > 0", name="quantity"),
    # The units ordered of one (warehouse, SKU): reservations recounted on a new snapshot.
    Index("ix_part_order_lines_warehouse_id_sku", "warehouse_id", "sku"),
)

part_order_status_history = Table(
    "part_order_status_history",
    metadata,
    Column("order_id", String(ID), ForeignKey("part_orders.order_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(TEXT)),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("order_id", "seq"),
    CheckConstraint("seq > 0", name="seq"),
    CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
)

# Free stock per (warehouse, SKU) as the snapshot of one plan run saw it: `base` is on hand
# at the warehouse's latest count (taken at `counted_at`) plus released transfers due, and
# `reserved` the units of orders placed since that count. ops/reservations.py reserves with
# one conditional UPDATE; the CHECKs are the last line of defence against an oversell.
stock_reservations = Table(
    "stock_reservations",
    metadata,
    Column("plan_run_id", String(ID), nullable=False),
    Column("warehouse_id", String(ID), nullable=False),
    Column("sku", String(ID), nullable=False),
    Column("base", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("counted_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("plan_run_id", "warehouse_id", "sku"),
    CheckConstraint("base >= 0", name="base"),
    CheckConstraint("reserved >= 0", name="reserved"),
)

# The plan run whose bases orders reserve against: one row. Loading a new snapshot's bases
# updates it, which on PostgreSQL waits for orders in flight (they hold it FOR SHARE), so no
# order is counted in neither the old nor the new run's reservations.
active_stock_run = Table(
    "active_stock_run",
    metadata,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("plan_run_id", String(ID), nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    CheckConstraint("slot = 1", name="single_row"),
)

returns = Table(
    "returns",
    metadata,
    Column("return_id", String(ID), primary_key=True),
    Column("order_id", String(ID), ForeignKey("part_orders.order_id"), nullable=False),
    Column("store_id", String(ID), nullable=False),
    Column("sku", String(ID), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reason", String(TEXT), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("quantity > 0", name="quantity"),
    # Units already returned of an order's SKU (ops/returns.py, checked on every return).
    Index("ix_returns_order_id_sku", "order_id", "sku"),
)


def _workflow_tables(
    orders: str, key: str, header: list[Column[Any]], lines: list[SchemaItem]
) -> tuple[Table, Table, Table]:
    """One planner order kind: the orders, their lines and their status history.

    The columns mirror the DuckDB tables of the same names (warehouse/migrations),
    so the workflow moves here without changing a row's shape.
    """
    singular = orders.removesuffix("s")
    order_table = Table(
        orders,
        metadata,
        Column(key, String(ID), primary_key=True),
        Column("run_id", String(ID)),
        *header,
        Column("status", String(16), nullable=False),
        Column("status_reason", String(TEXT)),
        CheckConstraint(_in("status", WORKFLOW_STATUSES), name="status"),
    )
    line_table = Table(
        f"{singular}_lines",
        metadata,
        Column(key, String(ID), nullable=False),
        Column("line_no", Integer, nullable=False),
        Column("sku", String(ID), nullable=False),
        *lines,
        PrimaryKeyConstraint(key, "line_no"),
        ForeignKeyConstraint([key], [f"{orders}.{key}"]),
        CheckConstraint("line_no > 0", name="line_no"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )
    history_table = Table(
        f"{singular}_status_history",
        metadata,
        Column(key, String(ID), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("reason", String(TEXT)),
        Column("changed_by", String(200), nullable=False),
        Column("changed_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint(key, "seq"),
        ForeignKeyConstraint([key], [f"{orders}.{key}"]),
        CheckConstraint("seq > 0", name="seq"),
        CheckConstraint(_in("status", WORKFLOW_STATUSES), name="status"),
    )
    return order_table, line_table, history_table


transfer_orders, transfer_order_lines, transfer_order_status_history = _workflow_tables(
    "transfer_orders",
    "transfer_id",
    [
        Column("from_warehouse_id", String(ID), nullable=False),
        Column("to_warehouse_id", String(ID), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("needed_by", Date, nullable=False),
    ],
    [
        Column("proposed_quantity", Integer, nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("reason", String(TEXT)),
        Column("allocated_quantity", Integer),
        CheckConstraint("proposed_quantity >= 0", name="proposed_quantity"),
        CheckConstraint("allocated_quantity >= 0", name="allocated_quantity"),
    ],
)

purchase_orders, purchase_order_lines, purchase_order_status_history = _workflow_tables(
    "purchase_orders",
    "po_id",
    [
        Column("supplier_id", String(ID), nullable=False),
        Column("dc_id", String(ID), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        # The day the goods are due at the DC: the order day + the supplier's lead time.
        Column("expected_on", Date, nullable=False),
    ],
    [
        Column("proposed_quantity", Integer, nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_cost", Numeric(12, 2), nullable=False),
        Column("reason", String(TEXT), nullable=False),
        # The supplier's terms the line was planned under (revision 0003): an override or
        # a release must order 0 or whole cases from the MOQ up. NULL: no terms known.
        Column("case_pack", Integer),
        Column("moq", Integer),
        CheckConstraint("proposed_quantity > 0", name="proposed_quantity"),
        CheckConstraint("unit_cost >= 0", name="unit_cost"),
    ],
)

# Revision 0003: what the workflow reads all day, and finds often.
Index("ix_transfer_orders_status", transfer_orders.c.status)
Index("ix_purchase_orders_status", purchase_orders.c.status)
Index("ix_transfer_order_status_history_changed_at", transfer_order_status_history.c.changed_at)
Index("ix_purchase_order_status_history_changed_at", purchase_order_status_history.c.changed_at)

#: One row per nightly plan published into the store (``ops.workflow.publish_orders``):
#: publishing a run again finds its row and writes nothing twice.
plan_publications = Table(
    "plan_publications",
    metadata,
    Column("run_id", String(ID), primary_key=True),
    Column("as_of", Date, nullable=False),
    # When the night read the store's workflow: releases after it are not in its figures.
    Column("basis_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)

#: Units free at a transfer's source as the published night saw them (latest count −
#: reserved − released orders not yet shipped), per (warehouse, SKU): what a release or an
#: override is checked against, less what was released since the night's ``basis_at``.
source_stock = Table(
    "source_stock",
    metadata,
    Column("run_id", String(ID), ForeignKey("plan_publications.run_id"), nullable=False),
    Column("warehouse_id", String(ID), nullable=False),
    Column("sku", String(ID), nullable=False),
    Column("free", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "warehouse_id", "sku"),
    CheckConstraint("free >= 0", name="free"),
)

#: A planner's decision on an exception of the dashboard's inbox (revision 0004):
#: ``acknowledge`` (seen, nothing to do) or ``snooze`` until a time. The latest decision
#: of an item holds; every one is kept (and audited).
exception_decisions = Table(
    "exception_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("until", UtcDateTime),
    Column("reason", String(TEXT)),
    Column("who", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("action IN ('acknowledge', 'snooze')", name="action"),
    CheckConstraint("action <> 'snooze' OR until IS NOT NULL", name="snooze_has_until"),
    Index("ix_exception_decisions_item_id", "item_id"),
)

#: Planners' service targets per SKU or category (revision 0004): set in the store (the
#: dashboard, the API), copied by the nightly into ``warehouse.duckdb`` at its start.
service_targets = Table(
    "service_targets",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("key", String(ID), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("level", Float, nullable=False),
    Column("reason", String(TEXT)),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    CheckConstraint("scope IN ('sku', 'category')", name="scope"),
    CheckConstraint("kind IN ('fill_rate', 'cycle_service', 'unit_fill')", name="kind"),
    CheckConstraint("level > 0 AND level < 1", name="level"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("who", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_id", String(ID), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("why", String(TEXT)),
    Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
)

__all__ = [
    "ORDER_STATUSES",
    "ROLES",
    "WORKFLOW_STATUSES",
    "UtcDateTime",
    "active_stock_run",
    "api_keys",
    "audit_log",
    "exception_decisions",
    "idempotency_records",
    "metadata",
    "part_order_lines",
    "part_order_status_history",
    "part_orders",
    "plan_publications",
    "purchase_order_lines",
    "purchase_order_status_history",
    "purchase_orders",
    "returns",
    "service_targets",
    "source_stock",
    "stock_reservations",
    "transfer_order_lines",
    "transfer_order_status_history",
    "transfer_orders",
]
