"""Posting transfers, reversing them, reading wallets. The caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from backend.db import utcnow
from backend.errors import DomainError, NotFound, ValidationFailed
from backend.timebank.accounts import community_accounts, ensure_wallets, lock_accounts, wallet_id
from backend.timebank.chain import lock_ledger, row_fields, transfer_hash
from backend.timebank.errors import AccountClosed, AlreadyReversed, IdempotencyMismatch, InsufficientBalance, NotReversible
from backend.timebank.idempotency import find_transfer, fingerprint, replay_failure, tag
from backend.timebank.models import TRANSFER_KINDS, Account, ChainHead, Transfer

MEMO_MAX = 200


def _check(debit_account_id, credit_account_id, amount, kind, idempotency_key, memo) -> None:
    problems = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems["amount"] = ["积分数须为正整数"]
    if debit_account_id == credit_account_id:
        problems["credit_account_id"] = ["不能转入同一账户"]
    if kind not in TRANSFER_KINDS:
        problems["kind"] = ["未知的流水类型"]
    if not idempotency_key or len(idempotency_key) > 200:
        problems["idempotency_key"] = ["幂等键须为 1 至 200 个字符"]
    if len(memo or "") > MEMO_MAX:
        problems["memo"] = [f"备注不能超过 {MEMO_MAX} 字"]
    if problems:
        raise ValidationFailed(details=problems)


def transfer(session: Session, *, debit_account_id: int, credit_account_id: int, amount: int, kind: str,
             actor_id: int | None, idempotency_key: str, memo: str = "", ref_type: str | None = None,
             ref_id: int | None = None, reverses_id: int | None = None, request: dict | None = None) -> Transfer:
    """Move `amount` points from the debit to the credit account, exactly once per key.

    `request` is what a retry is compared with (default: the transfer's own fields); pass the
    caller's request (e.g. user ids) when account ids may not exist yet at the first attempt."""
    memo = memo or ""
    _check(debit_account_id, credit_account_id, amount, kind, idempotency_key, memo)
    fp = fingerprint(request or {"debit": debit_account_id, "credit": credit_account_id, "amount": amount,
                                 "kind": kind, "ref_type": ref_type, "ref_id": ref_id, "memo": memo,
                                 "reverses": reverses_id})
    head = lock_ledger(session)
    existing = find_transfer(session, idempotency_key)
    if existing is not None:
        if existing.fingerprint != fp:
            raise IdempotencyMismatch(details={"idempotency_key": idempotency_key})
        return existing
    replay_failure(session, idempotency_key, fp)
    accounts = lock_accounts(session, [debit_account_id, credit_account_id])
    if len(accounts) != 2:
        raise NotFound("积分账户不存在")
    debit, credit = accounts[debit_account_id], accounts[credit_account_id]
    try:
        if debit.closed_at is not None or credit.closed_at is not None:
            raise AccountClosed()
        if debit.no_negative and debit.balance < amount:
            raise InsufficientBalance(details={"balance": debit.balance, "amount": amount})
    except DomainError as exc:
        raise tag(exc, idempotency_key, fp)
    return _post(session, head, debit, credit, amount=amount, kind=kind, actor_id=actor_id,
                 idempotency_key=idempotency_key, memo=memo, ref_type=ref_type, ref_id=ref_id,
                 reverses_id=reverses_id, fingerprint=fp)


def _post(session: Session, head: ChainHead, debit: Account, credit: Account, **fields) -> Transfer:
    """Write one transfer and both balances (the ledger lock and both account locks are held)."""
    amount = fields["amount"]
    debit.debits_posted += amount
    credit.credits_posted += amount
    t = Transfer(seq=head.seq + 1, debit_account_id=debit.id, credit_account_id=credit.id,
                 debit_balance_after=debit.balance, credit_balance_after=credit.balance,
                 created_at=utcnow(), **fields)
    t.hash = transfer_hash(row_fields(t), head.hash)
    session.add(t)
    session.flush()
    head.seq, head.hash, head.head_transfer_id = t.seq, t.hash, t.id
    session.flush()
    return t


def donate(session: Session, *, from_user_id: int, to_user_id: int, amount: int, memo: str,
           idempotency_key: str) -> Transfer:
    """Give points from one person's wallet to another's (never to oneself, never overdrawn)."""
    from backend.auth.models import User

    if from_user_id == to_user_id:
        raise ValidationFailed(details={"to_user_id": ["不能转赠给自己"]})
    to = session.get(User, to_user_id)
    if to is None or to.closed_at is not None:
        raise NotFound("受赠人不存在")
    wallets = ensure_wallets(session, [from_user_id, to_user_id])
    return transfer(session, debit_account_id=wallets[from_user_id], credit_account_id=wallets[to_user_id],
                    amount=amount, kind="donate", actor_id=from_user_id, idempotency_key=idempotency_key,
                    memo=memo, ref_type="user", ref_id=to_user_id,
                    request={"donate": [from_user_id, to_user_id], "amount": amount, "memo": memo or ""})


def reverse(session: Session, *, transfer_id: int, actor_id: int | None, reason: str) -> Transfer:
    """Post the mirror image of a transfer (once); the original stays as it was."""
    lock_ledger(session)
    original = session.get(Transfer, transfer_id)
    if original is None:
        raise NotFound("流水不存在")
    if original.kind == "reverse":
        raise NotReversible()
    if session.scalar(select(Transfer.id).where(Transfer.reverses_id == transfer_id)) is not None:
        raise AlreadyReversed()
    try:
        return transfer(session, debit_account_id=original.credit_account_id,
                        credit_account_id=original.debit_account_id, amount=original.amount, kind="reverse",
                        actor_id=actor_id, idempotency_key=f"reverse:{transfer_id}", memo=reason,
                        ref_type=original.ref_type, ref_id=original.ref_id, reverses_id=transfer_id)
    except DomainError as exc:
        exc.idempotency = None  # a reversal may be retried once the wallet can bear it
        raise


def community_of_transfer(session: Session, t: Transfer) -> int | None:
    """The community whose issuance/rewards/expiry account the transfer touches, if any."""
    from backend.timebank.accounts import community_of

    return community_of(session, [t.debit_account_id, t.credit_account_id])


def wallet_summary(session: Session, user_id: int) -> dict:
    """{"balance", "earned_total", "spent_total"} of a person (earnings and spending net of reversals)."""
    wid = wallet_id(session, user_id)
    if wid is None:
        return {"balance": 0, "earned_total": 0, "spent_total": 0}
    acct = session.get(Account, wid, populate_existing=True)

    def total(side, kind) -> int:
        return session.scalar(select(func.coalesce(func.sum(Transfer.amount), 0)).where(
            side == wid, Transfer.kind == kind)) or 0

    def reversed_total(side, kind) -> int:
        orig = aliased(Transfer)
        return session.scalar(select(func.coalesce(func.sum(Transfer.amount), 0))
                              .join(orig, orig.id == Transfer.reverses_id)
                              .where(side == wid, orig.kind == kind)) or 0

    earned = total(Transfer.credit_account_id, "earn") - reversed_total(Transfer.debit_account_id, "earn")
    spent = total(Transfer.debit_account_id, "redeem") - reversed_total(Transfer.credit_account_id, "redeem")
    return {"balance": acct.balance, "earned_total": int(earned), "spent_total": int(spent)}


def statement_query(session: Session, user_id: int) -> tuple[Select, int | None]:
    """(query of the person's transfers, wallet id) for cursor paging on Transfer.id."""
    wid = wallet_id(session, user_id)
    q = select(Transfer).where(or_(Transfer.debit_account_id == wid, Transfer.credit_account_id == wid))
    return q, wid


def statement_item(t: Transfer, wid: int) -> dict:
    """A statement row from the wallet owner's side: signed amount, their balance_after."""
    incoming = t.credit_account_id == wid
    return {"id": t.id, "kind": t.kind, "amount": t.amount if incoming else -t.amount,
            "balance_after": t.credit_balance_after if incoming else t.debit_balance_after,
            "memo": t.memo, "created_at": t.created_at, "ref_type": t.ref_type, "ref_id": t.ref_id,
            "reverses_id": t.reverses_id}


def close_wallet(session: Session, *, user_id: int, community_id: int, actor_id: int | None) -> Transfer | None:
    """Move what is left in a person's wallet to the community's issuance account and close it."""
    lock_ledger(session)
    wid = wallet_id(session, user_id)
    if wid is None:
        return None
    issuance = community_accounts(session, community_id)["issuance"]
    wallet = lock_accounts(session, [wid])[wid]
    if wallet.closed_at is not None:
        return None
    t = None
    if wallet.balance > 0:
        t = transfer(session, debit_account_id=wid, credit_account_id=issuance, amount=wallet.balance,
                     kind="close", actor_id=actor_id, idempotency_key=f"close:{wid}", memo="账户注销")
    wallet.closed_at = utcnow()
    session.flush()
    return t
