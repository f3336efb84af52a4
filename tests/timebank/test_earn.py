"""Batch earning (award), daily caps, statement bounds, and the Flask-free package."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import time_machine
from sqlalchemy import event, func, select

from backend.auth.models import User
from backend.extensions import db
from backend.timebank.earn import award
from backend.timebank.models import Transfer
from backend.timebank.policy import set_policy
from backend.timebank.verify import verify
from tests.conftest import ROOT


def _entry(user_id, amount, ref_id, ref_type="attendance"):
    return {"user_id": user_id, "amount": amount, "ref_type": ref_type, "ref_id": ref_id, "memo": "志愿服务"}


def test_award_posts_once_per_reference(city, tb):
    entries = [_entry(city.member.id, 10, 1), _entry(city.member2.id, 20, 2), _entry(city.member.id, 5, 3)]
    assert award(db.session, community_id=city.c1.id, entries=entries, actor_id=city.staff1.id) == (3, 35)
    db.session.commit()
    assert award(db.session, community_id=city.c1.id, entries=entries + [_entry(city.resident.id, 7, 4)],
                 actor_id=city.staff1.id) == (1, 7)
    db.session.commit()
    assert (tb.balance(city.member.id), tb.balance(city.member2.id), tb.balance(city.resident.id)) == (15, 20, 7)
    rows = db.session.scalars(select(Transfer).where(Transfer.credit_account_id.is_not(None))
                              .order_by(Transfer.id)).all()
    assert [r.credit_balance_after for r in rows] == [10, 20, 15, 7]
    assert [r.debit_balance_after for r in rows] == [-10, -30, -35, -42]
    assert verify(db.session)["ok"]


def test_award_skips_zero_and_duplicates_within_a_batch(city, tb):
    entries = [_entry(city.member.id, 0, 1), _entry(city.member.id, 4, 2), _entry(city.member.id, 9, 2)]
    assert award(db.session, community_id=city.c1.id, entries=entries, actor_id=None) == (1, 4)
    assert award(db.session, community_id=city.c1.id, entries=[], actor_id=None) == (0, 0)


def test_daily_cap_limits_what_a_person_earns_per_local_day(city, tb):
    set_policy(db.session, city.c1.id, {"daily_cap": 10}, actor_id=city.staff1.id)
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc), tick=False):  # 09:00 in Shanghai
        assert award(db.session, community_id=city.c1.id, entries=[_entry(city.member.id, 8, 1)], actor_id=None) == (1, 8)
        assert award(db.session, community_id=city.c1.id,
                     entries=[_entry(city.member.id, 8, 2), _entry(city.member2.id, 8, 3)], actor_id=None) == (2, 10)
        assert award(db.session, community_id=city.c1.id, entries=[_entry(city.member.id, 3, 4)], actor_id=None) == (0, 0)
        # another community's cap is its own
        assert award(db.session, community_id=city.c2.id, entries=[_entry(city.member.id, 30, 5)], actor_id=None) == (1, 30)
        db.session.commit()
    with time_machine.travel(datetime(2026, 11, 20, 16, 30, tzinfo=timezone.utc), tick=False):  # 00:30 next day
        assert award(db.session, community_id=city.c1.id, entries=[_entry(city.member.id, 3, 4)], actor_id=None) == (1, 3)
        db.session.commit()
    assert tb.balance(city.member.id) == 8 + 2 + 30 + 3


def test_award_of_1000_entries_uses_a_bounded_number_of_statements(city, tb):
    users = [User(openid=f"bulk-{i}", nickname=f"志愿者{i}") for i in range(1000)]
    db.session.add_all(users)
    db.session.commit()
    entries = [_entry(u.id, 3, i) for i, u in enumerate(users)]
    community_id, actor_id = city.c1.id, city.staff1.id
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = award(db.session, community_id=community_id, entries=entries, actor_id=actor_id)
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result == (1000, 3000)
    assert len(statements) <= 20, statements  # the first award also opens the accounts
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1000
    report = verify(db.session)
    assert report["ok"] and report["transfers"] == 1000


def test_ledger_package_imports_no_flask():
    modules = ["backend.timebank", "backend.timebank.models", "backend.timebank.service", "backend.timebank.earn",
               "backend.timebank.verify", "backend.timebank.policy", "backend.timebank.leaderboard",
               "backend.timebank.expiry", "backend.timebank.ddl", "backend.timebank.jobs",
               "backend.timebank.idempotency", "backend.timebank.seed"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'flask_')))\n"
            "assert not bad, bad\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
