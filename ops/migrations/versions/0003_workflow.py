"""The planner workflow moves into the store (issue 13, item 2).

* ``plan_publications``: one row per nightly plan written into the store, so a
  republish writes nothing twice; ``basis_at`` is when the night read the
  store's workflow.
* ``source_stock``: the units free at each transfer source as that night saw
  them, which releases and overrides are checked against.
* ``purchase_order_lines.case_pack``, ``.moq``: the supplier's terms a line was
  planned under (checked by overrides and releases).
* Indexes on the orders' ``status`` (lists by status) and the histories'
  ``changed_at`` (the night's copy of what changed since it last looked).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = 64
_INDEXES = (
    ("ix_transfer_orders_status", "transfer_orders", ["status"]),
    ("ix_purchase_orders_status", "purchase_orders", ["status"]),
    (
        "ix_transfer_order_status_history_changed_at",
        "transfer_order_status_history",
        ["changed_at"],
    ),
    (
        "ix_purchase_order_status_history_changed_at",
        "purchase_order_status_history",
        ["changed_at"],
    ),
)


def upgrade() -> None:
    op.create_table(
        "plan_publications",
        sa.Column("run_id", sa.String(_ID), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("basis_at", _TS, nullable=False),
        sa.Column("published_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_plan_publications")),
    )
    op.create_table(
        "source_stock",
        sa.Column("run_id", sa.String(_ID), nullable=False),
        sa.Column("warehouse_id", sa.String(_ID), nullable=False),
        sa.Column("sku", sa.String(_ID), nullable=False),
        sa.Column("free", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "warehouse_id", "sku", name=op.f("pk_source_stock")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["plan_publications.run_id"],
            name=op.f("fk_source_stock_run_id_plan_publications"),
        ),
        sa.CheckConstraint("free >= 0", name=op.f("ck_source_stock_free")),
    )
    op.add_column("purchase_order_lines", sa.Column("case_pack", sa.Integer()))
    op.add_column("purchase_order_lines", sa.Column("moq", sa.Integer()))
    for name, table, columns in _INDEXES:
        op.create_index(op.f(name), table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(op.f(name), table_name=table)
    with op.batch_alter_table("purchase_order_lines") as batch:
        batch.drop_column("moq")
        batch.drop_column("case_pack")
    op.drop_table("source_stock")
    op.drop_table("plan_publications")
