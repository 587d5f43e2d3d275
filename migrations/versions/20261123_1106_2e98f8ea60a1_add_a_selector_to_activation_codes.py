"""Add a selector to activation codes

The selector is the clear first part of a code: it finds the row, so that a wrong
secret counts as a failure against that code. Codes issued before this revision have
no selector (empty) and can no longer be redeemed: their holders ask for a new one.

Revision ID: 2e98f8ea60a1
Revises: ab999414d3d9
Create Date: 2026-11-23 11:06:57.659894
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2e98f8ea60a1"
down_revision: str | None = "ab999414d3d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("selector", sa.String(length=8), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_activation_codes_selector"), ["selector"], unique=False
        )
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.alter_column("selector", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activation_codes_selector"))
        batch_op.drop_column("selector")
