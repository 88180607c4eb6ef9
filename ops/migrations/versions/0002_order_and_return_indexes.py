"""Indexes for the queries the second API slice runs on every request or snapshot.

* ``part_orders (created_at)``: orders placed since a time, whatever the store
  (each worker's load poll, ``ops.order_lists.confirmed_since``; the recount of
  reservations when a snapshot is loaded).
* ``part_order_lines (warehouse_id, sku)``: the units ordered of one pair (the
  recount of ``reserved`` per pair).
* ``returns (order_id, sku)``: the units already returned of an order's SKU,
  read by every return (``ops.returns``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_part_orders_created_at", "part_orders", ["created_at"]),
    ("ix_part_order_lines_warehouse_id_sku", "part_order_lines", ["warehouse_id", "sku"]),
    ("ix_returns_order_id_sku", "returns", ["order_id", "sku"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(op.f(name), table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(op.f(name), table_name=table)
