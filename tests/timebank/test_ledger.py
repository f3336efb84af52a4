"""The ledger's service layer: transfers, idempotency, reversals, append-only, verify."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backend.errors import DomainError, ValidationFailed
from backend.extensions import db
from backend.timebank import idempotency, service
from backend.timebank.accounts import community_accounts, ensure_wallet
from backend.timebank.chain import transfer_hash, row_fields
from backend.timebank.errors import (AccountClosed, AlreadyReversed, AppendOnlyViolation, IdempotencyMismatch,
                                     InsufficientBalance, NotReversible)
from backend.timebank.models import GENESIS, Account, Transfer
from backend.timebank.verify import verify
from tests.helpers import ON_PG


def _donate(a, b, amount, key, memo=""):
    return service.donate(db.session, from_user_id=a, to_user_id=b, amount=amount, memo=memo, idempotency_key=key)


def test_earn_then_donate_moves_points_and_balances_after(city, tb):
    tb.give(city.c1.id, city.member.id, 30)
    t = _donate(city.member.id, city.member2.id, 12, "k1", "谢谢")
    db.session.commit()
    assert (tb.balance(city.member.id), tb.balance(city.member2.id)) == (18, 12)
    assert (t.debit_balance_after, t.credit_balance_after) == (18, 12)
    issuance = db.session.get(Account, community_accounts(db.session, city.c1.id)["issuance"])
    assert issuance.balance == -30
    report = verify(db.session)
    assert report["ok"] and report["imbalance"] == 0 and report["transfers"] == 2 and report["broken_link"] is None


def test_over_balance_is_refused_and_moves_nothing(city, tb):
    tb.give(city.c1.id, city.member.id, 5)
    with pytest.raises(InsufficientBalance) as exc:
        _donate(city.member.id, city.member2.id, 6, "k1")
    db.session.rollback()
    assert exc.value.idempotency[0] == "k1"
    assert tb.balance(city.member.id) == 5 and tb.balance(city.member2.id) == 0
    assert db.session.scalar(select(Transfer).where(Transfer.kind == "donate")) is None


def test_same_key_same_request_returns_first_and_moves_nothing(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    first = _donate(city.member.id, city.member2.id, 3, "k")
    db.session.commit()
    again = _donate(city.member.id, city.member2.id, 3, "k")
    db.session.commit()
    assert again.id == first.id
    assert tb.balance(city.member.id) == 7
    with pytest.raises(IdempotencyMismatch):
        _donate(city.member.id, city.member2.id, 4, "k")
    db.session.rollback()
    assert tb.balance(city.member.id) == 7


def test_failed_key_stays_failed_even_after_top_up(city, tb):
    with pytest.raises(InsufficientBalance) as exc:
        _donate(city.member.id, city.member2.id, 5, "k")
    db.session.rollback()
    assert idempotency.record_failure(db.session, *exc.value.idempotency, exc.value)
    db.session.commit()
    tb.give(city.c1.id, city.member.id, 50)
    with pytest.raises(DomainError) as again:
        _donate(city.member.id, city.member2.id, 5, "k")
    assert again.value.code == "INSUFFICIENT_BALANCE" and again.value.replayed
    db.session.rollback()
    with pytest.raises(IdempotencyMismatch):
        _donate(city.member.id, city.member2.id, 6, "k")
    db.session.rollback()
    assert tb.balance(city.member.id) == 50


def test_invalid_requests_are_validation_errors(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    wid = ensure_wallet(db.session, city.member.id)
    other = ensure_wallet(db.session, city.member2.id)
    for amount in (0, -3, 1.5, True):
        with pytest.raises(ValidationFailed):
            service.transfer(db.session, debit_account_id=wid, credit_account_id=other, amount=amount,
                             kind="donate", actor_id=None, idempotency_key=f"x{amount}")
    with pytest.raises(ValidationFailed):
        service.transfer(db.session, debit_account_id=wid, credit_account_id=wid, amount=1, kind="donate",
                         actor_id=None, idempotency_key="self")
    with pytest.raises(ValidationFailed):
        service.transfer(db.session, debit_account_id=wid, credit_account_id=other, amount=1, kind="gift",
                         actor_id=None, idempotency_key="kind")
    with pytest.raises(ValidationFailed):
        _donate(city.member.id, city.member.id, 1, "me")


def test_reversal_once_and_not_of_a_reversal(city, tb):
    ref = tb.give(city.c1.id, city.member.id, 20)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    rev = service.reverse(db.session, transfer_id=earn.id, actor_id=city.staff1.id, reason="录入错误")
    db.session.commit()
    assert rev.reverses_id == earn.id and rev.kind == "reverse" and rev.memo == "录入错误"
    assert tb.balance(city.member.id) == 0
    with pytest.raises(AlreadyReversed):
        service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="again")
    db.session.rollback()
    with pytest.raises(NotReversible):
        service.reverse(db.session, transfer_id=rev.id, actor_id=None, reason="undo")
    db.session.rollback()
    assert verify(db.session)["ok"]


def test_reversal_of_spent_earning_is_refused_then_allowed(city, tb):
    ref = tb.give(city.c1.id, city.member.id, 10)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    _donate(city.member.id, city.member2.id, 8, "spend")
    db.session.commit()
    with pytest.raises(InsufficientBalance) as exc:
        service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="错误")
    assert exc.value.idempotency is None  # a reversal may be retried later
    db.session.rollback()
    tb.give(city.c1.id, city.member.id, 9)
    service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="错误")
    db.session.commit()
    assert tb.balance(city.member.id) == 1


def test_orm_guard_refuses_update_and_delete(city, tb):
    ref = tb.give(city.c1.id, city.member.id, 10)
    t = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    t.amount = 1000
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    t = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    db.session.delete(t)
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Transfer, t.id, populate_existing=True).amount == 10


@pytest.mark.parametrize("sql", ["UPDATE transfers SET amount = amount + 1", "DELETE FROM transfers"])
def test_database_refuses_update_and_delete_on_transfers(city, tb, sql):
    tb.give(city.c1.id, city.member.id, 10)
    with pytest.raises(DBAPIError) as exc:
        db.session.execute(text(sql))
    assert "append-only" in str(exc.value)
    db.session.rollback()
    assert db.session.scalar(text("SELECT amount FROM transfers")) == 10


def test_database_refuses_an_overdrawn_wallet(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    wid = ensure_wallet(db.session, city.member.id)
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE ledger_accounts SET debits_posted = 11 WHERE id = :id"), {"id": wid})
    db.session.rollback()


def test_hash_chain_links_each_transfer_to_the_previous_on_both_accounts(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    _donate(city.member.id, city.member2.id, 4, "a")
    tb.give(city.c2.id, city.member2.id, 7)
    db.session.commit()
    rows = db.session.scalars(select(Transfer).order_by(Transfer.id)).all()
    assert len(rows) == 3
    heads = {}
    for t in rows:  # each account's chain, in id order
        assert t.debit_prev_hash == heads.get(t.debit_account_id, GENESIS)
        assert t.credit_prev_hash == heads.get(t.credit_account_id, GENESIS)
        assert t.hash == transfer_hash(row_fields(t))
        heads[t.debit_account_id] = heads[t.credit_account_id] = t.hash
    for aid, head in heads.items():  # every account stores the hash of its last transfer
        assert db.session.get(Account, aid, populate_existing=True).head_hash == head
    # the donation links the member's chain (after the earning) and member2's (empty before)
    assert (rows[1].debit_prev_hash, rows[1].credit_prev_hash) == (rows[0].hash, GENESIS)
    assert rows[2].credit_prev_hash == rows[1].hash


def test_verify_names_the_tampered_row_and_the_accounts(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    _donate(city.member.id, city.member2.id, 4, "a")
    db.session.commit()
    victim = db.session.scalar(select(Transfer).where(Transfer.kind == "donate"))
    tb.tamper("UPDATE transfers SET amount = 1 WHERE id = :id", id=victim.id)
    report = verify(db.session)
    assert not report["ok"]
    assert report["broken_link"] == victim.id
    assert {m["account_id"] for m in report["mismatches"]} == {victim.debit_account_id, victim.credit_account_id}


def test_verify_notices_a_deleted_row(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    tb.give(city.c1.id, city.member.id, 11)
    tb.give(city.c1.id, city.member.id, 12)
    rows = db.session.scalars(select(Transfer).order_by(Transfer.id)).all()
    tb.tamper("DELETE FROM transfers WHERE id = :id", id=rows[1].id)
    report = verify(db.session)
    assert not report["ok"] and report["broken_link"] == rows[2].id


def test_wallet_summary_nets_reversals(city, tb):
    ref = tb.give(city.c1.id, city.member.id, 40)
    tb.give(city.c1.id, city.member.id, 10)
    earn = db.session.scalar(select(Transfer).where(Transfer.ref_id == ref))
    service.reverse(db.session, transfer_id=earn.id, actor_id=None, reason="错误")
    _donate(city.member.id, city.member2.id, 3, "d")
    db.session.commit()
    assert service.wallet_summary(db.session, city.member.id) == {"balance": 7, "earned_total": 10, "spent_total": 0}
    assert service.wallet_summary(db.session, city.resident.id) == {"balance": 0, "earned_total": 0, "spent_total": 0}


def test_close_wallet_returns_points_to_issuance_and_refuses_more(city, tb):
    tb.give(city.c1.id, city.member.id, 25)
    t = service.close_wallet(db.session, user_id=city.member.id, community_id=city.c1.id, actor_id=city.admin.id)
    db.session.commit()
    assert t.kind == "close" and t.amount == 25 and tb.balance(city.member.id) == 0
    assert service.close_wallet(db.session, user_id=city.member.id, community_id=city.c1.id, actor_id=None) is None
    tb.give(city.c1.id, city.member2.id, 5)
    with pytest.raises(AccountClosed):
        _donate(city.member2.id, city.member.id, 1, "to-closed")
    db.session.rollback()
    issuance = db.session.get(Account, community_accounts(db.session, city.c1.id)["issuance"])
    assert issuance.balance == -5
    assert verify(db.session)["ok"]


def test_verify_names_an_account_whose_head_is_not_its_last_transfer(city, tb):
    tb.give(city.c1.id, city.member.id, 10)
    _donate(city.member.id, city.member2.id, 4, "a")
    db.session.commit()
    wid = ensure_wallet(db.session, city.member2.id)
    db.session.execute(text("UPDATE ledger_accounts SET head_hash = :h WHERE id = :id"), {"h": "f" * 64, "id": wid})
    db.session.commit()
    report = verify(db.session)
    assert not report["ok"] and report["stale_heads"] == [wid] and report["broken_link"] is None


def test_a_rewritten_last_transfer_with_a_fresh_hash_still_shows(city, tb):
    """Changing the newest row and recomputing its hash keeps its own link valid: the stored heads
    of its two accounts (and their balances) give it away."""
    tb.give(city.c1.id, city.member.id, 10)
    t = _donate(city.member.id, city.member2.id, 4, "a")
    db.session.commit()
    forged = {**row_fields(t), "amount": 1, "debit_balance_after": 9, "credit_balance_after": 1}
    tb.tamper("UPDATE transfers SET amount = 1, debit_balance_after = 9, credit_balance_after = 1, hash = :h "
              "WHERE id = :id", h=transfer_hash(forged), id=t.id)
    report = verify(db.session)
    assert not report["ok"] and report["broken_link"] is None
    assert set(report["stale_heads"]) == {t.debit_account_id, t.credit_account_id}


@pytest.mark.skipif(not ON_PG, reason="statement count of the PostgreSQL path")
def test_a_donation_is_three_statements_on_postgresql(city, tb):
    from sqlalchemy import event

    tb.give(city.c1.id, city.member.id, 10)
    tb.give(city.c1.id, city.member2.id, 1)  # both wallets exist
    a, b = city.member.id, city.member2.id  # (loaded before counting)
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        t = _donate(a, b, 3, "two")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    # the key's lock with the wallets' read; the accounts locked with the key's earlier outcome; the write
    assert len(seen) == 3, seen
    assert (t.debit_balance_after, t.credit_balance_after) == (7, 4) and verify(db.session)["ok"]
