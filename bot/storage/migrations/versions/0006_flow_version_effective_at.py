"""flow versions that take effect at a given time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:50:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('flow_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effective_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('flow_version', schema=None) as batch_op:
        batch_op.drop_column('effective_at')
