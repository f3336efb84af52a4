"""Idempotent answers: the first answer of a write retried under the same Idempotency-Key

Confirming a task, duty logs or visits, reversing a transfer and cancelling a redemption move
points, and the contract promises that the same key with the same request returns the first
answer; staff's creates (tasks, needs, rewards, duty posts, households, meetings) use the same
header against double submits. The answer is stored with the write, in its transaction.

Revision ID: e7a3c9d1f2b5
Revises: d5e1f7a2b9c4
Create Date: 2026-12-03 15:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'e7a3c9d1f2b5'
down_revision = 'd5e1f7a2b9c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_answers',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=100), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotent_answers_user_id_users')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_idempotent_answers')),
    )
    op.create_index(op.f('ix_idempotent_answers_user_id'), 'idempotent_answers', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_idempotent_answers_user_id'), table_name='idempotent_answers')
    op.drop_table('idempotent_answers')
