"""Plain indexes beside three partial ones, for look-ups under prepared generic plans

psycopg prepares a statement after its fifth execution on a connection, and PostgreSQL may then
keep a generic plan, in which `kind = $n` or `status = $n` cannot prove a partial index's
predicate. Three look-ups had no other index on their leading column and read the whole table:

- ledger_accounts (user_id, kind): a person's wallet (wallet_id, ensure_wallets, the points
  summary) was a sequential scan of every account, behind uq_ledger_accounts_wallet.
- household_links (household_id, status): the active links of a page of households, and of every
  household in the export (once per household: quadratic), behind uq_household_links_active.
- unit_reports (unit_id, status): a unit's reports (its matches, its list, its /me) behind
  uq_unit_reports_live; the look-ups without a status could never use it.

Revision ID: c4d8e2a1f9b3
Revises: 9b2f6c1d3e47
Create Date: 2026-12-02 20:30:00

"""
from alembic import op


revision = 'c4d8e2a1f9b3'
down_revision = '9b2f6c1d3e47'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_ledger_accounts_user', 'ledger_accounts', ['user_id', 'kind']),
    ('ix_household_links_household', 'household_links', ['household_id', 'status']),
    ('ix_unit_reports_unit', 'unit_reports', ['unit_id', 'status']),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
