"""Wallet look-ups under a prepared statement's generic plan (PostgreSQL only)."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from backend.auth.models import User
from backend.extensions import db
from backend.timebank.accounts import community_accounts, ensure_wallets, wallet_id
from backend.timebank.statement import wallet_summary
from tests.helpers import needs_pg, rows_read_in_generic_plans


@needs_pg
@pytest.mark.parametrize("analyze", [(), ("ledger_accounts",)], ids=["no-statistics", "analyzed"])
def test_a_wallet_look_up_reads_one_account_in_a_prepared_plan(city, analyze):
    """A generic plan cannot prove `kind = $n` implies uq_ledger_accounts_wallet's `kind =
    'wallet'`: with no other index on user_id it read every account of the city to find one
    wallet (the points page, every earning). ix_ledger_accounts_user serves it whatever the plan."""
    people = list(db.session.scalars(insert(User).returning(User.id), [{"nickname": f"党员{i}"} for i in range(2000)]))
    ensure_wallets(db.session, people)
    for c in (city.c1, city.c2, city.c3):
        community_accounts(db.session, c.id)
    db.session.commit()
    a, b = people[700], people[1300]

    def look_ups():
        wallet_id(db.session, a)
        wallet_summary(db.session, a)
        ensure_wallets(db.session, [a, b])

    plans = rows_read_in_generic_plans(look_ups, analyze)
    assert [read["ledger_accounts"] for _, read in plans] == [1, 1, 2], plans
