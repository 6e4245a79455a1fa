"""reports: the first handover kept on the conversation, forgotten conversations counted, date indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 01:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The engine's handoff reasons as written in the activity line "BOT -> WAITING: <reason> ..." (bot/service.py)
_REASONS = ("keyword", "urgent", "not_understood", "feedback", "media", "ask_failed", "button", "node")


def upgrade() -> None:
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('handoff_reason', sa.String(length=24), nullable=True))
        batch_op.create_index('ix_conversation_started', ['started_at'], unique=False)
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_created', ['created_at'], unique=False)
    op.create_table(
        'forgotten_conversation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person', sa.Integer(), nullable=False),
        sa.Column('first_seen', sa.DateTime(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('lang', sa.String(length=8), nullable=True),
        sa.Column('topic', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('handed_over_at', sa.DateTime(), nullable=True),
        sa.Column('handoff_reason', sa.String(length=24), nullable=True),
        sa.Column('first_response_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolution', sa.String(length=40), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('forgotten_conversation', schema=None) as batch_op:
        batch_op.create_index('ix_forgotten_started', ['started_at'], unique=False)
    # Conversations handed over before this revision: the time and reason from their activity line.
    line = ("FROM message m WHERE m.conversation_id = conversation.id AND m.direction = 'activity' "
            "AND m.text LIKE 'BOT -> WAITING:%'")
    reason = " ".join(f"WHEN m.text LIKE 'BOT -> WAITING: {r}%' THEN '{r}'" for r in _REASONS)
    op.execute(f"UPDATE conversation SET handed_over_at = (SELECT min(m.created_at) {line}), "
               f"handoff_reason = (SELECT CASE {reason} ELSE 'other' END {line} ORDER BY m.id LIMIT 1)")


def downgrade() -> None:
    with op.batch_alter_table('forgotten_conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_forgotten_started')
    op.drop_table('forgotten_conversation')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_created')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_started')
        batch_op.drop_column('handoff_reason')
        batch_op.drop_column('handed_over_at')
