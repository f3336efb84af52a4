"""transfers: reverses_id unique only where set (rows that reverse nothing are not indexed)

Revision ID: 3c1d2e4f5a6b
Revises: ff4b66a0b082
Create Date: 2026-12-02 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3c1d2e4f5a6b'
down_revision = 'ff4b66a0b082'
branch_labels = None
depends_on = None

WHERE = sa.text("reverses_id IS NOT NULL")
# SQLite changes a constraint by copying the table, which loses its triggers: put them back.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers\n"
    "BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END",
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers\n"
    "BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        with op.batch_alter_table('transfers', schema=None) as batch_op:
            batch_op.drop_constraint('uq_transfers_reverses_id', type_='unique')
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)
    else:
        op.drop_constraint('uq_transfers_reverses_id', 'transfers', type_='unique')
    op.create_index('uq_transfers_reverses_id', 'transfers', ['reverses_id'], unique=True,
                    postgresql_where=WHERE, sqlite_where=WHERE)


def downgrade():
    op.drop_index('uq_transfers_reverses_id', table_name='transfers')
    if _sqlite():
        with op.batch_alter_table('transfers', schema=None) as batch_op:
            batch_op.create_unique_constraint('uq_transfers_reverses_id', ['reverses_id'])
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)
    else:
        op.create_unique_constraint('uq_transfers_reverses_id', 'transfers', ['reverses_id'])
