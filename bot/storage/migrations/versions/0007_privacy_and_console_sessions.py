"""privacy and log-in hardening: whose unanswered question (for /forget), console sessions kept on the
server (revoked at logout), failed log-ins shared by every worker

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 00:45:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unanswered_question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_unanswered_question_contact_id', ['contact_id'], unique=False)
        batch_op.create_foreign_key('fk_unanswered_question_contact', 'contact', ['contact_id'], ['id'],
                                    ondelete='CASCADE')
    op.create_table('console_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('console_session', schema=None) as batch_op:
        batch_op.create_index('ix_console_session_staff_id', ['staff_id'], unique=False)
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_key_at', ['key', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_key_at')
    op.drop_table('login_failure')
    with op.batch_alter_table('console_session', schema=None) as batch_op:
        batch_op.drop_index('ix_console_session_staff_id')
    op.drop_table('console_session')
    with op.batch_alter_table('unanswered_question', schema=None) as batch_op:
        batch_op.drop_constraint('fk_unanswered_question_contact', type_='foreignkey')
        batch_op.drop_index('ix_unanswered_question_contact_id')
        batch_op.drop_column('contact_id')
