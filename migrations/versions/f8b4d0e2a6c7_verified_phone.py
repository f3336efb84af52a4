"""Verified phones: the number WeChat vouches for (getPhoneNumber) and when

Phones were only typed into 双报到 reports. A person can now bind the number WeChat vouches for
(POST /api/v1/me/phone); a report naming it shows as verified to staff.

Revision ID: f8b4d0e2a6c7
Revises: e7a3c9d1f2b5
Create Date: 2026-12-03 16:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f8b4d0e2a6c7'
down_revision = 'e7a3c9d1f2b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('verified_phone', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('phone_verified_at')
        batch.drop_column('verified_phone')
