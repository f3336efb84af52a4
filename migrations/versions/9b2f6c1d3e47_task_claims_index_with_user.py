"""task_claims: ix_task_claims_task on (task_id, status, user_id)

A scan looks up the caller's active claim on a task by (task_id, user_id, status). The partial
unique index on (task_id, user_id) WHERE status = 'active' serves that only while the planner
sees the literal 'active'; a prepared statement's generic plan (psycopg prepares a statement
after its fifth execution) took ix_task_claims_task (task_id, status) instead and filtered every
claim of the task for user_id: 1,000 rows read per scan in a 1,000-member check-in burst. With
user_id in the index the look-up is one index probe whichever index is chosen.

Revision ID: 9b2f6c1d3e47
Revises: 7a4e9c2b8d10
Create Date: 2026-12-02 19:40:00

"""
from alembic import op


revision = '9b2f6c1d3e47'
down_revision = '7a4e9c2b8d10'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_task_claims_task', table_name='task_claims')
    op.create_index('ix_task_claims_task', 'task_claims', ['task_id', 'status', 'user_id'], unique=False)


def downgrade():
    op.drop_index('ix_task_claims_task', table_name='task_claims')
    op.create_index('ix_task_claims_task', 'task_claims', ['task_id', 'status'], unique=False)
