"""What the planners' dashboard decides (issue 14): exception decisions and service targets.

* ``exception_decisions``: acknowledge or snooze (until a time) an item of the
  exceptions inbox; every decision kept, the latest one holds.
* ``service_targets``: the planners' targets per SKU or category, set in the
  store and copied by the nightly into ``warehouse.duckdb`` at its start.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exception_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("until", _TS),
        sa.Column("reason", sa.String(2000)),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_exception_decisions")),
        sa.CheckConstraint(
            "action IN ('acknowledge', 'snooze')", name=op.f("ck_exception_decisions_action")
        ),
        sa.CheckConstraint(
            "action <> 'snooze' OR until IS NOT NULL",
            name=op.f("ck_exception_decisions_snooze_has_until"),
        ),
    )
    op.create_index(op.f("ix_exception_decisions_item_id"), "exception_decisions", ["item_id"])
    op.create_table(
        "service_targets",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(2000)),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_service_targets")),
        sa.CheckConstraint("scope IN ('sku', 'category')", name=op.f("ck_service_targets_scope")),
        sa.CheckConstraint(
            "kind IN ('fill_rate', 'cycle_service', 'unit_fill')",
            name=op.f("ck_service_targets_kind"),
        ),
        sa.CheckConstraint("level > 0 AND level < 1", name=op.f("ck_service_targets_level")),
    )


def downgrade() -> None:
    op.drop_table("service_targets")
    op.drop_index(op.f("ix_exception_decisions_item_id"), table_name="exception_decisions")
    op.drop_table("exception_decisions")
