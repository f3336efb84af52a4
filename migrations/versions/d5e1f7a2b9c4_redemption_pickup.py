"""Redemptions wait for pickup: status, pickup code, handover and cancellation

A redemption used to end at payment; staff had no record of handing the goods over. Now it is
`pending` until staff hand it over against the person's pickup code, or until it is cancelled
(the payment reversed, the unit back in stock). Redemptions made before this wait for pickup
too and get a code here.

Revision ID: d5e1f7a2b9c4
Revises: c4d8e2a1f9b3
Create Date: 2026-12-03 10:40:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


revision = 'd5e1f7a2b9c4'
down_revision = 'c4d8e2a1f9b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('redemptions') as batch:
        batch.add_column(sa.Column('status', sa.String(length=12), server_default='pending', nullable=False))
        batch.add_column(sa.Column('pickup_code', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('handed_over_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_redemptions_handed_over_by_id_users'), 'users',
                                 ['handed_over_by_id'], ['id'])
        batch.create_foreign_key(batch.f('fk_redemptions_cancelled_by_id_users'), 'users',
                                 ['cancelled_by_id'], ['id'])
        batch.create_check_constraint(batch.f('ck_redemptions_status'),
                                      "status IN ('pending', 'handed_over', 'cancelled')")
    conn = op.get_bind()
    for (rid,) in conn.execute(sa.text("SELECT id FROM redemptions WHERE pickup_code IS NULL")).all():
        conn.execute(sa.text("UPDATE redemptions SET pickup_code = :c WHERE id = :id"),
                     {"c": f"{secrets.randbelow(10**8):08d}", "id": rid})
    op.create_index('ix_redemptions_community_status', 'redemptions', ['community_id', 'status', 'id'], unique=False)
    op.create_index('uq_redemptions_pickup_code', 'redemptions', ['community_id', 'pickup_code'], unique=True,
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))


def downgrade():
    op.drop_index('uq_redemptions_pickup_code', table_name='redemptions')
    op.drop_index('ix_redemptions_community_status', table_name='redemptions')
    with op.batch_alter_table('redemptions') as batch:
        batch.drop_constraint(batch.f('ck_redemptions_status'), type_='check')
        batch.drop_constraint(batch.f('fk_redemptions_cancelled_by_id_users'), type_='foreignkey')
        batch.drop_constraint(batch.f('fk_redemptions_handed_over_by_id_users'), type_='foreignkey')
        for column in ('cancelled_by_id', 'cancelled_at', 'handed_over_by_id', 'handed_over_at', 'pickup_code',
                       'status'):
            batch.drop_column(column)
