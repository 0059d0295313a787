"""systems: an offer may name the system its chips sit in, counted in chips or whole systems

Revision ID: 0008_systems
Revises: 0006_security
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_systems"
down_revision = "0007_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing offers keep working unchanged: no system, capacity counted in chips.
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("system_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("capacity_unit", sa.String(length=8), nullable=False, server_default="chips")
        )
        batch.add_column(sa.Column("chips_per_system", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_offers_capacity_unit"), "capacity_unit in ('chips','systems')"
        )


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_constraint(op.f("ck_offers_capacity_unit"), type_="check")
        batch.drop_column("chips_per_system")
        batch.drop_column("capacity_unit")
        batch.drop_column("system_id")
