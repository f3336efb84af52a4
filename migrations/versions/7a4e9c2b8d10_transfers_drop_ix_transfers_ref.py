"""transfers: drop ix_transfers_ref (ref_type, ref_id), an index no query uses

Nothing looks transfers up by their reference: an earning's exactly-once check goes through
its idempotency key (earn:<ref_type>:<ref_id>, unique), and statements, exports and figures
select ref_type/ref_id only as columns. The index cost every posting an index insertion
(≈ 1.5 ms of a 1,000-transfer confirmation). DROP INDEX needs no table copy on SQLite, so the
transfers triggers stay.

Revision ID: 7a4e9c2b8d10
Revises: 3c1d2e4f5a6b
Create Date: 2026-12-02 16:10:00

"""
from alembic import op


revision = '7a4e9c2b8d10'
down_revision = '3c1d2e4f5a6b'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_transfers_ref', table_name='transfers')


def downgrade():
    op.create_index('ix_transfers_ref', 'transfers', ['ref_type', 'ref_id'], unique=False)
