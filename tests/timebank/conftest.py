"""Helpers for ledger tests: give points, read balances, tamper with the database."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from backend.extensions import db
from backend.timebank import ddl
from backend.timebank.accounts import wallet_id
from backend.timebank.earn import award
from backend.timebank.models import Account
from tests.helpers import ON_PG

_refs = itertools.count(1)


def give(community_id: int, user_id: int, amount: int, ref_id: int | None = None, ref_type: str = "test") -> int:
    """Award points (committed); returns the ref_id used."""
    ref_id = ref_id if ref_id is not None else next(_refs)
    award(db.session, community_id=community_id, actor_id=None,
          entries=[{"user_id": user_id, "amount": amount, "ref_type": ref_type, "ref_id": ref_id, "memo": "测试"}])
    db.session.commit()
    return ref_id


def balance(user_id: int) -> int:
    wid = wallet_id(db.session, user_id)
    return 0 if wid is None else db.session.get(Account, wid, populate_existing=True).balance


def tamper(sql: str, **params) -> None:
    """Run a statement on transfers with the append-only triggers lifted, then restore them."""
    if ON_PG:
        db.session.execute(text("ALTER TABLE transfers DISABLE TRIGGER transfers_append_only"))
        db.session.execute(text(sql), params)
        db.session.execute(text("ALTER TABLE transfers ENABLE TRIGGER transfers_append_only"))
    else:
        for name in ("transfers_no_update", "transfers_no_delete"):
            db.session.execute(text(f"DROP TRIGGER {name}"))
        db.session.execute(text(sql), params)
        for stmt in ddl.DDL["sqlite"]:
            db.session.execute(text(stmt))
    db.session.commit()


@pytest.fixture
def tb():
    return SimpleNamespace(give=give, balance=balance, tamper=tamper)
