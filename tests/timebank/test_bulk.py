"""The set-based writes of batch earning: opening wallets, inserting transfers (COPY on PostgreSQL)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError

from backend.auth.models import User
from backend.extensions import db
from backend.timebank.accounts import ensure_wallets
from backend.timebank.earn import award
from backend.timebank.models import Account, Transfer
from backend.timebank.verify import verify
from tests.helpers import ON_PG, needs_pg


def _entry(user_id, amount, ref_id, memo="志愿服务：测试（60分钟）"):
    return {"user_id": user_id, "amount": amount, "ref_type": "attendance", "ref_id": ref_id, "memo": memo}


def _people(n, prefix):
    users = [User(openid=f"{prefix}-{i}", nickname=f"志愿者{i}") for i in range(n)]
    db.session.add_all(users)
    db.session.commit()
    return [u.id for u in users]


def test_ensure_wallets_maps_each_person_to_their_own_wallet_old_and_new(city):
    ids = _people(6, "ew")
    first = ensure_wallets(db.session, ids[:3])
    db.session.commit()
    both = ensure_wallets(db.session, ids)  # three exist, three are opened now
    db.session.commit()
    assert {uid: both[uid] for uid in ids[:3]} == first
    assert set(both) == set(ids) and len(set(both.values())) == 6
    rows = dict(db.session.execute(select(Account.user_id, Account.id).where(Account.kind == "wallet",
                                                                             Account.user_id.in_(ids))).all())
    assert rows == both
    assert ensure_wallets(db.session, ids) == both  # nothing opened twice
    assert db.session.scalar(select(func.count()).select_from(Account).where(Account.user_id.in_(ids))) == 6


@needs_pg
def test_ensure_wallets_reads_the_wallets_another_transaction_opened_meanwhile(app, city):
    """A wallet opened by a concurrent transaction is skipped by ON CONFLICT (not RETURNING'd):
    the mapping must still name it, read after the other transaction commits."""
    ids = _people(4, "ewc")
    db.session.commit()
    other_opened, go_on, out = threading.Event(), threading.Event(), {}

    def other():
        with app.app_context():
            out["other"] = ensure_wallets(db.session, [ids[1], ids[2]])
            other_opened.set()
            go_on.wait(10)
            db.session.commit()
            db.session.remove()

    t = threading.Thread(target=other)
    t.start()
    assert other_opened.wait(10)
    timer = threading.Timer(0.3, go_on.set)  # commit while our INSERT waits on its rows
    timer.start()
    mine = ensure_wallets(db.session, ids)
    db.session.commit()
    t.join(10)
    assert mine[ids[1]] == out["other"][ids[1]] and mine[ids[2]] == out["other"][ids[2]]
    rows = dict(db.session.execute(select(Account.user_id, Account.id).where(Account.kind == "wallet",
                                                                             Account.user_id.in_(ids))).all())
    assert rows == mine and len(rows) == 4


def test_a_batch_of_transfers_gets_ids_in_list_order_and_chains(city, tb):
    ids = _people(50, "order")
    entries = [_entry(uid, 1 + i % 7, 9000 + i, memo=f"志愿服务：'引号'\t制表\\反斜杠\n换行 {i}") for i, uid in enumerate(ids)]
    assert award(db.session, community_id=city.c1.id, entries=entries, actor_id=city.staff1.id) == \
        (50, sum(1 + i % 7 for i in range(50)))
    db.session.commit()
    rows = db.session.execute(select(Transfer.id, Transfer.ref_id, Transfer.memo, Transfer.amount,
                                     Transfer.debit_balance_after, Transfer.created_at)
                              .where(Transfer.ref_type == "attendance").order_by(Transfer.id)).all()
    assert [r.ref_id for r in rows] == [9000 + i for i in range(50)]
    assert [r.memo for r in rows] == [e["memo"] for e in entries]  # COPY's escapes round-trip
    running = 0
    for r in rows:
        running -= r.amount
        assert r.debit_balance_after == running
    assert rows[0].created_at.tzinfo is not None or not ON_PG
    assert verify(db.session)["ok"]


@needs_pg
def test_transfer_copy_is_seen_by_statement_listeners_and_its_errors_are_sqlalchemy_errors(city, tb):
    from backend.timebank.bulk import TRANSFER_COLUMNS, insert_transfers

    tb.give(city.c1.id, city.member.id, 5, ref_id=1)
    [row] = db.session.execute(select(*[Transfer.__table__.c[c] for c, _ in TRANSFER_COLUMNS])).mappings().all()
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with pytest.raises(IntegrityError):  # the same idempotency key again
            insert_transfers(db.session, [dict(row)])
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert any(s.startswith("COPY transfers") for s in seen), seen
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1


def test_transfers_have_no_reference_index(app):
    """Nothing looks transfers up by (ref_type, ref_id): the index is gone from the model (and the
    migration 7a4e9c2b8d10 drops it), so a posting maintains one index fewer."""
    names = {i.name for i in Transfer.__table__.indexes}
    assert "ix_transfers_ref" not in names
    assert "ix_transfers_ref" not in {i["name"] for i in inspect(db.engine).get_indexes("transfers")}


def test_among_matches_exactly_the_values_given(city):
    from backend.timebank.bulk import among

    ids = _people(5, "among")
    wallets = ensure_wallets(db.session, ids)
    pick = [wallets[ids[0]], wallets[ids[3]], 10 ** 9]  # one that does not exist
    got = db.session.scalars(select(Account.id).where(among(db.session, Account.id, pick))).all()
    assert sorted(got) == sorted(pick[:2])
    assert db.session.scalars(select(Account.id).where(among(db.session, Account.id, []))).all() == []
    keys = db.session.scalars(select(Account.user_id).where(among(db.session, Account.user_id, ids[:2]))).all()
    assert sorted(keys) == sorted(ids[:2])


@needs_pg
def test_among_sends_integers_as_one_array_constant(city):
    """The literal must reach the planner as an int[] constant: bound as text and cast, it would
    be parsed again for every row compared (22 ms instead of 0.6 ms to lock 1,000 accounts)."""
    from backend.timebank.bulk import among

    stmt = select(Account.id).where(among(db.session, Account.id, [3, 1, 2]))
    sql = str(stmt.compile(dialect=db.engine.dialect))
    assert "::TEXT" not in sql.upper() and "::VARCHAR" not in sql.upper(), sql
    compiled = stmt.compile(dialect=db.engine.dialect)
    assert "{3,1,2}" in compiled.params.values()
    # the parameters go to psycopg as the dialect sends them (a str as an untyped literal)
    plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + sql, compiled.params))
    assert "'{3,1,2}'::integer[]" in plan, plan


def test_insert_transfers_takes_rows_as_they_are_made_and_returns_them(city, tb):
    from backend.timebank.bulk import TRANSFER_COLUMNS, insert_transfers

    tb.give(city.c1.id, city.member.id, 5, ref_id=1)
    [row] = db.session.execute(select(*[Transfer.__table__.c[c] for c, _ in TRANSFER_COLUMNS])).mappings().all()
    made = []

    def rows(n, fail_at=None):
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("hashing failed")
            r = {**row, "idempotency_key": f"gen-{fail_at}-{i}", "memo": "志" * 150}  # ~60 rows > 32 KiB
            made.append(r)
            yield r

    assert insert_transfers(db.session, rows(0)) == []
    got = insert_transfers(db.session, rows(3))
    assert got == made and [r["idempotency_key"] for r in got] == ["gen-None-0", "gen-None-1", "gen-None-2"]
    db.session.commit()
    keys = db.session.scalars(select(Transfer.idempotency_key).where(Transfer.idempotency_key.like("gen-%"))
                              .order_by(Transfer.id)).all()
    assert keys == ["gen-None-0", "gen-None-1", "gen-None-2"]  # ids in the order made
    with pytest.raises(RuntimeError):  # a failure half-way (rows already sent) aborts the whole batch
        insert_transfers(db.session, rows(200, fail_at=150))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Transfer)
                             .where(Transfer.idempotency_key.like("gen-150-%"))) == 0
